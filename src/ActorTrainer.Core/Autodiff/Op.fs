namespace ActorTrainer.Core

// placeholder: Autodiff/Op (being written)
module internal Placeholder_Autodiff_Op = let x = 0
