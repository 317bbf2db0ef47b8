namespace ActorTrainer.Interop;
