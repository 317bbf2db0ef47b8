namespace ActorTrainer.Core

// placeholder: Ops/Elementwise (being written)
module internal Placeholder_Ops_Elementwise = let x = 0
