module ActorTrainer.Core.Tests.SliceTests

// placeholder (being written)
let private placeholder = ()
