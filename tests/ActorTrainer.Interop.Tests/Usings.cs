namespace ActorTrainer.Interop.Tests;
