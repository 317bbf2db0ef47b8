namespace ActorTrainer.Core

// placeholder: Raw/Random (being written)
module internal Placeholder_Raw_Random = let x = 0
