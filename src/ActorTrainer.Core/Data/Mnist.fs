namespace ActorTrainer.Core

// placeholder: Data/Mnist (being written)
module internal Placeholder_Data_Mnist = let x = 0
