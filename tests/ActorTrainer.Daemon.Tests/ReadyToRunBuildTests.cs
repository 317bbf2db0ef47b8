using System.Diagnostics;
using System.Reflection.PortableExecutable;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>
/// A Release build of the daemon leaves ReadyToRun (precompiled) images in its output folder
/// (src/ActorTrainer.Daemon/ReadyToRun.targets), so every `train`, `worker` and `serve` process starts without
/// JIT-compiling Akka, DotNetty and our own code first — except our compute assemblies (Core, Kernels), which stay IL
/// so that, with tiered compilation off, the training step runs the JIT's code for the CPU at hand; a Debug build
/// leaves the plain IL assemblies. The test reads each assembly's CLI header: a ReadyToRun image carries a managed
/// native header, an IL-only assembly does not.
/// The opt-out switch `-p:ReadyToRun` takes MSBuild booleans only; anything else stops the build naming the value.
/// </summary>
public class ReadyToRunBuildTests
{
    private static readonly string[] Assemblies =
    [
        "ActorTrainer.Daemon.dll", "ActorTrainer.Runtime.dll", "ActorTrainer.Interop.dll", "Akka.dll", "Akka.Remote.dll",
        "Akka.Cluster.dll", "DotNetty.Transport.dll", "FSharp.Core.dll", "Google.Protobuf.dll",
    ];

    /// <summary>Compiled by the JIT in every configuration (ReadyToRun.targets' PublishReadyToRunExclude).</summary>
    private static readonly string[] JitCompiled = ["ActorTrainer.Core.dll", "ActorTrainer.Kernels.dll"];

    [Fact]
    public void A_Release_build_of_the_daemon_holds_ReadyToRun_images_of_itself_our_libraries_and_Akka()
    {
        var dir = Path.GetDirectoryName(Cli.DaemonDll)!;
        var configuration = Path.GetFileName(Path.GetDirectoryName(dir))!;
        bool release = configuration == "Release";
        foreach (var name in JitCompiled)
            Assert.False(IsReadyToRun(Path.Combine(dir, name)),
                $"'{Path.Combine(dir, name)}' is a ReadyToRun image in a {configuration} build; our compute assemblies stay IL (ReadyToRun.targets)");
        foreach (var name in Assemblies)
        {
            var path = Path.Combine(dir, name);
            bool readyToRun = IsReadyToRun(path);
            Assert.True(readyToRun == release,
                $"'{path}' is {(readyToRun ? "a ReadyToRun image" : "IL only")} in a {configuration} build; expected " +
                (release ? "ReadyToRun (was the build run with -p:ReadyToRun=false, or did ReadyToRun.targets not run?)" : "IL only"));
        }
    }

    private static bool IsReadyToRun(string path)
    {
        using var pe = new PEReader(File.OpenRead(path));
        var cor = pe.PEHeaders.CorHeader ?? throw new Xunit.Sdk.XunitException($"'{path}' is not a .NET assembly");
        return cor.ManagedNativeHeaderDirectory.Size > 0;
    }

    [Theory]
    [InlineData("flase", false)]
    [InlineData("maybe", false)]
    [InlineData("true", true)]
    [InlineData("False", true)]     // MSBuild compares property values case-insensitively
    [InlineData("off", true)]       // and reads on/off and yes/no as booleans (off: not precompiled, as false)
    public async Task A_ReadyToRun_switch_that_is_not_a_boolean_stops_the_build_naming_it(string value, bool accepted)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Cli.RepoRoot };
        foreach (var a in new[] { "msbuild", Path.Combine("src", "ActorTrainer.Daemon", "ActorTrainer.Daemon.csproj"), "-nologo", "-v:q", "-nodeReuse:false",
                     "-t:CheckReadyToRunSwitch", "-p:Configuration=Release", $"-p:ReadyToRun={value}" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), "msbuild did not finish within 120 s");
        string output = await stdout + await stderr;
        if (accepted) Assert.True(p.ExitCode == 0, $"-p:ReadyToRun={value} was refused: {output}");
        else
        {
            Assert.NotEqual(0, p.ExitCode);
            Assert.Contains($"-p:ReadyToRun must be true or false", output);
            Assert.Contains($"got '{value}'", output);
        }
    }
}
