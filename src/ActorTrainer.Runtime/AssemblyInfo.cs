namespace ActorTrainer.Runtime;
