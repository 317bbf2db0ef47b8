module ActorTrainer.Core.Tests.DataTests

// placeholder (being written)
let private placeholder = ()
