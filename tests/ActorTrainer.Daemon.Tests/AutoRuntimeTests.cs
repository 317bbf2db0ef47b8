using ActorTrainer.Cuda;
using ActorTrainer.Daemon.Configuration;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>What `trainer.runtime = auto` resolves to: in-process for a GPU training alone and for the auto layout on a
/// one-core CPU (one worker of one thread: nothing for the actors to run side by side), else the actor runtime; an
/// explicit runtime, worker count or thread count is kept.</summary>
public class AutoRuntimeTests
{
    private static readonly BackendSettings Cpu = new("cpu", new CudaOptions());

    [Theory]
    [InlineData("auto", false, "sync", "auto", 0, 1, "in-process")]     // one core, the auto layout: 1 worker x 1 thread
    [InlineData("auto", false, "sync", "auto", 1, 1, "in-process")]     // one thread asked for: the same layout
    [InlineData("auto", false, "sync", "auto", 0, 2, "actors")]         // two cores: 2 workers side by side
    [InlineData("auto", false, "sync", "auto", 0, 16, "actors")]
    [InlineData("auto", false, "sync", "1", 0, 1, "actors")]            // a worker count asked for: the actor runtime
    [InlineData("auto", false, "sync", "0", 0, 1, "actors")]
    [InlineData("auto", false, "sync", "auto", 2, 1, "actors")]         // threads per worker asked for
    [InlineData("auto", false, "async", "auto", 0, 1, "actors")]        // async needs the parameter server's actors
    [InlineData("auto", true, "sync", "auto", 0, 1, "actors")]          // a cluster coordinator
    [InlineData("actors", false, "sync", "auto", 0, 1, "actors")]       // an explicit runtime stays
    [InlineData("in-process", false, "sync", "auto", 0, 2, "in-process")]
    public void Auto_on_the_cpu_is_in_process_only_for_the_auto_layout_on_one_core(
        string configured, bool cluster, string mode, string workers, int threads, int cores, string expected) =>
        Assert.Equal(expected, Cpu.ResolveRuntime(configured, cluster, mode, Workers(workers), threads, cores));

    private static int Workers(string value) => value == "auto" ? ActorTrainer.Runtime.RuntimeOptions.AutoWorkers : int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);

    [Theory]
    [InlineData(0, "sync", false, "in-process")]      // the GPU alone: the whole step on the device
    [InlineData(2, "async", false, "actors")]         // CPU workers beside the GPU worker
    [InlineData(0, "async", false, "actors")]
    [InlineData(0, "sync", true, "actors")]
    public void Auto_with_a_gpu_is_in_process_when_the_gpu_trains_alone(int cpuWorkers, string mode, bool cluster, string expected) =>
        Assert.Equal(expected, new BackendSettings("cuda", new CudaOptions(), cpuWorkers).ResolveRuntime("auto", cluster, mode, ActorTrainer.Runtime.RuntimeOptions.AutoWorkers, 0, 16));

    /// <summary>`train` in a process that sees one CPU (DOTNET_PROCESSOR_COUNT=1, as in a container limited to one core)
    /// runs in-process by default, with the weights of the actor runtime's run of the same config.</summary>
    [Fact]
    public void Train_on_one_core_runs_in_process_with_the_actor_runtimes_weights()
    {
        using var t = new TempDir();
        string[] auto = ["--set", "trainer.runtime=auto", "--set", "output.plots=false", "--set", "output.tensorboard=false"];
        var one = Cli.Run(["train", "--run-dir", t["one"], .. Cli.Tiny, .. auto], env: new Dictionary<string, string> { ["DOTNET_PROCESSOR_COUNT"] = "1" });
        Assert.True(one.ExitCode == 0, one.Describe());
        Cli.Train(t["actors"], [.. auto, "--set", "trainer.runtime=actors", "--set", "trainer.workers=2"]);
        var s = RunDir.Summary(t["one"]);
        Assert.Equal("in-process", s.GetProperty("runtime").GetString());
        Assert.Equal(1, s.GetProperty("workers").GetInt32());
        var actors = RunDir.Summary(t["actors"]);
        Assert.Equal("actors", actors.GetProperty("runtime").GetString());
        Assert.Equal(actors.GetProperty("weights_sha256").GetString(), s.GetProperty("weights_sha256").GetString());
    }
}
