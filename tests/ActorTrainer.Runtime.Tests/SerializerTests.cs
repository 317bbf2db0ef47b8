using System.Collections;
using Akka.Actor;
using Akka.Serialization;

namespace ActorTrainer.Runtime.Tests;

public class SerializerTests() : Akka.TestKit.Xunit2.TestKit(ActorTrainingRunner.DefaultConfig)
{
    public static TheoryData<ITrainingMessage> Messages => new()
    {
        new RequestWork(3, 17, 2, false),
        new WorkFailed(1, 9, 0, "boom ü"),
        new WorkFailed(2, 10, 1, "worker 2 (node 127.0.0.1:1) is lost", WorkerLost: true),
        new ShardWork(12, 1, 4, 2, 3, 40, [[1f, 2f], [float.NaN]], [0.5f, -0.25f, 3f], [7, 1], null, 2, 64, -123456789L, InjectedFault.Sleep, 250),
        new ShardWork(12, 1, 4, 0, 1, -1, null, [1f], null, [0f, 1f], 1, 1, 5, InjectedFault.None, 0),
        new ShardResult(12, 1, 4, 2, 3, 64, 40, 1, 12.5, 7, 16, [[0.1f, float.Epsilon], []]),
        new ShardResult(12, 1, 4, 2, 3, 64, 40, 1, double.NaN, 7, 16, [[float.NaN]], GradientsFinite: false),
        new ReleaseGradients(41, true),
        new PullWeights(5),
        new RegisterPeers([], []),
        new ApplyGradient(new ShardResult(3, 0, 3, 0, 1, 128, 2, 4, 1.5, 100, 128, [[1f, -2f]]), 5, 0.25f),
        new SliceApplied(8, 1, 2, 3, false, "gradients contain NaN or Inf", 1.25, 3, 64),
        new SliceChecked(8, 3, false),
        new SliceWeights(2, 41, [float.PositiveInfinity, -0f]),
        new LoadSlice(6, [[1f, 2f], [3f]]),
        new SliceLoaded(3),
        new SliceStateRequest(),
        new SliceState(1, [[0.5f, 0.25f], []]),
        new StartEpoch(2, 5, 133, true),
        new OpenStep(133, 2, 5, 77, [[9f]]),
        new OpenNextStep(134),
        new StepApplied(134, 78),
        new StopDispatch(),
        new DispatchStopped(2, 7),
        new CheckTimeouts(),
        new WorkItemAbandoned(8, 1, 4, "bad"),
        new StepResolved(8, 0, 8, true, 9, [[1f, 2f]], 3.5, 2, 64, 11, 12),
        new StepDiverged(8, 0, 8, "loss sum is NaN"),
        new SnapshotRequest(),
        new ServerState(9, 9, [[[0.5f]], []], 3),
        new LoadWeights([[1f, 2f], [3f]]),
        new WeightsLoaded(4, [[1f]]),
        new ActorTrainer.Runtime.Clustering.DescribeWorkerNode(),
        new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("10.0.0.2", 8472, "7f3a", 16, 1, 256L << 20),
        new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("10.0.0.3", 8473, "7f3b", 0, 0, 256L << 20, HostsSlices: true),
        new ActorTrainer.Runtime.Clustering.WorkerNodeRefused("cluster.data-plane.max-frame-mib = 1 is too small"),
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_message_is_bound_to_the_binary_serializer_and_round_trips(ITrainingMessage message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<TrainingMessageSerializer>(serializer);
        Assert.Equal(TrainingMessageSerializer.Id, serializer.Identifier);
        var manifest = Serialization.ManifestFor(serializer, message);
        var bytes = serializer.ToBinary(message);
        var back = Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest);
        Assert.IsType(message.GetType(), back);
        AssertDeepEqual(message, back, message.GetType().Name);
    }

