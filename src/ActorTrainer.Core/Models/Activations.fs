namespace ActorTrainer.Core

// placeholder: Models/Activations (being written)
module internal Placeholder_Models_Activations = let x = 0
