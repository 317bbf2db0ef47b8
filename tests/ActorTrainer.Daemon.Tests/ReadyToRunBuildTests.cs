using System.Reflection.PortableExecutable;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>
/// A Release build of the daemon leaves ReadyToRun (precompiled) images in its output folder
/// (src/ActorTrainer.Daemon/ReadyToRun.targets), so every `train`, `worker` and `serve` process starts without
/// JIT-compiling Akka, DotNetty and our own code first; a Debug build leaves the plain IL assemblies. The test reads
/// each assembly's CLI header: a ReadyToRun image carries a managed native header, an IL-only assembly does not.
/// </summary>
public class ReadyToRunBuildTests
{
    private static readonly string[] Assemblies =
    [
        "ActorTrainer.Daemon.dll", "ActorTrainer.Runtime.dll", "ActorTrainer.Core.dll", "ActorTrainer.Kernels.dll",
        "ActorTrainer.Interop.dll", "Akka.dll", "Akka.Remote.dll", "Akka.Cluster.dll", "DotNetty.Transport.dll",
        "FSharp.Core.dll", "Google.Protobuf.dll",
    ];

    [Fact]
    public void A_Release_build_of_the_daemon_holds_ReadyToRun_images_of_itself_our_libraries_and_Akka()
    {
        var dir = Path.GetDirectoryName(Cli.DaemonDll)!;
        var configuration = Path.GetFileName(Path.GetDirectoryName(dir))!;
        bool release = configuration == "Release";
        foreach (var name in Assemblies)
        {
            var path = Path.Combine(dir, name);
            using var pe = new PEReader(File.OpenRead(path));
            var cor = pe.PEHeaders.CorHeader ?? throw new Xunit.Sdk.XunitException($"'{path}' is not a .NET assembly");
            bool readyToRun = cor.ManagedNativeHeaderDirectory.Size > 0;
            Assert.True(readyToRun == release,
                $"'{path}' is {(readyToRun ? "a ReadyToRun image" : "IL only")} in a {configuration} build; expected " +
                (release ? "ReadyToRun (was the build run with -p:ReadyToRun=false, or did ReadyToRun.targets not run?)" : "IL only"));
        }
    }
}
