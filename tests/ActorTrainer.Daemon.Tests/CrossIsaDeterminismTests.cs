using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>
/// The cross-machine determinism contract end to end: the same training gives the same <c>weights_sha256</c> whether
/// the JIT may use AVX-512, only AVX2, only SSE, or no hardware intrinsics at all (the scalar paths). Each run is a
/// separate process with the DOTNET_Enable* switches, so every kernel path a machine of another type would take
/// is exercised here: GEMM panel kernels and the narrow dot path, exp/log/tanh/sigmoid, softmax, losses, dropout,
/// shard sums and optimizer updates. And whether the code runs precompiled (the Release build's ReadyToRun images)
/// or JIT-compiled (DOTNET_ReadyToRun=0).
/// </summary>
public class CrossIsaDeterminismTests
{
    private static readonly string[] Common =
    [
        "--set", "trainer.epochs=2", "--set", "trainer.batch-size=128", "--set", "output.plots=false",
        "--set", "output.tensorboard=false", "--set", "output.save-model=false",
    ];

    /// <summary>Every activation with a transcendental function, dropout, and a k = 64 → 10 layer (narrow dot path).</summary>
    private static readonly string[] MixedModel =
    [
        "--set", "data.train-limit=384", "--set", "data.test-limit=128",
        "--set", "model.layers=[{type=dense,units=64,activation=tanh},{type=dropout,rate=0.25},"
                 + "{type=dense,units=64,activation=sigmoid},{type=dense,units=10,activation=softmax}]",
    ];

    /// <summary>The reference model's shapes (784 → 512 → 10) on a few batches.</summary>
    private static readonly string[] ReferenceModel = ["--set", "data.train-limit=256", "--set", "data.test-limit=128"];

    public static IEnumerable<object[]> Layouts() =>
    [
        ["mixed", "in-process"],
        ["mixed", "actors"],
        ["reference", "in-process"],
    ];

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Weights_are_identical_on_the_avx512_avx2_sse_and_scalar_paths(string model, string runtime)
    {
        string[] args = [.. Common, .. model == "mixed" ? MixedModel : ReferenceModel, "--set", $"trainer.runtime={runtime}",
                         "--set", "trainer.workers=2", "--set", "trainer.shards-per-batch=2"];
        // .NET 10 turns AVX-512 off with DOTNET_EnableAVX512=0; the older DOTNET_EnableAVX512F=0 is set too (earlier
        // runtimes) but alone no longer has an effect. Each run's summary says which kernels ran (cpu_simd), so a
        // switch that stops working fails here instead of silently testing the default path twice.
        string best = ActorTrainer.Kernels.ManagedGemm.AutoLevelName;
        var switches = new (string Name, Dictionary<string, string> Env, string Simd)[]
        {
            ("default", new(), best),
            ("DOTNET_EnableAVX512=0", new() { ["DOTNET_EnableAVX512"] = "0", ["DOTNET_EnableAVX512F"] = "0" },
             best == "avx512" ? "avx2" : best),
            ("DOTNET_EnableAVX2=0", new() { ["DOTNET_EnableAVX2"] = "0" }, "scalar"),
            ("DOTNET_EnableHWIntrinsic=0", new() { ["DOTNET_EnableHWIntrinsic"] = "0" }, "scalar"),
            // the Release build's ReadyToRun images ignored: every method JIT-compiled, as in a Debug build
            ("DOTNET_ReadyToRun=0", new() { ["DOTNET_ReadyToRun"] = "0" }, best),
        };
        string? expected = null;
        foreach (var (name, env, simd) in switches)
        {
            using var t = new TempDir();
            var r = Cli.Run(["train", "--run-dir", t["run"], .. args], 300, env);
            Assert.True(r.ExitCode == 0, $"{name}: {r.Describe()}");
            var summary = RunDir.Summary(t["run"]);
            string ran = summary.GetProperty("cpu_simd").GetString()!;
            Assert.True(ran == simd, $"{name}: the run's kernels were {ran}, expected {simd} (does the switch still work?)");
            string sha = summary.GetProperty("weights_sha256").GetString()!;
            expected ??= sha;
            Assert.True(sha == expected, $"{model}/{runtime}: {name} gives weights_sha256 {sha}, the default run {expected}");
        }
    }
}
