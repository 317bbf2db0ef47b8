using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A second SIGTERM that arrives while a stopped run writes its outputs (outside training) ends the process
/// with exit 143, as its line "stopped before completion (exit code 143)" says; it never prints that line and then
/// exits 0. The outputs it leaves are whole (atomic writes).</summary>
public sealed class SecondSignalTests
{
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [UnixFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_sigterm_while_the_outputs_are_written_exits_143_as_its_message_says()
    {
        using var t = new TempDir();
        using var p = Cli.Start(["train", "--run-dir", t["run"], "--set", "data.test-limit=500", "--set", "trainer.epochs=3",
                                 "--set", "trainer.runtime=in-process", "--set", "trainer.checkpoint.every-steps=25",
                                 "--set", "output.plots=false", "--set", "output.tensorboard=false"]);
        var output = new StringBuilder();
        var writing = new ManualResetEventSlim();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
            if (e.Data.StartsWith("interrupted after", StringComparison.Ordinal)) writing.Set();   // WriteOutputs has begun
        };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine("stderr: " + e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        try
        {
            Cli.WaitForFirstCheckpoint(p, t["run"]);
            Assert.Equal(0, Kill(p.Id, 15));                                        // stops training gracefully
            Assert.True(writing.Wait(TimeSpan.FromSeconds(60)), "the stopped run did not begin its outputs");
            Assert.Equal(0, Kill(p.Id, 15));                                        // outside training: ends the process
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(10)), "train did not exit within 10 s of the second SIGTERM");
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        p.WaitForExit();
        string text;
        lock (output) text = output.ToString();
        if (text.Contains("stopped before completion (exit code 143)")) Assert.True(p.ExitCode == 143, $"exit {p.ExitCode}\n{text}");
        else Assert.True(p.ExitCode == 0 && !text.Contains("stderr: error:"), $"exit {p.ExitCode}\n{text}");   // the signal came after the end
        var summary = Path.Combine(t["run"], "summary.json");
        if (File.Exists(summary)) JsonDocument.Parse(File.ReadAllText(summary)).Dispose();   // whole, never half-written
    }
}
