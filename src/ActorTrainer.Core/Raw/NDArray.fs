namespace ActorTrainer.Core

// placeholder: Raw/NDArray (being written)
module internal Placeholder_Raw_NDArray = let x = 0
