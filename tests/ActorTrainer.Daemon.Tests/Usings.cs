namespace ActorTrainer.Daemon.Tests;
