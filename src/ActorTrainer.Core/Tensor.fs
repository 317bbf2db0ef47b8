namespace ActorTrainer.Core

// placeholder: Tensor (being written)
module internal Placeholder_Tensor = let x = 0
