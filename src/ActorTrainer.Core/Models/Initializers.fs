namespace ActorTrainer.Core

// placeholder: Models/Initializers (being written)
module internal Placeholder_Models_Initializers = let x = 0
