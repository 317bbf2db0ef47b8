namespace ActorTrainer.Kernels;
