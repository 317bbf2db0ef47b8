module ActorTrainer.Core.Tests.AutodiffTests

// placeholder (being written)
let private placeholder = ()
