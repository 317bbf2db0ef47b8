module ActorTrainer.Core.Tests.LossTests

// placeholder (being written)
let private placeholder = ()
