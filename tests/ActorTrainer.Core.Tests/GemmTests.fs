module ActorTrainer.Core.Tests.GemmTests

// placeholder (being written)
let private placeholder = ()
