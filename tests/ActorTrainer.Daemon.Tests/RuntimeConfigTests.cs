using System.Text.Json;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>
/// The runtime settings the daemon's processes start with (its runtimeconfig.json, written by the build from
/// Directory.Build.props and the daemon's project): each was measured to matter for training speed, so losing one in a
/// project edit fails here rather than silently in the benchmarks (bench/RESULTS.md names the measurements).
/// </summary>
public class RuntimeConfigTests
{
    [Theory]
    [InlineData("System.Runtime.TieredCompilation", "false")]                          // the step compiled once, on the warm-up thread
    [InlineData("System.Runtime.TieredCompilation.CallCountThreshold", "200")]        // Akka's cluster code is not recompiled on the training cores
    [InlineData("System.Runtime.TieredCompilation.QuickJitForLoops", "false")]        // kernels optimized at their first call
    [InlineData("System.Runtime.TieredPGO", "false")]                                  // no instrumented tier in between
    [InlineData("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", "0")]          // idle pool threads leave the cores to the workers
    [InlineData("System.GC.LOHThreshold", "4194304")]                                  // 0.25–1.6 MB tensors die young in gen0
    public void The_daemon_starts_with_the_measured_runtime_settings(string key, string expected)
    {
        var path = Path.ChangeExtension(Cli.DaemonDll, ".runtimeconfig.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var properties = doc.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.True(properties.TryGetProperty(key, out var value), $"'{path}' has no {key}");
        Assert.Equal(expected, value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText());
    }

    /// <summary>The benchmarks import the daemon's JIT settings (src/ActorTrainer.Daemon/JitSettings.props), so that
    /// what they measure runs as `train` does (with tiering, the scaling benchmark's actor runtime measured ~3 % slower
    /// against in-process). `dotnet test` does not build the benchmarks, so their project file is what is checked.</summary>
    [Theory]
    [InlineData("src/ActorTrainer.Daemon/ActorTrainer.Daemon.csproj", "JitSettings.props")]
    [InlineData("bench/ActorTrainer.Bench/ActorTrainer.Bench.csproj", "../../src/ActorTrainer.Daemon/JitSettings.props")]
    public void The_daemon_and_the_benchmarks_import_the_jit_settings(string project, string import)
    {
        var path = Path.Combine(Cli.RepoRoot, project);
        var imports = System.Xml.Linq.XDocument.Load(path).Root!.Elements("Import").Select(e => (string?)e.Attribute("Project"));
        Assert.True(imports.Contains(import), $"'{path}' does not import '{import}'");
        Assert.True(File.Exists(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, import))), $"'{import}' (from '{path}') does not exist");
    }
}