    [Fact]
    public void A_local_work_item_naming_its_rows_crosses_the_wire_with_the_rows_gathered()
    {
        var data = new ArrayData([0f, 1f, 10f, 11f, 20f, 21f], 2, [5, 6, 7], null, 3);
        var local = new ShardWork(4, 0, 4, 1, 2, 9, [[1f]], null, null, null, 2, 3, 77, InjectedFault.None, 0,
            new ShardSource(data, [2, 0, 1], 0, 10));
        var serializer = Sys.Serialization.FindSerializerFor(local);
        var back = (ShardWork)Sys.Serialization.Deserialize(serializer.ToBinary(local), serializer.Identifier,
            Serialization.ManifestFor(serializer, local));
        Assert.Null(back.Source);
        Assert.Equal([20f, 21f, 0f, 1f], back.X!);
        Assert.Equal([7, 5], back.Labels!);
        Assert.Null(back.Targets);
        AssertDeepEqual(local.Materialize(), back, nameof(ShardWork));
    }

    [Fact]
    public void Buffers_handed_back_for_refilling_are_not_part_of_a_message_s_bytes()
    {
        ITrainingMessage[] local = [new SnapshotRequest([[[1f, 2f]]]), new SliceStateRequest([[3f]]), new PullWeights(2, [[4f]])];
        foreach (var message in local)
        {
            var serializer = Sys.Serialization.FindSerializerFor(message);
            var back = Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier,
                Serialization.ManifestFor(serializer, message));
            Assert.Equal(message switch
            {
                SnapshotRequest => new SnapshotRequest(),
                SliceStateRequest => new SliceStateRequest(),
                PullWeights p => (ITrainingMessage)new PullWeights(p.WorkerId),
                _ => throw new InvalidOperationException(),
            }, back);
        }
    }

    [Fact]
    public void Actor_references_round_trip_as_paths_that_resolve_to_the_same_actors()
    {
        var other = Sys.ActorOf(Props.Empty, "peer");
        var message = new RegisterPeers([TestActor, other], [other]);
        var serializer = Sys.Serialization.FindSerializerFor(message);
        var back = (RegisterPeers)Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier,
            Serialization.ManifestFor(serializer, message));
        AssertDeepEqual(message, back, nameof(RegisterPeers));
    }

    [Fact]
    public void Every_message_type_is_covered_by_the_round_trip_data()
    {
        var covered = Messages.Cast<object[]>().Select(row => row[0].GetType()).ToHashSet();
        var all = typeof(ITrainingMessage).Assembly.GetTypes()
            .Where(t => typeof(ITrainingMessage).IsAssignableFrom(t) && !t.IsInterface).ToList();
        Assert.NotEmpty(all);
        Assert.All(all, t => Assert.Contains(t, covered));
    }

    [Fact]
    public async Task Every_message_type_resolves_to_serializer_4711_in_a_system_from_CreateSystem()
    {
        var system = ActorTrainingRunner.CreateSystem("serializer-binding");
        try { AssertAllBound(system); }
        finally
        {
            // As before: wait up to 10 s for the shutdown, without failing the test if it takes longer.
            try { await system.Terminate().WaitAsync(TimeSpan.FromSeconds(10)); }
            catch (TimeoutException) { }
        }
        AssertAllBound(Sys);
    }

    /// <summary>Every concrete ITrainingMessage type is bound to TrainingMessageSerializer (id 4711) in `system`.</summary>
    internal static void AssertAllBound(ActorSystem system)
    {
        var all = typeof(ITrainingMessage).Assembly.GetTypes()
            .Where(t => typeof(ITrainingMessage).IsAssignableFrom(t) && !t.IsInterface).ToList();
        Assert.NotEmpty(all);
        Assert.All(all, t =>
        {
            var s = system.Serialization.FindSerializerForType(t);
            Assert.IsType<TrainingMessageSerializer>(s);
            Assert.Equal(4711, s.Identifier);
        });
    }

    [Fact]
    public void Truncated_bytes_and_unknown_manifests_are_rejected_clearly()
    {
        var s = (TrainingMessageSerializer)Sys.Serialization.FindSerializerForType(typeof(ShardResult));
        var bytes = s.ToBinary(new ShardResult(1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 1, [[1f, 2f, 3f]]));
        var ex = Assert.Throws<InvalidDataException>(() => s.FromBinary(bytes.AsSpan(0, bytes.Length - 3).ToArray(), "SR"));
        Assert.Contains("'SR'", ex.Message);
        var ex2 = Assert.Throws<ArgumentException>(() => s.FromBinary(bytes, "XX"));
        Assert.Contains("unknown manifest 'XX'", ex2.Message);
        var ex3 = Assert.Throws<ArgumentException>(() => s.ToBinary("not a message"));
        Assert.Contains("System.String", ex3.Message);
    }

    [Fact]
    public void A_worker_node_description_of_a_node_that_does_not_tell_its_frame_limit_reads_as_zero()
    {
        var s = (TrainingMessageSerializer)Sys.Serialization.FindSerializerForType(typeof(ActorTrainer.Runtime.Clustering.WorkerNodeInfo));
        var bytes = s.ToBinary(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("h", 1, "i", 2, 3, 5, HostsSlices: true));
        // a node of a build before the frame limit (no trailing limit and flag), and one before the ps role (no flag)
        Assert.Equal(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("h", 1, "i", 2, 3, 0), s.FromBinary(bytes.AsSpan(0, bytes.Length - 9).ToArray(), "NI"));
        Assert.Equal(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("h", 1, "i", 2, 3, 5), s.FromBinary(bytes.AsSpan(0, bytes.Length - 1).ToArray(), "NI"));
    }

    [Fact]
    public async Task A_run_on_a_given_actor_system_leaves_the_system_running()
    {
        var job = Fixtures.Job(256, new RuntimeOptions(Workers: 2), epochs: 1);
        var (expected, _) = Fixtures.Reference(job);
        var result = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None, Sys);
        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.False(Sys.WhenTerminated.IsCompleted);
    }

    [Fact]
    public async Task A_run_with_every_message_serialized_in_flight_is_still_bit_identical()
    {
        // serialize-messages = on pushes every Tell through the serializer, as remoting would
        var config = Akka.Configuration.ConfigurationFactory.ParseString("akka.actor.serialize-messages = on");
        var system = ActorTrainingRunner.CreateSystem("serialized-run", config);
        try
        {
            var job = Fixtures.Job(300, new RuntimeOptions(Workers: 2, ShardsPerBatch: 3), epochs: 1);
            var (expected, losses) = Fixtures.Reference(job);
            var result = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None, system);
            Fixtures.AssertBitIdentical(expected, result.Weights);
            Assert.Equal(losses[0], result.History[0].Loss);
        }
        finally { await system.Terminate(); }
    }

    private static void AssertDeepEqual(object? expected, object? actual, string path)
    {
        if (expected is null || actual is null) { Assert.True(expected is null && actual is null, $"{path}: {expected} vs {actual}"); return; }
        switch (expected)
        {
            case float f:
                Assert.True(BitConverter.SingleToInt32Bits(f) == BitConverter.SingleToInt32Bits((float)actual), $"{path}: {f} vs {actual}");
                return;
            case IActorRef a:
                Assert.True(a.Equals(actual), $"{path}: {a.Path} vs {actual}");
                return;
            case string or ValueType:
                Assert.True(expected.Equals(actual), $"{path}: {expected} vs {actual}");
                return;
            case IList list:
                var other = (IList)actual;
                Assert.True(list.Count == other.Count, $"{path}: length {list.Count} vs {other.Count}");
                for (int i = 0; i < list.Count; i++) AssertDeepEqual(list[i], other[i], $"{path}[{i}]");
                return;
        }
        foreach (var p in expected.GetType().GetProperties().Where(p => p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract"))
            AssertDeepEqual(p.GetValue(expected), p.GetValue(actual), $"{path}.{p.Name}");
    }
}
