module ActorTrainer.Core.Tests.TensorTests

// placeholder (being written)
let private placeholder = ()
