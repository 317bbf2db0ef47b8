namespace ActorTrainer.Core

// placeholder: Models/Losses (being written)
module internal Placeholder_Models_Losses = let x = 0
