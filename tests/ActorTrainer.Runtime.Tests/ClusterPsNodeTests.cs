using ActorTrainer.Core;
using System.Net;
using System.Text;
using ActorTrainer.Runtime.Clustering;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Parameter-server slices on `ps` nodes (cluster.ps-nodes): worker nodes pull the weights from and push the
/// gradients to them; the bits stay those of the in-process reference; a lost ps node ends the run clearly; bad frames
/// are refused and the node keeps serving.</summary>
public class ClusterPsNodeTests
{
    private static RuntimeOptions Remote(int minWorkers, int psNodes, int shards = 4, int psSlices = 0, string compress = "auto", double waitSeconds = 30) =>
        new(Workers: 1, ShardsPerBatch: shards, PsSlices: psSlices, Remote: new RemoteWorkers(new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(10)),
            minWorkers, false, TimeSpan.FromSeconds(waitSeconds), TimeSpan.FromMilliseconds(200), compress, PsNodes: psNodes));

    [Theory]
    [InlineData(1, 1, "auto")]
    [InlineData(2, 3, "auto")]    // three slices over two ps nodes: the vote crosses nodes through the coordinator
    [InlineData(2, 2, "on")]      // block-sparse rows to the worker nodes
    public async Task Slices_on_ps_nodes_give_the_reference_bits(int psNodes, int slices, string compress)
    {
        using var cluster = new ClusterTestNodes();
        var ps = Enumerable.Range(0, psNodes).Select(_ => cluster.AddPsNode()).ToArray();
        var a = cluster.AddNode(workers: 1);
        var b = cluster.AddNode(workers: 2);
        var job = Fixtures.Job(514, Remote(minWorkers: 3, psNodes, psSlices: slices, compress: compress), validation: Fixtures.Validation(256));
        var (expected, losses) = Fixtures.Reference(job);
        var result = await Within(cluster, ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator));
        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.Equal(losses, result.History.Select(h => h.Loss).ToArray());
        Assert.Equal(2 * (8 * 4 + 2), a.ShardsComputed + b.ShardsComputed);
        Assert.Equal(0, a.WeightsReceived + b.WeightsReceived);       // no weights from the coordinator: they come from the ps nodes
        // validation ran on the weights pulled back from the ps nodes: the same numbers as slices in the coordinator
        var local = await ActorTrainingRunner.RunAsync(Fixtures.Job(514, new RuntimeOptions(Workers: 2, ShardsPerBatch: 4), validation: Fixtures.Validation(256)),
            [], CancellationToken.None);
        Assert.Equal(local.History.Select(h => h.ValLoss).ToArray(), result.History.Select(h => h.ValLoss).ToArray());
        Assert.All(ps, p => Assert.Equal(0, p.ShardsComputed));
    }

    [Fact]
    public async Task A_node_pulls_each_steps_weights_once_for_all_its_workers()
    {
        using var cluster = new ClusterTestNodes();
        var ps = cluster.AddPsNode();
        var node = cluster.AddNode(workers: 3);
        var job = Fixtures.Job(514, Remote(minWorkers: 3, psNodes: 1, shards: 3));
        var (expected, _) = Fixtures.Reference(job);
        var result = await Within(cluster, ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator));
        Fixtures.AssertBitIdentical(expected, result.Weights);
        const int steps = 2 * 9;   // 2 epochs of 9 batches of 64 rows (the last of 2 rows, in 2 shards)
        Assert.Equal(2 * (8 * 3 + 2), node.ShardsComputed);
        // one answer per step to the node (the first pull, then each step's ask-ahead), not one per gradient worker (3 per step)
        Assert.InRange(ps.WeightsServed, steps, steps + 2);
        // the sessions end, and the copy (and its pull connections) with them: each session's thread sees its connection
        // close after the run has returned, so the last detach may come a moment later
        for (var until = DateTime.UtcNow.AddSeconds(10); node.SharedCopies != 0 && DateTime.UtcNow < until;) await Task.Delay(10);
        Assert.Equal(0, node.SharedCopies);
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("on")]     // block-sparse codes between the two nodes (the links to itself go through memory either way)
    public async Task Worker_nodes_that_host_the_slices_themselves_give_the_reference_bits(string compress)
    {
        using var cluster = new ClusterTestNodes();
        var a = cluster.AddNode(workers: 2, hostsSlices: true);
        var b = cluster.AddNode(workers: 1, hostsSlices: true);
        var job = Fixtures.Job(514, Remote(minWorkers: 3, psNodes: 2, psSlices: 3, compress: compress));
        var (expected, losses) = Fixtures.Reference(job);
        var result = await Within(cluster, ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator));
        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.Equal(losses, result.History.Select(h => h.Loss).ToArray());
        Assert.Equal(2 * (8 * 4 + 2), a.ShardsComputed + b.ShardsComputed);
        Assert.Equal(0, a.WeightsReceived + b.WeightsReceived);
        // each node pulls its own slices' weights from memory: the answers over the data plane are the other node's pulls
        const int steps = 2 * 9;
        Assert.InRange(a.WeightsServed, steps / 2, steps + 2);
        Assert.InRange(b.WeightsServed, steps / 2, steps + 2);
    }

    [Fact]
    public async Task A_late_shard_on_a_node_whose_workers_share_the_pulled_weights_is_dropped_and_the_bits_stay()
    {
        // dispatch 6 sleeps 2 s on the coordinator before it goes to its node: the shard is reassigned after 300 ms, the
        // run moves on, and the late work reaches a node whose shared copy holds newer weights (its push is dropped)
        using var cluster = new ClusterTestNodes();
        cluster.AddPsNode();
        var node = cluster.AddNode(workers: 2);
        var options = Remote(minWorkers: 2, psNodes: 1) with
        {
            WorkerTimeout = TimeSpan.FromMilliseconds(300),
            Faults = new FaultInjection(SleepOnShard: 6, SleepFor: TimeSpan.FromSeconds(2)),
        };
        var job = Fixtures.Job(1024, options, epochs: 1);
        var (expected, losses) = Fixtures.Reference(job);
        var result = await Within(cluster, ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator));
        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.Equal(losses[0], result.History[0].Loss);
        Assert.True(node.ShardsComputed > 16 * 4, $"the late shard was computed too ({node.ShardsComputed} shards for 64)");
    }

    /// <summary>The run's result within 120 s, else a failure that shows the nodes' log.</summary>
    private static async Task<TrainingResult> Within(ClusterTestNodes cluster, Task<TrainingResult> run)
    {
        try { return await run.WaitAsync(TimeSpan.FromSeconds(120)); }
        catch (TimeoutException) { lock (cluster.Log) throw new TimeoutException("run did not finish; nodes' log:\n" + string.Join("\n", cluster.Log)); }
    }

    [Fact]
    public async Task A_learning_rate_schedule_reaches_the_ps_nodes_before_the_steps_it_applies_to()
    {
        using var cluster = new ClusterTestNodes();
        cluster.AddPsNode();
        cluster.AddNode(workers: 2);
        var schedule = new Func<int, double, double>((epoch, lr) => epoch == 0 ? 0.004 : lr / 4);
        var job = Fixtures.Job(514, Remote(minWorkers: 2, psNodes: 1), epochs: 3);
        var result = await Within(cluster, ActorTrainingRunner.RunAsync(job, [new LearningRateScheduler(schedule)], CancellationToken.None, cluster.Coordinator));
        var local = await ActorTrainingRunner.RunAsync(Fixtures.Job(514, new RuntimeOptions(Workers: 2, ShardsPerBatch: 4), epochs: 3),
            [new LearningRateScheduler(schedule)], CancellationToken.None);
        Fixtures.AssertBitIdentical(local.Weights, result.Weights);
        var constant = await ActorTrainingRunner.RunAsync(Fixtures.Job(514, new RuntimeOptions(Workers: 2, ShardsPerBatch: 4), epochs: 3),
            [], CancellationToken.None);
        Assert.NotEqual(constant.History[2].Loss, result.History[2].Loss);   // the schedule did change the updates
    }

    [Fact]
    public async Task A_worker_node_lost_mid_run_hands_its_shards_to_the_others_and_the_ps_nodes_keep_the_bits()
    {
        using var cluster = new ClusterTestNodes();
        cluster.AddPsNode();
        cluster.AddPsNode();
        var doomed = cluster.AddNode(workers: 1);
        var survivor = cluster.AddNode(workers: 1);
        var job = Fixtures.Job(2048, Remote(minWorkers: 2, psNodes: 2), epochs: 2);
        var (expected, _) = Fixtures.Reference(job);
        var run = ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator);
        var until = DateTime.UtcNow.AddSeconds(30);
        while (doomed.ShardsComputed < 10 && DateTime.UtcNow < until) await Task.Delay(5);
        Assert.True(doomed.ShardsComputed >= 10, "the node to kill got work");
        doomed.Dispose();   // closes its connections to the coordinator and to the ps nodes, as a killed process's do
        var result = await Within(cluster, run);
        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.True(survivor.ShardsComputed > 0);
    }

    [Fact]
    public async Task A_ps_node_lost_mid_run_ends_it_with_an_error_naming_the_node()
    {
        using var cluster = new ClusterTestNodes();
        var doomed = cluster.AddPsNode();
        var worker = cluster.AddNode(workers: 1);
        var job = Fixtures.Job(2048, Remote(minWorkers: 1, psNodes: 1), epochs: 3);
        var run = ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator);
        var until = DateTime.UtcNow.AddSeconds(30);
        while (worker.ShardsComputed < 10 && DateTime.UtcNow < until) await Task.Delay(5);
        doomed.Dispose();
        var e = await Assert.ThrowsAsync<WorkersUnavailableException>(() => run.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"parameter-server node 127.0.0.1:{doomed.Endpoint.Port}", e.Message);
        Assert.Contains("train --resume", e.Message);
    }

    [Fact]
    public void Once_a_ps_node_is_lost_the_weights_are_never_an_older_steps_without_the_failure_and_the_optimizer_state_throws_it()
    {
        // what a checkpoint reads (the weights, then the optimizer state): the weights of the lost node's step are gone
        // with it, so neither read may give older ones as that step's, nor hang
        using var cluster = new ClusterTestNodes();
        var doomed = cluster.AddPsNode();
        cluster.AddNode(workers: 1);
        var w = Fixtures.InitialWeights();
        var start = new FitCheckpoint(3, 0, 0, 0, ShardStats.Zero, w, "RMSprop", 0, [], [], 0);
        using var exec = new ActorStepExecutor(new StepJob(Fixtures.Plan, w, Fixtures.RmsProp(), Fixtures.Train(512), 64, 4, 3, true),
            start, Remote(minWorkers: 1, psNodes: 1), cluster.Coordinator);
        IStepExecutor e = exec;
        e.BeginEpoch(0, 0, 0);
        e.NextStep();
        e.NextStep();
        var pulled = e.Weights.Select(a => (float[])a.Clone()).ToArray();   // step 2's, pulled from the ps node
        e.OptimizerState();
        e.NextStep();
        doomed.Dispose();
        string where = $"parameter-server node 127.0.0.1:{doomed.Endpoint.Port}";
        var read = Task.Run(() => e.Weights);
        try
        {
            Assert.True(read.Wait(TimeSpan.FromSeconds(60)), "the weights' read ended");
            Fixtures.AssertBitIdentical(pulled, read.Result);   // the run had failed before the read: the last pulled
        }
        catch (AggregateException pull)                        // the pull failed with the run: its failure
        {
            Assert.IsType<WorkersUnavailableException>(pull.InnerException);
            Assert.Contains(where, pull.InnerException!.Message);
        }
        // either way the state read after them throws the failure, so no checkpoint pairs step 2's weights with step 3's slots
        var state = Task.Run(() => e.OptimizerState());
        var thrown = Assert.Throws<AggregateException>(() => state.Wait(TimeSpan.FromSeconds(30)));
        Assert.IsType<WorkersUnavailableException>(thrown.InnerException);
        Assert.Contains(where, thrown.InnerException!.Message);
        Fixtures.AssertBitIdentical(pulled, e.Weights);         // (what fit's end copies back)
    }

    [Fact]
    public async Task A_ps_node_whose_frames_are_too_small_for_its_slices_fails_the_start_naming_the_key()
    {
        using var cluster = new ClusterTestNodes();
        var small = cluster.AddPsNode(new DataPlaneOptions(MaxFrameBytes: 2048));
        cluster.AddNode(workers: 1);
        var job = Fixtures.Job(514, Remote(minWorkers: 1, psNodes: 1));
        var e = await Assert.ThrowsAsync<WorkersUnavailableException>(() => ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator)
            .WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.True(e.Message.Contains($"parameter-server node 127.0.0.1:{small.Endpoint.Port} has cluster.data-plane.max-frame-mib = 0 (2048 bytes)"), e.Message);
        Assert.Contains("need up to", e.Message);
        Assert.Equal(0, small.SliceRuns);   // refused before any slice went there
    }

    [Fact]
    public async Task Too_few_ps_nodes_fail_the_start_naming_cluster_ps_nodes()
    {
        using var cluster = new ClusterTestNodes();
        cluster.AddPsNode();
        cluster.AddNode(workers: 1);
        var job = Fixtures.Job(514, Remote(minWorkers: 1, psNodes: 2, waitSeconds: 2));
        var e = await Assert.ThrowsAsync<WorkersUnavailableException>(() => ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator));
        Assert.Contains("1 of cluster.ps-nodes = 2 parameter-server nodes joined", e.Message);
    }

    [Fact]
    public void Options_refuse_ps_nodes_with_async_local_workers_or_too_few_slices()
    {
        var dp = new DataPlaneOptions();
        var async = Assert.Throws<ArgumentException>(() => new RuntimeOptions(Mode: "async", Remote: new RemoteWorkers(dp, PsNodes: 1)).Validate());
        Assert.Contains("cluster.ps-nodes = 1 serves sync runs only", async.Message);
        var local = Assert.Throws<ArgumentException>(() => new RuntimeOptions(Remote: new RemoteWorkers(dp, LocalWorkers: true, PsNodes: 1)).Validate());
        Assert.Contains("cluster.local-workers = off", local.Message);
        var slices = Assert.Throws<ArgumentException>(() => new RuntimeOptions(PsSlices: 1, Remote: new RemoteWorkers(dp, PsNodes: 2)).Validate());
        Assert.Contains("trainer.ps-slices = 1 is fewer than cluster.ps-nodes = 2", slices.Message);
        Assert.Throws<ArgumentException>(() => new RuntimeOptions(Remote: new RemoteWorkers(dp, PsNodes: -1)).Validate());
    }

    [Fact]
    public void A_ps_node_refuses_bad_frames_and_keeps_serving()
    {
        var log = new List<string>();
        using var server = new WorkerNodeServer(IPAddress.Loopback, 0, new DataPlaneOptions(), 0, 0, m => { lock (log) log.Add(m); }, hostsSlices: true);
        int[] sizes = [100, 10];
        string Refused(Action<TensorConnection> send)
        {
            using var c = TensorConnection.Connect("127.0.0.1", server.Endpoint.Port, new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(10)));
            send(c);
            var h = c.ReceiveHeader();
            Assert.Equal(NodeProtocol.Error, h.Kind);
            return NodeProtocol.ReadError(c, h);
        }
        var spec = new SliceJobSpec(sizes, 2, 0, 1, 4, 0.01, """{"class_name":"SGD","config":{"learning_rate":0.01}}""");
        var weights = sizes.Select(n => Enumerable.Range(0, n).Select(i => i % 3 == 0 ? 0f : i * 0.5f).ToArray()).ToArray();
        var layout = ParameterSlices.Split(sizes, 2);
        Section[] JobSections(SliceJobSpec s)
        {
            var list = new List<Section> { s.Encode() };
            SliceProtocol.AddRanges(list, layout, s.First, s.Last, weights);
            return list.ToArray();
        }
        // a worker that attaches to a run this node does not hold
        Assert.Contains("no run with token", Refused(c => c.Send(SliceProtocol.Attach, 42, 0, 0, 0)));
        // a job whose optimizer is unknown, one with a wrong weight section, one from a worker node
        Assert.Contains("optimizer", Refused(c => c.Send(SliceProtocol.SliceJob, 7, 0, 0, 0, JobSections(spec with { Optimizer = """{"class_name":"Nadamax"}""" }))));
        var shortWeights = JobSections(spec);
        shortWeights[1] = new float[3];
        Assert.Contains("has 3 elements", Refused(c => c.Send(SliceProtocol.SliceJob, 7, 0, 0, 0, shortWeights)));
        Assert.Contains("parameter-server (`ps`) node", Refused(c => c.Send(NodeProtocol.Job, 8, 1, 2, 1, Encoding.UTF8.GetBytes("plan"))));
        // a good job; then a push whose gradient does not fit, on a worker's connection
        using var control = TensorConnection.Connect("127.0.0.1", server.Endpoint.Port, new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(10)));
        control.Send(SliceProtocol.SliceJob, 7, 0, 0, 0, JobSections(spec));
        Assert.Equal(SliceProtocol.SliceReady, control.ReceiveHeader().Kind);
        // a push on a worker's connection (`codes`: the attach's B, block-sparse or not)
        string PushRefused(long codes, long step, params Section[] sections) => Refused(c =>
        {
            c.Send(SliceProtocol.Attach, 7, codes, 0, 0);
            Assert.Equal(SliceProtocol.Attached, c.ReceiveHeader().Kind);
            c.Send(SliceProtocol.Push, step, 0 | 4L << 32, 64, 0, sections);
        });
        Assert.Contains("push: section 1", PushRefused(0, 0, new int[5], new float[47], new float[52], new float[10]));
        Assert.Contains("push: step 5 is from the future", PushRefused(0, 5, new int[5], new float[48], new float[52], new float[10]));
        // block-sparse links: an attach with an unknown codes flag, a plain push on a coded link, a mask that marks
        // more values than its section holds
        Assert.Contains("B = 0 or 1", Refused(c => c.Send(SliceProtocol.Attach, 7, 2, 0, 0)));
        Assert.Contains("(block-sparse segments)", PushRefused(1, 0, new int[5], new float[48], new float[52], new float[10]));
        Assert.Contains("marks 48 values, section 2 has 16", PushRefused(1, 0, new int[5], new byte[] { 7 }, new float[16],
            new byte[] { 0 }, Array.Empty<float>(), new byte[] { 0 }, Array.Empty<float>()));
        // a coded link's weights: the XOR with zeros at first, then with what it delivered (nothing changed: masks only)
        using (var coded = TensorConnection.Connect("127.0.0.1", server.Endpoint.Port, new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(10))))
        {
            coded.Send(SliceProtocol.Attach, 7, 1, 0, 0);
            Assert.Equal(SliceProtocol.Attached, coded.ReceiveHeader().Kind);
            var codes = new SliceRangeCodes(layout, 0, 1);
            var got = sizes.Select(n => Enumerable.Repeat(9f, n).ToArray()).ToArray();   // cleared first: the link is fresh
            for (int round = 0; round < 2; round++)
            {
                coded.Send(SliceProtocol.WeightsRequest, long.MinValue, 0, 0, 0);
                var h = coded.ReceiveHeader();
                Assert.Null(codes.Check(h, 0, "weights"));
                Assert.Equal(round == 0 ? 110 : 0, h.Lengths[1] + h.Lengths[3] + h.Lengths[5]);   // values that travel: all blocks, then none
                if (round == 0) codes.Clear(got);
                codes.Receive(coded, h, 0, got, xor: true, "weights");
                Assert.Equal(weights[0], got[0]);
                Assert.Equal(weights[1], got[1]);
            }
        }
        Assert.Contains("not a control frame", Refused(c =>
        {
            c.Send(SliceProtocol.SliceJob, 9, 0, 0, 0, JobSections(spec));
            Assert.Equal(SliceProtocol.SliceReady, c.ReceiveHeader().Kind);
            c.Send(SliceProtocol.Push, 0, 0, 0, 0);
        }));
        // the run of token 7 is still served: its weights come back
        control.Send(SliceProtocol.WeightsRequest, long.MinValue, 0, 0, 0);
        var w = control.ReceiveHeader();
        Assert.Equal(SliceProtocol.Weights, w.Kind);
        Assert.Equal(layout[0].Length + layout[1].Length, w.SectionCount);
        control.SkipSections();
        Assert.Equal(1, server.SliceRuns);
    }

    [Fact]
    public void The_job_spec_and_directory_round_trip_and_bad_text_is_named()
    {
        var spec = new SliceJobSpec([401408, 512, 5120, 10], 4, 1, 2, 16, 0.001, """{"class_name":"RMSprop"}""");
        Assert.Equivalent(spec, SliceJobSpec.Decode(spec.Encode()));
        var dir = new SliceDirectory(99, 4, [("10.0.0.1", 7000, 0, 1), ("10.0.0.2", 7001, 2, 3)]);
        var back = SliceDirectory.Decode(dir.Encode(), spec.Sizes);
        Assert.Equal(dir.Nodes, back.Nodes);
        Assert.Equal((99L, 4, "off"), (back.Token, back.Slices, back.Codes));
        Assert.Equal("auto", SliceDirectory.Decode((dir with { Codes = "auto" }).Encode(), spec.Sizes).Codes);
        Assert.Contains("codes auto|on|off", Assert.Throws<InvalidDataException>(() => SliceDirectory.Decode((dir with { Codes = "fast" }).Encode(), spec.Sizes)).Message);
        Assert.True((dir with { Codes = "on" }).CodesTo("127.0.0.1"));
        Assert.False((dir with { Codes = "auto" }).CodesTo("127.0.0.1"));     // this machine: plain
        Assert.True((dir with { Codes = "auto" }).CodesTo("192.0.2.1"));      // another host (TEST-NET-1)
        Assert.False(dir.CodesTo("192.0.2.1"));
        var gap = new SliceDirectory(99, 4, [("10.0.0.1", 7000, 0, 1), ("10.0.0.2", 7001, 3, 3)]);
        Assert.Contains("expected a range from 2", Assert.Throws<InvalidDataException>(() => SliceDirectory.Decode(gap.Encode(), spec.Sizes)).Message);
        Assert.Contains("rate", Assert.Throws<InvalidDataException>(() => SliceJobSpec.Decode((spec with { LearningRate = double.NaN }).Encode())).Message);
    }
}
