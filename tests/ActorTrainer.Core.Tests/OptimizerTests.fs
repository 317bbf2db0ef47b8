module ActorTrainer.Core.Tests.OptimizerTests

// placeholder (being written)
let private placeholder = ()
