using Akka.Actor;
using Akka.TestKit;

namespace ActorTrainer.Runtime.Tests;

/// <summary>The batch generator driven directly (test probes play the workers and the coordinator): a worker whose node
/// is gone is retired — it gets no more items, even when requests it sent before the loss arrive later — and its
/// hand-backs do not use up the item's attempts (a node of several workers would otherwise bounce an item between
/// them until it is abandoned, which a cluster test saw once in a CI run).</summary>
public sealed class BatchGeneratorTests() : Akka.TestKit.Xunit2.TestKit(ActorTrainingRunner.DefaultConfig)
{
    [Fact]
    public void A_lost_workers_hand_backs_are_not_failed_attempts_and_it_gets_no_more_work()
    {
        var gen = Sys.ActorOf(Props.Create(() => new BatchGenerator(Fixtures.Train(256), Fixtures.Plan, 64, 2, 3, true,
            TimeSpan.FromSeconds(30), null, TestActor)));
        // one node of five workers, all idle; its connection is gone, which each worker learns when it gets an item
        var node = Enumerable.Range(0, 5).Select(_ => CreateTestProbe()).ToArray();
        for (int i = 0; i < node.Length; i++) gen.Tell(new RequestWork(i, -1, -1), node[i].Ref);
        gen.Tell(new StartEpoch(0, 0, 0, false));
        gen.Tell(new OpenStep(0, 0, 0, 0, Fixtures.InitialWeights()));
        var other = node[1].ExpectMsg<ShardWork>(w => w.Shard == 1);
        // shard 0 goes to worker 0, then to each idle sibling in turn: four hand-backs (MaxAttempts), none held against it
        foreach (int i in new[] { 0, 2, 3, 4 })
        {
            var w = node[i].ExpectMsg<ShardWork>(w => w.Shard == 0);
            gen.Tell(new WorkFailed(i, w.Step, w.Shard, $"worker {i} is lost", WorkerLost: true), node[i].Ref);
        }
        gen.Tell(new WorkFailed(1, other.Step, other.Shard, "worker 1 is lost", WorkerLost: true), node[1].Ref);
        // requests the node's workers sent before the loss, arriving late: ignored, so nothing bounces back to them
        for (int i = 0; i < node.Length; i++) gen.Tell(new RequestWork(i, -1, -1), node[i].Ref);
        foreach (var p in node) p.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        var healthy = CreateTestProbe();
        gen.Tell(new RequestWork(9, -1, -1), healthy.Ref);
        var first = healthy.ExpectMsg<ShardWork>();
        gen.Tell(new RequestWork(9, first.Step, first.Shard), healthy.Ref);
        var second = healthy.ExpectMsg<ShardWork>();
        Assert.Equal(new[] { 0, 1 }, new[] { first.Shard, second.Shard }.Order());
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));                  // no WorkItemAbandoned to the coordinator
    }
}
