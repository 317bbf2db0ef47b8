namespace ActorTrainer.Core

// placeholder: Raw/Shape (being written)
module internal Placeholder_Raw_Shape = let x = 0
