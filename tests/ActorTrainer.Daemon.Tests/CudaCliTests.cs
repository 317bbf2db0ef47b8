using System.Globalization;
using System.Text.Json;
using ActorTrainer.Cuda;
using ActorTrainer.Daemon.Configuration;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A small MNIST directory (256 train / 500 test images) and one CPU run of a Dense(16) model on it, saved to
/// run/model, for the evaluate / predict tests of the GPU backend.</summary>
public sealed class SmallModelFixture : IDisposable
{
    private readonly TempDir _temp = new();

    /// <summary>The hidden layer that keeps every run of these tests small.</summary>
    public const string SmallLayers = "model.layers=[{type=dense,units=16,activation=relu},{type=dense,units=10,activation=softmax}]";

    /// <summary>Writes the data directory and trains on it once on the CPU.</summary>
    public SmallModelFixture()
    {
        DataDir = MnistDir.Write(_temp["mnist"], 256, 500);
        RunDir = _temp["run"];
        var r = Cli.Run(["train", "--run-dir", RunDir, .. CudaCliTests.Small(DataDir), "--set", "trainer.runtime=in-process"], 300);
        Assert.True(r.ExitCode == 0, r.Describe());
    }

    /// <summary>MNIST-format directory with the first 256 training and 500 test images.</summary>
    public string DataDir { get; }

    /// <summary>The CPU run's directory.</summary>
    public string RunDir { get; }

    /// <summary>Its saved model.</summary>
    public string ModelDir => Path.Combine(RunDir, "model");

    /// <summary>The IDX test images of <see cref="DataDir"/> (an input for predict).</summary>
    public string TestImages => Path.Combine(DataDir, "t10k-images-idx3-ubyte");

    /// <summary>Deletes the data and the run.</summary>
    public void Dispose() => _temp.Dispose();
}

/// <summary>The GPU backend from the command line (trainer.backend = cuda, trainer.cuda.*): config errors, the one-line
/// error of a machine without a GPU, training, resume and inference on ILGPU's CPU accelerator.</summary>
public sealed class CudaCliTests(SmallModelFixture fx) : IClassFixture<SmallModelFixture>
{
    private const int Watchdog = 120;
    private static readonly string[] NoGpuFragments = ["no CUDA device", "--set trainer.backend=cpu"];
    private static readonly string[] OnCpuAccelerator = ["--set", "trainer.backend=cuda", "--set", "trainer.cuda.accelerator=cpu"];

    /// <summary>True when this machine has a usable CUDA device (the no-GPU tests then have nothing to check).</summary>
    private static readonly Lazy<bool> HasGpu = new(() =>
    {
        try { using var rt = new CudaRuntime(new CudaOptions()); return true; }
        catch (CudaUnavailableException) { return false; }
    });

    /// <summary>Overrides of a tiny run of a Dense(16) model on <paramref name="dataDir"/> (trainer.runtime left at its
    /// default, auto), no plots or TensorBoard.</summary>
    public static string[] Small(string dataDir) =>
    [
        "--set", "data.dir=" + dataDir, "--set", "trainer.epochs=1",
        "--set", "output.plots=false", "--set", "output.tensorboard=false", "--set", SmallModelFixture.SmallLayers,
    ];

    /// <summary>Exit code 2, one "error:" line containing every fragment, and no stack trace.</summary>
    private static void AssertOneLine(CliResult r, params string[] fragments)
    {
        var err = Cli.AssertBadInput(r, fragments);
        Assert.True(err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 1, "expected one line on stderr\n" + r.Describe());
        Assert.DoesNotContain("   at ", err);
        Assert.DoesNotContain("internal error", err);
    }

