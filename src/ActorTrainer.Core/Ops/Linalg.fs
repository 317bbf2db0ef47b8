namespace ActorTrainer.Core

// placeholder: Ops/Linalg (being written)
module internal Placeholder_Ops_Linalg = let x = 0
