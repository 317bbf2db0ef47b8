namespace ActorTrainer.Core

// placeholder: Models/Callbacks (being written)
module internal Placeholder_Models_Callbacks = let x = 0
