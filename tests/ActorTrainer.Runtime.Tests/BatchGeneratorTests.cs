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

    [Fact]
    public void A_step_asked_to_open_the_next_one_opens_it_once_applied_at_the_reported_version()
    {
        var gen = Sys.ActorOf(Props.Create(() => new BatchGenerator(Fixtures.Train(256), Fixtures.Plan, 64, 2, 3, true,
            TimeSpan.FromSeconds(30), null, TestActor)));
        var worker = CreateTestProbe();
        var weights = Fixtures.InitialWeights();
        gen.Tell(new RequestWork(0, -1, -1), worker.Ref);            // idle: every step reaches it as soon as it opens
        gen.Tell(new StartEpoch(0, 0, 0, false));
        gen.Tell(new OpenStep(0, 0, 0, 0, weights));
        RunStep(gen, worker, 0, 0);
        // OpenNextStep before the parameter server's StepApplied: the next step waits for it
        gen.Tell(new OpenNextStep(0));
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        gen.Tell(new StepApplied(7, 9));                             // another step's: nothing
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        gen.Tell(new StepApplied(0, 1));
        var opened = RunStep(gen, worker, 1, 1);
        Assert.Same(weights, opened.Weights);
        Assert.Equal(1, opened.StepInEpoch);
        // StepApplied first (the executor's OpenNextStep can arrive late): opens at once when it comes
        gen.Tell(new StepApplied(1, 2));
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        gen.Tell(new OpenNextStep(1));
        RunStep(gen, worker, 2, 2);
        // a new epoch forgets a pending request
        gen.Tell(new OpenNextStep(2));
        gen.Tell(new StartEpoch(1, 0, 4, false));
        gen.Tell(new StepApplied(2, 3));
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    /// <summary>The idle worker gets the open step's two shards in turn (both step `step` at weights `version`) and
    /// asks for more (idle again).</summary>
    private static ShardWork RunStep(IActorRef gen, TestProbe worker, long step, long version)
    {
        var a = worker.ExpectMsg<ShardWork>();
        gen.Tell(new RequestWork(0, a.Step, a.Shard), worker.Ref);
        var b = worker.ExpectMsg<ShardWork>();
        gen.Tell(new RequestWork(0, b.Step, b.Shard), worker.Ref);
        Assert.Equal((step, step, version, version), (a.Step, b.Step, a.Version, b.Version));
        Assert.Equal(new[] { 0, 1 }, new[] { a.Shard, b.Shard }.Order());
        return a;
    }
}
