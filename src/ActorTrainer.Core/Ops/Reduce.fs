namespace ActorTrainer.Core

// placeholder: Ops/Reduce (being written)
module internal Placeholder_Ops_Reduce = let x = 0
