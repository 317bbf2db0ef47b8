namespace ActorTrainer.Core

// placeholder: Raw/RawOps (being written)
module internal Placeholder_Raw_RawOps = let x = 0
