namespace ActorTrainer.Core

// placeholder: Models/Metrics (being written)
module internal Placeholder_Models_Metrics = let x = 0
