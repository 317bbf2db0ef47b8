module ActorTrainer.Core.Tests.LayerTests

// placeholder (being written)
let private placeholder = ()
