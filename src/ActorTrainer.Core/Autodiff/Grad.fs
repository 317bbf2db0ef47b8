namespace ActorTrainer.Core

// placeholder: Autodiff/Grad (being written)
module internal Placeholder_Autodiff_Grad = let x = 0
