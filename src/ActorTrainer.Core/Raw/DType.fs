namespace ActorTrainer.Core

// placeholder: Raw/DType (being written)
module internal Placeholder_Raw_DType = let x = 0
