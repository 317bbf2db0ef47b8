module ActorTrainer.Core.Tests.BroadcastTests

// placeholder (being written)
let private placeholder = ()
