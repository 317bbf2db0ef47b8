global using Xunit;
global using ActorTrainer.Core;
global using ActorTrainer.Runtime;

[assembly: CollectionBehavior(DisableTestParallelization = true)]
