using System.Net;
using System.Text;
using ActorTrainer.Runtime.Clustering;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Gradient workers on other cluster members (worker nodes reached over the data plane): same bits as the
/// in-process reference, nodes lost mid-run, bad frames, and the wait for workers.</summary>
public class ClusterWorkerTests
{
    private static RuntimeOptions Remote(int minWorkers, int shards = 4, bool local = false, double deadlineSeconds = 10, double waitSeconds = 30,
        string compress = "auto", bool sharedMemory = true) =>
        new(Workers: 1, ShardsPerBatch: shards, Remote: new RemoteWorkers(new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(deadlineSeconds)) { SharedMemory = sharedMemory },
            minWorkers, local, TimeSpan.FromSeconds(waitSeconds), TimeSpan.FromMilliseconds(200), compress));

    [Theory]
    [InlineData("auto")]    // nodes on this host: tensors as they are
    [InlineData("on")]      // block-sparse codes, as to nodes on other hosts
    public async Task Sync_on_two_worker_nodes_is_bit_identical_to_the_reference(string compress)
    {
        using var cluster = new ClusterTestNodes();
        var a = cluster.AddNode(workers: 1);
        var b = cluster.AddNode(workers: 2);
        // tensors through the socket (shared memory, the default on one host: SharedMemoryTests)
        var job = Fixtures.Job(514, Remote(minWorkers: 3, compress: compress, sharedMemory: false));
        var (expected, losses) = Fixtures.Reference(job);
        var result = await ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator);
        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.Equal(losses, result.History.Select(h => h.Loss).ToArray());
        Assert.True(a.ShardsComputed > 0 && b.ShardsComputed > 0, $"both nodes compute shards: {a.ShardsComputed}, {b.ShardsComputed}");
        // 2 epochs × 9 steps: 8 steps with 4 shards, the last with 2 non-empty shards
        Assert.Equal(2 * (8 * 4 + 2), a.ShardsComputed + b.ShardsComputed);
        // each step's weights reach a node once, however many of its workers compute shards of that step
        Assert.True(b.WeightsReceived <= 18 && a.WeightsReceived <= 18, $"weights frames: node a {a.WeightsReceived}, node b (2 workers) {b.WeightsReceived}, 18 steps");
    }

    [Theory]
    [InlineData("auto", 1)]
    [InlineData("on", 1)]
    [InlineData("on", 2)]   // the node's two workers share its copy of the weights
    public async Task A_node_lost_mid_run_hands_its_shards_to_the_others_and_the_weights_keep_their_bits(string compress, int workers)
    {
        using var cluster = new ClusterTestNodes();
        var doomed = cluster.AddNode(workers: workers);
        var survivor = cluster.AddNode(workers: 1);
        var job = Fixtures.Job(2048, Remote(minWorkers: 2, compress: compress), epochs: 2);
        var (expected, _) = Fixtures.Reference(job);
        var run = ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator);
        var until = DateTime.UtcNow.AddSeconds(30);
        while (doomed.ShardsComputed < 10 && DateTime.UtcNow < until) await Task.Delay(5);
        Assert.True(doomed.ShardsComputed >= 10, "the node to kill got work");
        doomed.Dispose();   // closes its connections, as a killed process's socket does
        var result = await run.WaitAsync(TimeSpan.FromSeconds(60));
        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.True(survivor.ShardsComputed > 0);
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("on")]
    public async Task Async_on_one_remote_worker_pulling_every_step_is_the_plain_SGD_loop(string compress)
    {
        using var cluster = new ClusterTestNodes();
        cluster.AddNode(workers: 1);
        var job = Fixtures.Job(512, Remote(minWorkers: 1, shards: 1, compress: compress) with { Mode = "async", AsyncMaxStaleness = 0, AsyncPullEvery = 1 }, epochs: 1);
        var result = await ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator);
        Assert.Equal(0, result.StaleGradientsRejected);
        var reference = Fixtures.Reference(job with { Options = job.Options with { ShardsPerBatch = 1 }, Epochs = 1 });
        Fixtures.AssertBitIdentical(reference.Weights, result.Weights);
    }

    [Fact]
    public async Task Async_on_two_worker_nodes_trains()
    {
        using var cluster = new ClusterTestNodes();
        var a = cluster.AddNode(workers: 1);
        var b = cluster.AddNode(workers: 1);
        var job = Fixtures.Job(1024, Remote(minWorkers: 2) with { Mode = "async", AsyncMaxStaleness = 4, AsyncPullEvery = 1 },
            epochs: 3, validation: Fixtures.Validation(256));
        var result = await ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator);
        Assert.Equal(48, result.Steps);
        Assert.True(result.History[2].Loss < result.History[0].Loss, $"loss {result.History[0].Loss} -> {result.History[2].Loss}");
        Assert.InRange(result.History[2].ValAccuracy!.Value, 0.7, 1.0);
        Assert.True(a.ShardsComputed > 0 && b.ShardsComputed > 0, $"both nodes compute: {a.ShardsComputed}, {b.ShardsComputed}");
    }

    [Fact]
    public async Task Local_workers_next_to_remote_ones_keep_the_bits()
    {
        using var cluster = new ClusterTestNodes();
        var node = cluster.AddNode(workers: 1);
        // 1 local worker (Workers: 1) + 1 remote; 8 epochs, so that the remote one (its data plane opens while the local
        // one already computes) is sure to get work on a busy machine
        var job = Fixtures.Job(514, Remote(minWorkers: 2, local: true), epochs: 8);
        var (expected, _) = Fixtures.Reference(job);
        var result = await ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator);
        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.True(node.ShardsComputed > 0 && node.ShardsComputed < 8 * (8 * 4 + 2), $"the node computed some of the shards: {node.ShardsComputed}");
    }

    [Fact]
    public async Task Training_fails_with_a_clear_error_when_too_few_workers_join()
    {
        using var cluster = new ClusterTestNodes();
        cluster.AddNode(workers: 1);
        var job = Fixtures.Job(256, Remote(minWorkers: 3, waitSeconds: 2));
        var e = await Assert.ThrowsAsync<WorkersUnavailableException>(() => ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator));
        Assert.Contains("cluster.min-workers = 3", e.Message);
        Assert.Contains("cluster.wait-for-workers", e.Message);
    }

    [Fact]
    public async Task Cancelling_while_waiting_for_min_workers_stops_at_once_not_after_wait_for_workers()
    {
        using var cluster = new ClusterTestNodes();
        var job = Fixtures.Job(256, Remote(minWorkers: 2, waitSeconds: 60));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<WorkersWaitCancelledException>(() =>
            ActorTrainingRunner.RunAsync(job, [], cts.Token, cluster.Coordinator).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), $"stopped {sw.Elapsed.TotalSeconds:F1} s after the start (cancelled at 1 s, wait 60 s)");
        Assert.Contains("cluster.min-workers = 2 gradient workers (0 joined)", e.Message);
    }

    [Fact]
    public void A_node_refuses_a_bad_job_and_bad_work_frames_and_keeps_serving()
    {
        using var server = new WorkerNodeServer(IPAddress.Loopback, 0, new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(10)), 1, 1, _ => { });
        var port = server.Endpoint.Port;
        using (var c = TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions()))
        {
            c.Send(NodeProtocol.Job, 64, 1, 4, 0, Encoding.UTF8.GetBytes("actortrainer-plan 1\ninput 784\ndense 784 32 bias frobnicate\nloss mse\n"));
            var h = c.ReceiveHeader();
            Assert.Equal(NodeProtocol.Error, h.Kind);
            Assert.Contains("line 3", NodeProtocol.ReadError(c, h));
        }
        using (var c = TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions()))
        {
            c.Send(NodeProtocol.Job, 64, 1, 4, 0, PlanCodec.Encode(Fixtures.Plan));
            Assert.Equal(NodeProtocol.Ready, c.ReceiveHeader().Kind);
            // 8 rows claimed, x of 7 rows, no weights held yet
            c.Send(NodeProtocol.Work, 1, 0, 8L | (64L << 32), 0, new float[7 * 784], new int[8]);
            var h = c.ReceiveHeader();
            Assert.Equal(NodeProtocol.Error, h.Kind);
            Assert.Contains("section 0 (x)", NodeProtocol.ReadError(c, h));
        }
        using (var c = TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions()))
        {
            c.Send(NodeProtocol.Job, 64, 1, 4, 2, PlanCodec.Encode(Fixtures.Plan));   // block-sparse job
            Assert.Equal(NodeProtocol.Ready, c.ReceiveHeader().Kind);
            c.Send(NodeProtocol.Work, 1, 0, 8L | (64L << 32), 0, new byte[BlockSparse.MaskBytes(7 * 784)], new float[0], new int[8]);
            var h = c.ReceiveHeader();
            Assert.Equal(NodeProtocol.Error, h.Kind);
            Assert.Contains("section 0 (x mask)", NodeProtocol.ReadError(c, h));
        }
        using (var c = TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions()))
        {
            c.Send(NodeProtocol.Job, 64, 1, 4, 32, PlanCodec.Encode(Fixtures.Plan));   // an unknown flag
            var h = c.ReceiveHeader();
            Assert.Equal(NodeProtocol.Error, h.Kind);
            Assert.Contains("job flags 32", NodeProtocol.ReadError(c, h));
        }
        using (var c = TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions()))
        {
            c.Send(NodeProtocol.Job, 64, 1, 4, 8, PlanCodec.Encode(Fixtures.Plan));    // slices on ps nodes, but not a sync job
            var h = c.ReceiveHeader();
            Assert.Equal(NodeProtocol.Error, h.Kind);
            Assert.Contains("must be a sync job", NodeProtocol.ReadError(c, h));
        }
        // a mask that marks more values than its values section holds (8 rows: 392 blocks), and one that marks a block
        // past the tensor's end (1 row: 49 blocks in 7 mask bytes, bit 55 set); the weights come as valid all-zero codes
        var lying = new byte[BlockSparse.MaskBytes(8 * 784)];
        lying[0] = 0b11;
        var pastEnd = new byte[BlockSparse.MaskBytes(784)];
        pastEnd[^1] = 0x80;
        foreach (var (rows, mask, values, fragment) in new[] { (8, lying, 16, "marks 32 values, section 1 has 16"), (1, pastEnd, 0, "past the tensor") })
        {
            using var c = TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions());
            c.Send(NodeProtocol.Job, 64, 1, 4, 2, PlanCodec.Encode(Fixtures.Plan));
            Assert.Equal(NodeProtocol.Ready, c.ReceiveHeader().Kind);
            var sections = new List<Section> { mask, new float[values], new int[rows] };
            foreach (var w in Fixtures.InitialWeights()) sections.AddRange([new byte[BlockSparse.MaskBytes(w.Length)], new float[0]]);
            c.Send(NodeProtocol.Work, 1, 0, (long)rows | (64L << 32), 0, sections.ToArray());
            var h = c.ReceiveHeader();
            Assert.Equal(NodeProtocol.Error, h.Kind);
            Assert.Contains(fragment, NodeProtocol.ReadError(c, h));
        }
        // a good client still gets the same gradient as the local engine, coded and plain
        foreach (bool coded in new[] { true, false }) GoodClient(port, coded);
    }

    private static void GoodClient(int port, bool coded)
    {
        var weights = Fixtures.InitialWeights();
        var x = Fixtures.Train(8).X;
        var labels = Fixtures.Train(8).Labels!;
        using var remote = new RemoteShardCompute("127.0.0.1", port, Fixtures.Plan, 64, 1, new DataPlaneOptions(), coded: coded);
        remote.Open();
        var got = weights.Select(w => new float[w.Length]).ToArray();
        var want = weights.Select(w => new float[w.Length]).ToArray();
        var s1 = remote.Compute(weights, 5, x, labels, ReadOnlyMemory<float>.Empty, 8, 64, 42, got);
        var s2 = new LocalShardCompute(Fixtures.Plan, 64, 1).Compute(weights, 5, x, labels, ReadOnlyMemory<float>.Empty, 8, 64, 42, want);
        Fixtures.AssertBitIdentical(want, got);
        Assert.Equal(s2, s1);
        // same key again: the weights are not sent twice, and the answer is the same
        var again = remote.Compute(weights, 5, x, labels, ReadOnlyMemory<float>.Empty, 8, 64, 42, got);
        Assert.Equal(s2, again);
        Fixtures.AssertBitIdentical(want, got);
        // new weights (key 6; coded: the XOR with the node's copy): some values changed, a −0.0 among them, most blocks
        // unchanged; the node must compute with exactly these bits
        var next = weights.Select(w => (float[])w.Clone()).ToArray();
        for (int i = 0; i < next[0].Length; i += 97) next[0][i] = MathF.BitIncrement(next[0][i]);
        next[0][5] = -0.0f;
        next[^1][^1] += 0.25f;
        var s3 = remote.Compute(next, 6, x, labels, ReadOnlyMemory<float>.Empty, 8, 64, 42, got);
        var s4 = new LocalShardCompute(Fixtures.Plan, 64, 1).Compute(next, 6, x, labels, ReadOnlyMemory<float>.Empty, 8, 64, 42, want);
        Fixtures.AssertBitIdentical(want, got);
        Assert.Equal(s4, s3);
    }

    [Fact]
    public void Compression_is_on_for_other_hosts_off_for_this_one_unless_set()
    {
        var auto = new RemoteWorkers(new DataPlaneOptions());
        Assert.False(auto.CodesFor("127.0.0.1"));
        Assert.False(auto.CodesFor("localhost"));
        Assert.False(auto.CodesFor("::1"));
        Assert.True(auto.CodesFor("192.0.2.7"));                  // TEST-NET-1: never this machine
        Assert.True(auto.CodesFor("no-such-host.invalid"));
        Assert.True((auto with { Compress = "on" }).CodesFor("127.0.0.1"));
        Assert.False((auto with { Compress = "off" }).CodesFor("192.0.2.7"));
        var e = Assert.Throws<ArgumentException>(() => (auto with { Compress = "zip" }).Validate());
        Assert.Contains("cluster.data-plane.compress", e.Message);
    }

    [Fact]
    public void The_node_warm_up_runs_a_plan_with_labels_and_one_with_targets()
    {
        NodeWarmup.Run(Fixtures.Plan, rows: 8, threads: 1, rounds: 2);
        var mse = new ModelPlan(6, [PlanLayer.NewDense(6, 4, true, Activation.Tanh), PlanLayer.NewDense(4, 3, true, Activation.Linear)], Loss.MeanSquaredError);
        NodeWarmup.Run(mse, rows: 5, threads: 0, rounds: 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => NodeWarmup.Run(mse, rows: 0, threads: 1));
    }

    [Fact]
    public void The_plan_text_round_trips_and_bad_lines_are_named()
    {
        var plan = new ModelPlan(784, [PlanLayer.NewDense(784, 512, true, Activation.Relu), PlanLayer.NewDropout(0.1 + 0.2),
            PlanLayer.NewDense(512, 10, false, Activation.Linear), PlanLayer.NewActivation(Activation.Softmax)], Loss.SparseCategoricalCrossentropy);
        Assert.Equal(plan, PlanCodec.Decode(PlanCodec.Encode(plan)));
        var e = Assert.Throws<InvalidDataException>(() => PlanCodec.Decode(Encoding.UTF8.GetBytes("actortrainer-plan 1\ninput 784\ndropout 1.5\nloss mse\n")));
        Assert.Contains("line 3", e.Message);
        Assert.Throws<InvalidDataException>(() => PlanCodec.Decode(Encoding.UTF8.GetBytes("something else")));
    }
}