    [Fact]
    public void Train_on_cuda_without_a_gpu_is_one_config_error_line_and_writes_nothing()
    {
        if (HasGpu.Value) return;                       // this machine has a GPU: nothing to refuse
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Cli.Tiny, "--set", "trainer.backend=cuda"], Watchdog);
        AssertOneLine(r, NoGpuFragments);
        Assert.DoesNotContain("in code:", r.Stderr + r.Stdout);       // the command line's own fallback only
        Assert.False(File.Exists(Path.Combine(t["run"], "summary.json")), "no summary.json without a GPU");
        Assert.False(Directory.Exists(t["run"]), "the device is opened before the run directory is created");
    }

    [Theory]
    [InlineData("trainer.backend=gpu", "trainer.backend", "cpu, cuda", "'gpu'")]
    [InlineData("trainer.cuda.accelerator=tpu", "trainer.cuda.accelerator", "cuda, cpu", "'tpu'")]
    [InlineData("trainer.cuda.device=-1", "trainer.cuda.device", ">= 0", "-1")]
    [InlineData("trainer.cuda.device=first", "trainer.cuda.device", "integer", "'first'")]
    [InlineData("trainer.cuda.tf32=maybe", "trainer.cuda.tf32", "true or false", "'maybe'")]
    public void Bad_backend_values_exit_2_naming_the_key_and_the_allowed_values(string set, string key, string allowed, string value)
    {
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Cli.Tiny, "--set", set], Watchdog);
        AssertOneLine(r, key, allowed, value);
        Assert.False(Directory.Exists(t["run"]), "a config error must not create the run directory");
    }

    [Theory]
    [InlineData("trainer.workers=2", "trainer.workers = auto or 1")]
    [InlineData("cluster.enabled=on", "cluster.enabled")]
    public void Cuda_with_several_actor_workers_or_a_cluster_is_refused_naming_the_keys(string set, string other)
    {
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["run"], "--set", "data.train-limit=256", "--set", "trainer.epochs=1",
                         "--set", "trainer.runtime=actors", "--set", "trainer.backend=cuda", "--set", set], Watchdog);
        AssertOneLine(r, "trainer.backend = cuda", other, "in-process");
    }

    [Theory]
    [InlineData("actors", "sync")]
    [InlineData("in-process", "sync")]
    public void Cpu_workers_next_to_the_gpu_need_the_async_actor_runtime(string runtime, string mode)
    {
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["run"], "--set", "data.train-limit=256", "--set", "trainer.epochs=1", "--set", "trainer.backend=cuda",
                         "--set", $"trainer.runtime={runtime}", "--set", $"trainer.mode={mode}", "--set", "trainer.cuda.cpu-workers=2"], Watchdog);
        AssertOneLine(r, "trainer.cuda.cpu-workers = 2", "trainer.mode = async", $"got {runtime}, {mode}");
        Assert.False(Directory.Exists(t["run"]));
    }

    [Fact]
    public void Cuda_on_the_actor_runtime_gets_as_far_as_opening_the_device()
    {
        if (HasGpu.Value) return;                       // this machine has a GPU: the device opens
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["run"], "--set", "data.train-limit=256", "--set", "trainer.epochs=1",
                         "--set", "trainer.runtime=actors", "--set", "trainer.backend=cuda"], Watchdog);
        AssertOneLine(r, "no CUDA device", "--set trainer.backend=cpu");
    }

    [Fact]
    public void Backend_keys_default_to_cpu_and_map_to_cuda_options()
    {
        var defaults = TrainSettings.From(ConfigLoader.Load(null, []));
        Assert.Equal("cpu", defaults.Backend);
        Assert.Equal(new CudaOptions(DeviceKind.Cuda, 0, false), defaults.ToCudaOptions());
        var set = TrainSettings.From(ConfigLoader.Load(null, ["trainer.runtime=in-process", "trainer.backend=CUDA",
                                                              "trainer.cuda.accelerator=cpu", "trainer.cuda.device=1", "trainer.cuda.tf32=on"]));
        Assert.Equal("cuda", set.Backend);
        Assert.Equal(new CudaOptions(DeviceKind.Cpu, 1, true), set.ToCudaOptions());
    }

    [Theory]
    [InlineData("trainer.backend=cuda", "in-process")]
    [InlineData("trainer.backend=cpu,trainer.workers=2", "actors")]      // the CPU's auto layout: AutoRuntimeTests
    [InlineData("trainer.backend=cuda,trainer.mode=async", "actors")]
    [InlineData("trainer.backend=cuda,trainer.mode=async,trainer.cuda.cpu-workers=1", "actors")]
    [InlineData("trainer.backend=cuda,trainer.runtime=actors", "actors")]
    [InlineData("trainer.backend=cpu,trainer.runtime=in-process", "in-process")]
    [InlineData("trainer.backend=cpu,cluster.enabled=on", "actors")]
    public void The_auto_runtime_keeps_a_gpu_training_alone_in_process_and_runs_the_rest_on_actors(string sets, string runtime)
    {
        var s = TrainSettings.From(ConfigLoader.Load(null, ["trainer.cuda.accelerator=cpu", .. sets.Split(',')]));
        Assert.Equal(runtime, s.Runtime);
        Assert.Equal("auto", TrainSettings.From(ConfigLoader.Load(null, [])).Config.GetString("trainer.runtime"));
    }

    [Fact]
    public void The_gpu_worker_warning_names_a_setting_that_runs_in_process_for_the_mode()
    {
        Assert.EndsWith("--set trainer.runtime=in-process keeps them on the device", ActorTrainer.Daemon.Commands.GpuBackend.ActorRuntimeWarning("sync"));
        // async cannot run in-process: the hint names the mode too (before: it named trainer.runtime=in-process alone, refused with async)
        Assert.Contains("--set trainer.mode=sync --set trainer.runtime=in-process", ActorTrainer.Daemon.Commands.GpuBackend.ActorRuntimeWarning("async"));
        var s = TrainSettings.From(ConfigLoader.Load(null, ["trainer.backend=cuda", "trainer.mode=sync", "trainer.runtime=in-process"]));
        Assert.Equal("in-process", s.Runtime);                                  // what the async hint asks for is accepted
    }

    [Fact]
    public void A_job_for_serve_with_the_cuda_backend_is_checked_as_train_checks_it()
    {
        using var bad = JsonDocument.Parse("""{"config": "trainer { epochs = 1 }", "set": {"trainer.backend": "cuda", "trainer.runtime": "actors", "trainer.workers": "3"}}""");
        var e = Assert.Throws<ConfigException>(() => ActorTrainer.Daemon.Service.JobSubmission.Validate(bad.RootElement));
        Assert.Contains("trainer.backend = cuda", e.Message);
        Assert.Contains("trainer.workers", e.Message);
        using var wrong = JsonDocument.Parse("""{"set": {"trainer.cuda.device": "-1"}}""");
        Assert.Contains("trainer.cuda.device", Assert.Throws<ConfigException>(() => ActorTrainer.Daemon.Service.JobSubmission.Validate(wrong.RootElement)).Message);

        // accepted without opening a device (the train child opens it and fails with the one-line error if there is none)
        using var ok = JsonDocument.Parse("""{"set": {"trainer.backend": "cuda", "trainer.runtime": "in-process", "trainer.cuda.accelerator": "cpu"}}""");
        var job = ActorTrainer.Daemon.Service.JobSubmission.Validate(ok.RootElement);
        var s = TrainSettings.From(ConfigLoader.LoadText(job.ConfigText, "job", []));
        Assert.Equal(("cuda", DeviceKind.Cpu), (s.Backend, s.ToCudaOptions().Accelerator));
    }

    [Fact]
    public void Evaluate_and_predict_on_cuda_without_a_gpu_are_one_config_error_line_advising_their_own_command()
    {
        if (HasGpu.Value) return;
        foreach (var (command, input) in new[] { ("evaluate", new[] { "--data", fx.DataDir }), ("predict", ["--input", fx.TestImages]) })
        {
            var r = Cli.Run([command, "--model", fx.ModelDir, .. input, "--set", "trainer.backend=cuda"], Watchdog);
            AssertOneLine(r, "no CUDA device", $"; {command} on the CPU instead with --set trainer.backend=cpu");
            // before: "train on the CPU instead", advice for the train command
            Assert.DoesNotMatch(@"\btrain\b", r.Stderr);
        }
    }

    [Theory]
    [InlineData("evaluate", "trainer.epochs=3", "evaluate does not read 'trainer.epochs'")]
    [InlineData("predict", "trainer.runtime=actors", "predict does not read 'trainer.runtime'")]
    [InlineData("evaluate", "trainer.backendd=cuda", "unknown key 'trainer.backendd'")]
    [InlineData("predict", "trainer.backend=gpu", "trainer.backend must be one of cpu, cuda")]
    public void Evaluate_and_predict_refuse_set_keys_they_do_not_read(string command, string set, string fragment)
    {
        string[] input = command == "predict" ? ["--input", fx.TestImages] : ["--data", fx.DataDir];
        AssertOneLine(Cli.Run([command, "--model", fx.ModelDir, .. input, "--set", set], Watchdog), fragment);
    }

    [Fact]
    public void Evaluate_on_cpu_writes_backend_cpu_into_evaluation_json()
    {
        var r = Cli.Run(["evaluate", "--model", fx.ModelDir, "--data", fx.DataDir, "--set", "trainer.backend=cpu", "--json"], Watchdog);
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Equal("cpu", JsonLine(r).GetProperty("backend").GetString());
    }

    [Fact]
    public void A_resumed_run_on_the_device_ends_with_the_uninterrupted_weights()
    {
        using var t = new TempDir();
        string[] two = [.. Small(fx.DataDir), .. OnCpuAccelerator, "--set", "trainer.epochs=2", "--set", "output.plots=false"];
        var full = Cli.Run(["train", "--run-dir", t["full"], .. two], 600);
        Assert.True(full.ExitCode == 0, full.Describe());
        var first = Cli.Run(["train", "--run-dir", t["cut"], .. two, "--set", "trainer.epochs=1"], 600);
        Assert.True(first.ExitCode == 0, first.Describe());
        var resumed = Cli.Run(["train", "--resume", t["cut"], "--set", "trainer.epochs=2"], 600);
        Assert.True(resumed.ExitCode == 0, resumed.Describe());
        Assert.Equal(RunDir.Summary(t["full"]).GetProperty("weights_sha256").GetString(),
                     RunDir.Summary(t["cut"]).GetProperty("weights_sha256").GetString());
        Assert.Equal("cuda", RunDir.Summary(t["cut"]).GetProperty("backend").GetString());
    }

    [Fact]
    public void Trains_on_the_cpu_accelerator_and_its_model_evaluates_alike_on_both_backends()
    {
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Small(fx.DataDir), .. OnCpuAccelerator], 600);
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Contains("backend: cuda on ILGPU CPU accelerator", r.Stderr + r.Stdout);
        Assert.DoesNotContain("trainer.runtime = actors", r.Stderr + r.Stdout);     // in-process: no warning
        var summary = RunDir.Summary(t["run"]);
        Assert.Equal("in-process", summary.GetProperty("runtime").GetString());  // what trainer.runtime = auto picks for a GPU alone
        Assert.Equal("cuda", summary.GetProperty("backend").GetString());
        Assert.Equal("ILGPU CPU accelerator", summary.GetProperty("device").GetString());
        Assert.InRange(summary.GetProperty("test_accuracy").GetDouble(), 0.0, 1.0);
        AssertEvaluatesAlike(Path.Combine(t["run"], "model"));
    }

    [Fact]
    public void The_gpu_alone_on_the_actor_runtime_trains_with_a_warning_naming_the_in_process_runtime()
    {
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Small(fx.DataDir), .. OnCpuAccelerator, "--set", "trainer.runtime=actors"], 600);
        Assert.True(r.ExitCode == 0, r.Describe());
        var warning = (r.Stderr + r.Stdout).Split('\n').Single(l => l.Contains("trainer.runtime = actors"));
        Assert.Contains("warn", warning);
        Assert.Contains("--set trainer.runtime=in-process", warning);
        Assert.Equal("cuda", RunDir.Summary(t["run"]).GetProperty("backend").GetString());
    }

    [Fact]
    public void A_cpu_trained_model_evaluates_and_predicts_alike_on_the_cpu_accelerator()
    {
        AssertEvaluatesAlike(fx.ModelDir);
        var cpu = Cli.Run(["predict", "--model", fx.ModelDir, "--input", fx.TestImages], Watchdog);
        var gpu = Cli.Run(["predict", "--model", fx.ModelDir, "--input", fx.TestImages, .. OnCpuAccelerator], 600);
        Assert.True(cpu.ExitCode == 0 && gpu.ExitCode == 0, cpu.Describe() + "\n" + gpu.Describe());
        var labels = (CliResult x) => x.StdoutLines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("label").GetInt32()).ToArray();
        var (a, b) = (labels(cpu), labels(gpu));
        Assert.Equal(a.Length, b.Length);
        Assert.True(a.Zip(b).Count(p => p.First != p.Second) <= a.Length / 50, "predicted labels differ on more than 2 % of the images");
    }

    /// <summary>evaluate --json of <paramref name="modelDir"/> on the CPU and on the CPU accelerator: test accuracy
    /// within 0.02, and evaluation.json names the backend.</summary>
    private void AssertEvaluatesAlike(string modelDir)
    {
        var cpu = Cli.Run(["evaluate", "--model", modelDir, "--data", fx.DataDir, "--json"], Watchdog);
        var gpu = Cli.Run(["evaluate", "--model", modelDir, "--data", fx.DataDir, "--json", .. OnCpuAccelerator], 600);
        Assert.True(cpu.ExitCode == 0 && gpu.ExitCode == 0, cpu.Describe() + "\n" + gpu.Describe());
        var (c, g) = (JsonLine(cpu), JsonLine(gpu));
        Assert.Equal("cuda", g.GetProperty("backend").GetString());
        Assert.InRange(g.GetProperty("test_accuracy").GetDouble(), c.GetProperty("test_accuracy").GetDouble() - 0.02,
                       c.GetProperty("test_accuracy").GetDouble() + 0.02);
        using var saved = JsonDocument.Parse(File.ReadAllText(Path.Combine(modelDir, "evaluation.json")));
        Assert.Equal("cuda", saved.RootElement.GetProperty("backend").GetString());
    }

    private static JsonElement JsonLine(CliResult r)
    {
        using var d = JsonDocument.Parse(r.StdoutLines.Single());
        return d.RootElement.Clone();
    }
}
