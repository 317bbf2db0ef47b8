namespace ActorTrainer.Core

// placeholder: Raw/Backend (being written)
module internal Placeholder_Raw_Backend = let x = 0
