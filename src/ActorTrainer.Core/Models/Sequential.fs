namespace ActorTrainer.Core

// placeholder: Models/Sequential (being written)
module internal Placeholder_Models_Sequential = let x = 0
