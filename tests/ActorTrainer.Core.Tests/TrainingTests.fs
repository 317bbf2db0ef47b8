module ActorTrainer.Core.Tests.TrainingTests

// placeholder (being written)
let private placeholder = ()
