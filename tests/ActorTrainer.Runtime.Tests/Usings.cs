namespace ActorTrainer.Runtime.Tests;
