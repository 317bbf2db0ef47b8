using System.Net;
using System.Runtime.Versioning;
using System.Text;
using ActorTrainer.Runtime.Clustering;
using ActorTrainer.Runtime.DataPlane;
using ActorTrainer.Runtime.SharedMemory;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Memory shared between a coordinator and the worker nodes on its host (cluster.data-plane.shared-memory):
/// the region's pages and their return, the node's checks of the file and of every offset, and a run's bits.</summary>
[SupportedOSPlatform("linux")]
public class SharedMemoryTests
{
    private static SharedTensorRegion Region(long bytes = 1 << 22) =>
        SharedTensorRegion.TryCreate(bytes, out var why) ?? throw new InvalidOperationException($"no shared memory here: {why}");

    private static string Describe(SharedTensorRegion r) => $"{r.Path}\n{r.Size}\n{Convert.ToHexString(r.Nonce)}";

    [Fact]
    public void A_placed_array_shares_its_pages_with_the_file_and_gets_its_own_back_at_dispose()
    {
        var big = Enumerable.Range(0, 100_003).Select(i => (float)i).ToArray();
        var small = new float[] { 1, 2, 3 };
        var region = Region();
        string path = region.Path;
        long ob = region.Place(big), os = region.Place(small);
        Assert.Equal(ob, region.Place(big));   // placed once
        using var map = SharedTensorMapping.Open(region.Path, region.Size, region.Nonce);
        var view = map.Floats(ob, big.Length, "big");
        var smallView = map.Floats(os, small.Length, "small");
        region.Publish(big);
        region.Publish(small);
        Assert.Equal(big, view.ToArray());
        Assert.Equal(small, smallView.ToArray());
        // the other process writes: the shared pages show it at once, the ends after Collect
        for (int i = 0; i < big.Length; i++) view.Span[i] = -i;
        Assert.Equal(-50_000f, big[50_000]);
        region.Collect(big);
        Assert.Equal(view.ToArray(), big);
        smallView.Span[1] = 9;
        region.Collect(small);
        Assert.Equal(new float[] { 1, 9, 3 }, small);
        big[60_000] = 0.5f;   // and this process's writes reach the file
        Assert.Equal(0.5f, view.Span[60_000]);
        region.Dispose();
        Assert.False(File.Exists(path));
        var kept = (float[])big.Clone();
        view.Span[50_000] = 1234;   // the node's mapping lives on, but the array has its own pages again
        Assert.Equal(kept, big);
        big[70_000] = 3;
        Assert.Equal(-70_000f, view.Span[70_000]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Weights")]
    [InlineData("w-1")]
    [InlineData("../x")]
    public void A_file_role_other_than_lowercase_letters_is_refused_naming_it(string role)
    {
        var e = Assert.Throws<ArgumentException>(() => SharedTensorRegion.TryCreate(4096, out _, role));
        Assert.Contains($"role '{role}'", e.Message);
    }

    [Fact]
    public void A_region_left_by_a_killed_process_is_removed_by_the_next_process_that_makes_one()
    {
        // the sweep runs once per process (this one may have run it already): reset its flag and run it on a file named
        // for a pid above Linux's pid_max, so no process can own it
        string stale = $"/dev/shm/actortrainer-2147483646-{Guid.NewGuid():N}";
        File.WriteAllText(stale, "");
        try
        {
            var sweep = typeof(SharedTensorRegion).GetMethod("SweepOnce", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
            typeof(SharedTensorRegion).GetField("s_swept", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.SetValue(null, 0);
            sweep.Invoke(null, null);
            Assert.False(File.Exists(stale));
        }
        finally { File.Delete(stale); }
    }

    [Fact]
    public void The_node_maps_only_an_owner_only_file_in_dev_shm_with_the_jobs_size_and_nonce()
    {
        using var region = Region();
        Assert.Contains("is not a file /dev/shm/actortrainer-*", Assert.Throws<InvalidDataException>(() => SharedTensorMapping.Open("/tmp/" + Path.GetFileName(region.Path), region.Size, region.Nonce)).Message);
        Assert.Contains("is not a file", Assert.Throws<InvalidDataException>(() => SharedTensorMapping.Open("/dev/shm/other", region.Size, region.Nonce)).Message);
        var wrong = (byte[])region.Nonce.Clone();
        wrong[3] ^= 1;
        Assert.Contains("nonce", Assert.Throws<InvalidDataException>(() => SharedTensorMapping.Open(region.Path, region.Size, wrong)).Message);
        Assert.Contains("the job announced", Assert.Throws<InvalidDataException>(() => SharedTensorMapping.Open(region.Path, region.Size + 4096, region.Nonce)).Message);
        string link = $"/dev/shm/actortrainer-test-link-{Guid.NewGuid():N}";
        File.CreateSymbolicLink(link, region.Path);
        try { Assert.Contains("link", Assert.Throws<InvalidDataException>(() => SharedTensorMapping.Open(link, region.Size, region.Nonce)).Message); }
        finally { File.Delete(link); }
        File.SetUnixFileMode(region.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        Assert.Contains("expected owner read and write only", Assert.Throws<InvalidDataException>(() => SharedTensorMapping.Open(region.Path, region.Size, region.Nonce)).Message);
        File.SetUnixFileMode(region.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using var map = SharedTensorMapping.Open(region.Path, region.Size, region.Nonce);
        Assert.Contains("not inside", Assert.Throws<InvalidDataException>(() => map.Floats(region.Size - 4, 2, "w")).Message);
        Assert.Contains("not inside", Assert.Throws<InvalidDataException>(() => map.Floats(16, 1, "w")).Message);   // the header page
        Assert.Contains("not inside", Assert.Throws<InvalidDataException>(() => map.Floats(4098, 1, "w")).Message); // misaligned
        Assert.Equal(3, map.Ints(4096, 3, "w").Length);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Sync_through_shared_memory_keeps_the_bits_and_sends_no_tensors(bool shared)
    {
        using var cluster = new ClusterTestNodes();
        var a = cluster.AddNode(workers: 1);
        var b = cluster.AddNode(workers: 2);
        var options = new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(10)) { SharedMemory = shared };
        var job = Fixtures.Job(514, new RuntimeOptions(Workers: 1, ShardsPerBatch: 4,
            Remote: new RemoteWorkers(options, 3, false, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200), "auto")));
        var (expected, losses) = Fixtures.Reference(job);
        var result = await ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator);
        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.Equal(losses, result.History.Select(h => h.Loss).ToArray());
        Assert.Equal(2 * (8 * 4 + 2), a.ShardsComputed + b.ShardsComputed);
        if (shared)
        {
            Assert.Equal(a.ShardsComputed, a.SharedMemoryShards);
            Assert.Equal(b.ShardsComputed, b.SharedMemoryShards);
            Assert.Equal(0, a.WeightsReceived + b.WeightsReceived);
        }
        else Assert.Equal(0, a.SharedMemoryShards + b.SharedMemoryShards);
        Assert.Empty(Directory.GetFiles("/dev/shm", $"actortrainer-{Environment.ProcessId}-*"));   // every region removed
    }

    [Fact]
    public void A_node_refuses_bad_shared_memory_frames_falls_back_for_a_file_it_cannot_map_and_keeps_serving()
    {
        var log = new List<string>();
        using var server = new WorkerNodeServer(IPAddress.Loopback, 0, new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(10)), 1, 1, m => { lock (log) log.Add(m); });
        var port = server.Endpoint.Port;
        using var region = Region(16 << 20);
        var plan = PlanCodec.Encode(Fixtures.Plan);
        FrameHeader Job(TensorConnection c, long flags, string text)
        {
            c.Send(NodeProtocol.Job, 64, 1, 4, flags, plan, Encoding.UTF8.GetBytes(text));
            return c.ReceiveHeader();
        }
        using (var c = TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions()))
            Assert.Contains("must be a sync job", NodeProtocol.ReadError(c, Job(c, 16, Describe(region))));
        using (var c = TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions()))
            Assert.Contains("three lines", NodeProtocol.ReadError(c, Job(c, 17, "/dev/shm/actortrainer-x")));
        using (var c = TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions()))
        {
            var h = Job(c, 17, $"/etc/passwd\n{region.Size}\n{Convert.ToHexString(region.Nonce)}");
            Assert.Equal((NodeProtocol.Ready, 0L), (h.Kind, h.C));   // not mapped: the socket carries the tensors
            var weights = Fixtures.InitialWeights();
            Section[] work = [Section.Of(Fixtures.Train(8).X.AsMemory(0, 8 * 784)), Section.Of(Fixtures.Train(8).Labels!.AsMemory(0, 8)),
                .. weights.Select(w => Section.Of(w))];
            c.Send(NodeProtocol.Work, 1, 5, 8L | (64L << 32), 42, work);
            var r = c.ReceiveHeader();
            Assert.Equal(NodeProtocol.Result, r.Kind);
            foreach (var w in weights) c.ReceiveSection(new float[w.Length].AsSpan());
            lock (log) Assert.Contains(log, l => l.Contains("shared memory offered but not used: shared memory: '/etc/passwd' is not a file", StringComparison.Ordinal));
        }
        using (var c = TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions()))
        {
            var h = Job(c, 17, Describe(region));
            Assert.Equal((NodeProtocol.Ready, 1L), (h.Kind, h.C));
            var offsets = new int[2 * 10];
            for (int i = 0; i < 10; i++) offsets[2 * i] = 4096 * (1 + i);
            offsets[2 * 9] = (int)(region.Size - 8);   // the last gradient would run past the file
            c.Send(NodeProtocol.Work, 1, 0, 8L | (64L << 32), 0, offsets);
            var e = c.ReceiveHeader();
            Assert.Equal(NodeProtocol.Error, e.Kind);
            Assert.Contains("gradient 3", NodeProtocol.ReadError(c, e));
        }
        GoodSharedClient(port);
    }

    [Fact]
    public void A_job_naming_the_runs_weights_file_maps_it_read_only_reads_the_weights_there_and_checks_it_too()
    {
        using var server = new WorkerNodeServer(IPAddress.Loopback, 0, new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(10)), 1, 1, _ => { });
        var port = server.Endpoint.Port;
        using var region = Region(16 << 20);
        using var home = Region(4 << 20);
        var plan = PlanCodec.Encode(Fixtures.Plan);
        var weights = Fixtures.InitialWeights();
        var x = Fixtures.Train(8).X.AsSpan(0, 8 * 784);
        var labels = Fixtures.Train(8).Labels!.AsSpan(0, 8);
        long[] at = [.. weights.Select(w => home.Reserve(4L * w.Length)), region.Reserve(4L * x.Length), region.Reserve(32),
            .. weights.Select(w => region.Reserve(4L * w.Length))];
        for (int i = 0; i < 4; i++) weights[i].CopyTo(home.At<float>(at[i], weights[i].Length));
        x.CopyTo(region.At<float>(at[4], x.Length));
        labels.CopyTo(region.At<int>(at[5], 8));
        using (var c = TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions()))
        {
            c.Send(NodeProtocol.Job, 64, 1, 4, 17, plan, Encoding.UTF8.GetBytes(Describe(region) + $"\n{home.Path}\nbig\n{new string('0', 32)}"));
            Assert.Contains("shared memory section, the weights file: expected path, size", NodeProtocol.ReadError(c, c.ReceiveHeader()));
        }
        using (var c = TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions()))
        {
            var wrong = $"{home.Path}\n{home.Size}\n{new string('0', 32)}";
            c.Send(NodeProtocol.Job, 64, 1, 4, 17, plan, Encoding.UTF8.GetBytes(Describe(region) + "\n" + wrong));
            Assert.Equal((NodeProtocol.Ready, 0L), (c.ReceiveHeader() is var h ? (h.Kind, h.C) : default));   // not mapped: the socket
        }
        using (var c = TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions()))
        {
            c.Send(NodeProtocol.Job, 64, 1, 4, 17, plan, Encoding.UTF8.GetBytes(Describe(region) + "\n" + Describe(home)));
            Assert.Equal((NodeProtocol.Ready, 1L), (c.ReceiveHeader() is var h ? (h.Kind, h.C) : default));
            c.Send(NodeProtocol.Work, 1, 5, 8L | (64L << 32), 42, at.SelectMany(o => new[] { (int)o, (int)(o >> 32) }).ToArray());
            var r = c.ReceiveHeader();
            Assert.Equal((NodeProtocol.Result, 1L, 0), (r.Kind, r.A, r.SectionCount));
            var want = weights.Select(w => new float[w.Length]).ToArray();
            new LocalShardCompute(Fixtures.Plan, 64, 1).Compute(weights, 5, Fixtures.Train(8).X.AsMemory(0, 8 * 784), Fixtures.Train(8).Labels!.AsMemory(0, 8),
                ReadOnlyMemory<float>.Empty, 8, 64, 42, want);
            Fixtures.AssertBitIdentical(want, [.. weights.Select((w, i) => region.At<float>(at[6 + i], w.Length).ToArray())]);
            // the node's mapping of the weights file cannot write (this process's own mapping of it can)
            var maps = File.ReadAllLines("/proc/self/maps").Where(l => l.EndsWith(home.Path, StringComparison.Ordinal)).Select(l => l.Split(' ')[1]).ToArray();
            Assert.Contains("r--s", maps);
            Assert.Contains("rw-s", maps);
        }
    }

    [Fact]
    public async Task A_run_returns_its_weights_in_their_own_pages_even_while_a_worker_still_sleeps()
    {
        using var cluster = new ClusterTestNodes();
        cluster.AddNode(workers: 2);
        // dispatch 2 (step 1, shard 0) sleeps past the 10 s the executor waits for the actors to stop; its shard goes to
        // the other worker after 200 ms, so the run ends meanwhile and the coordinator's PostStop comes only after it
        var job = Fixtures.Job(514, new RuntimeOptions(Workers: 1, ShardsPerBatch: 2, WorkerTimeout: TimeSpan.FromMilliseconds(200),
            Faults: new FaultInjection(SleepOnShard: 2, SleepFor: TimeSpan.FromSeconds(16)),
            Remote: new RemoteWorkers(new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(10)), 2, false, TimeSpan.FromSeconds(30),
                TimeSpan.FromMilliseconds(200), "auto")));
        var (expected, _) = Fixtures.Reference(job);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var run = ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator);
        string pattern = $"actortrainer-{Environment.ProcessId}-*-weights";   // the run's weights file
        bool seen = false;
        while (!run.IsCompleted)
        {
            seen |= Directory.GetFiles("/dev/shm", pattern).Length == 1;
            await Task.Delay(5);
        }
        var result = await run;
        Assert.True(seen, "the run's weights file was never made");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"the run took {clock.Elapsed}: it waited for the sleeping worker");
        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.Empty(Directory.GetFiles("/dev/shm", pattern));
        Assert.DoesNotContain(File.ReadAllLines("/proc/self/maps"), l => l.EndsWith("-weights", StringComparison.Ordinal)
            && l.Contains($"/dev/shm/actortrainer-{Environment.ProcessId}-", StringComparison.Ordinal));
    }

    /// <summary>A coordinator's connection through shared memory computes what the local engine does.</summary>
    private static void GoodSharedClient(int port)
    {
        var weights = Fixtures.InitialWeights();
        var x = Fixtures.Train(8).X;
        var labels = Fixtures.Train(8).Labels!;
        using var remote = new RemoteShardCompute("127.0.0.1", port, Fixtures.Plan, 64, 1, new DataPlaneOptions(), sync: true, coded: false);
        remote.Open();
        var got = weights.Select(w => new float[w.Length]).ToArray();
        var want = weights.Select(w => new float[w.Length]).ToArray();
        for (int key = 5; key <= 6; key++)
        {
            if (key == 6) for (int i = 0; i < weights[0].Length; i += 97) weights[0][i] = MathF.BitIncrement(weights[0][i]);
            var s1 = remote.Compute(weights, key, x, labels, ReadOnlyMemory<float>.Empty, 8, 64, 42, got);
            var s2 = new LocalShardCompute(Fixtures.Plan, 64, 1).Compute(weights, key, x, labels, ReadOnlyMemory<float>.Empty, 8, 64, 42, want);
            Fixtures.AssertBitIdentical(want, got);
            Assert.Equal(s2, s1);
        }
    }
}
