namespace ActorTrainer.Core

// placeholder: Autodiff/GradientTape (being written)
module internal Placeholder_Autodiff_GradientTape = let x = 0
