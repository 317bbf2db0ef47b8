namespace ActorTrainer.Core

// placeholder: Data/Idx (being written)
module internal Placeholder_Data_Idx = let x = 0
