namespace ActorTrainer.Core

// placeholder: Ops/Structure (being written)
module internal Placeholder_Ops_Structure = let x = 0
