namespace ActorTrainer.Core

// placeholder: Models/Optimizers (being written)
module internal Placeholder_Models_Optimizers = let x = 0
