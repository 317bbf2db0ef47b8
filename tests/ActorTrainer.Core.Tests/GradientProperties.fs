module ActorTrainer.Core.Tests.GradientProperties

// placeholder (being written)
let private placeholder = ()
