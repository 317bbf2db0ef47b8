namespace ActorTrainer.Core

// placeholder: Models/Layers (being written)
module internal Placeholder_Models_Layers = let x = 0
