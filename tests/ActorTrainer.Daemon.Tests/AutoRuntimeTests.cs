using ActorTrainer.Cuda;
using ActorTrainer.Daemon.Configuration;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>What `trainer.runtime = auto` resolves to: in-process for a GPU training alone and for a CPU worker layout
/// (trainer.workers = auto) that is the in-process executor's own partition of a step (single-threaded workers, one per
/// shard up to the cores; or one shard on all the cores), else the actor runtime; an explicit runtime, worker count or
/// slice count is kept.</summary>
public class AutoRuntimeTests
{
    private static readonly BackendSettings Cpu = new("cpu", new CudaOptions());

    [Theory]
    [InlineData("auto", false, "sync", "auto", 0, 2, 0, 1, "in-process")]     // one core, the auto layout: 1 worker x 1 thread
    [InlineData("auto", false, "sync", "auto", 1, 2, 0, 1, "in-process")]     // one thread asked for: the same layout
    [InlineData("auto", false, "sync", "auto", 0, 1, 0, 1, "in-process")]     // one core, one shard
    [InlineData("auto", false, "sync", "auto", 0, 2, 0, 2, "in-process")]     // two cores, 2 shards: 2 x 1, as the 2 lanes
    [InlineData("auto", false, "sync", "auto", 0, 16, 0, 2, "in-process")]    // 2 x 1
    [InlineData("auto", false, "sync", "auto", 0, 16, 0, 16, "in-process")]   // 16 x 1
    [InlineData("auto", false, "sync", "auto", 0, 3, 0, 4, "in-process")]     // 3 x 1 (4 / 3 rounds down)
    [InlineData("auto", false, "sync", "auto", 1, 2, 0, 16, "in-process")]    // 2 x 1 asked for, as the 2 lanes
    [InlineData("auto", false, "sync", "auto", 0, 2, 0, 4, "actors")]         // 2 workers x 2 threads: lanes have 1 thread
    [InlineData("auto", false, "sync", "auto", 0, 2, 0, 16, "actors")]        // 2 x 8
    [InlineData("auto", false, "sync", "auto", 0, 1, 0, 2, "in-process")]     // one shard on 2 cores: 1 worker x 2 threads, as the one lane
    [InlineData("auto", false, "sync", "auto", 0, 1, 0, 16, "in-process")]    // 1 x 16
    [InlineData("auto", false, "sync", "auto", 2, 1, 0, 2, "in-process")]     // 1 x 2 asked for: the same
    [InlineData("auto", false, "sync", "auto", 1, 1, 0, 2, "actors")]         // 1 x 1 asked for: in-process would take 2 threads
    [InlineData("auto", false, "sync", "auto", 4, 1, 0, 2, "actors")]         // 1 x 4 asked for
    [InlineData("auto", false, "sync", "auto", 2, 2, 0, 2, "actors")]         // 2 threads per worker asked for
    [InlineData("auto", false, "sync", "auto", 0, 2, 4, 2, "actors")]         // slices asked for: the parameter server's
    [InlineData("auto", false, "sync", "1", 0, 2, 0, 1, "actors")]            // a worker count asked for: the actor runtime
    [InlineData("auto", false, "sync", "0", 0, 2, 0, 2, "actors")]
    [InlineData("auto", false, "sync", "2", 0, 2, 0, 2, "actors")]
    [InlineData("auto", false, "async", "auto", 0, 2, 0, 1, "actors")]        // async needs the parameter server's actors
    [InlineData("auto", true, "sync", "auto", 0, 2, 0, 2, "actors")]          // a cluster coordinator
    [InlineData("actors", false, "sync", "auto", 0, 2, 0, 2, "actors")]       // an explicit runtime stays
    [InlineData("in-process", false, "sync", "auto", 0, 2, 0, 16, "in-process")]
    public void Auto_on_the_cpu_is_in_process_when_the_layout_is_the_in_process_partition(
        string configured, bool cluster, string mode, string workers, int threads, int shards, int slices, int cores, string expected) =>
        Assert.Equal(expected, Cpu.ResolveRuntime(configured, cluster, mode, Workers(workers), threads, shards, slices, cores));

    private static int Workers(string value) => value == "auto" ? ActorTrainer.Runtime.RuntimeOptions.AutoWorkers : int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);

    [Theory]
    [InlineData(0, "sync", false, "in-process")]      // the GPU alone: the whole step on the device
    [InlineData(2, "async", false, "actors")]         // CPU workers beside the GPU worker
    [InlineData(0, "async", false, "actors")]
    [InlineData(0, "sync", true, "actors")]
    public void Auto_with_a_gpu_is_in_process_when_the_gpu_trains_alone(int cpuWorkers, string mode, bool cluster, string expected) =>
        Assert.Equal(expected, new BackendSettings("cuda", new CudaOptions(), cpuWorkers).ResolveRuntime("auto", cluster, mode, ActorTrainer.Runtime.RuntimeOptions.AutoWorkers, 0, 2, 0, 16));

    /// <summary>`train` with the default 2 shards per batch in a process that sees one or two CPUs (DOTNET_PROCESSOR_COUNT,
    /// as in a container limited to them) runs in-process by default, and with four (2 workers × 2 threads) on the actor
    /// runtime — each with the same weights, and saying so in its log.</summary>
    [Fact]
    public void Train_runs_in_process_where_each_worker_would_have_one_thread_with_the_same_weights()
    {
        using var t = new TempDir();
        string[] auto = ["--set", "trainer.runtime=auto", "--set", "output.plots=false", "--set", "output.tensorboard=false"];
        var expected = new[]
        {
            (1, "in-process", "runtime in-process: 2 shards per step, one after another on 1 thread"),
            (2, "in-process", "runtime in-process: 2 shards per step, 2 side by side on 2 threads"),
            (4, "actors", "runtime actors: 2 workers x 2 threads, "),
        };
        string? digest = null;
        foreach (var (cores, runtime, logLine) in expected)
        {
            var dir = t[$"cores{cores}"];
            var run = Cli.Run(["train", "--run-dir", dir, .. Cli.Tiny, .. auto],
                              env: new Dictionary<string, string> { ["DOTNET_PROCESSOR_COUNT"] = cores.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            Assert.True(run.ExitCode == 0, run.Describe());
            Assert.Contains(logLine, run.Stderr);
            var s = RunDir.Summary(dir);
            Assert.Equal(runtime, s.GetProperty("runtime").GetString());
            Assert.Equal(2, s.GetProperty("shards_per_batch").GetInt32());
            if (runtime == "in-process") Assert.Equal(cores, s.GetProperty("threads").GetInt32());
            else Assert.Equal(2, s.GetProperty("threads_per_worker").GetInt32());
            var sha = s.GetProperty("weights_sha256").GetString();
            Assert.Equal(digest ?? sha, sha);
            digest = sha;
        }
    }
}
