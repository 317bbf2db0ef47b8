using System.Diagnostics;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A CLI process (a cluster's worker node or coordinator) and the lines it printed so far.</summary>
internal sealed class CapturedProcess : IDisposable
{
    private readonly List<string> _lines = new();
    public Process Process { get; }

    /// <summary>A worker node (one worker, one thread) joining the coordinator at 127.0.0.1:seedPort, with more --set pairs.</summary>
    public static CapturedProcess Worker(int seedPort, params string[] extra) =>
        new(["worker", "--set", ClusterCliTests.Seed(seedPort), "--set", "worker.workers=1", "--set", "worker.threads-per-worker=1", .. extra]);

    public CapturedProcess(IEnumerable<string> args)
    {
        Process = Cli.Start(args);
        Process.OutputDataReceived += (_, e) => { if (e.Data is { } l) lock (_lines) _lines.Add(l); };
        Process.ErrorDataReceived += (_, e) => { if (e.Data is { } l) lock (_lines) _lines.Add(l); };
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public int Count(string fragment) { lock (_lines) return _lines.Count(l => l.Contains(fragment, StringComparison.Ordinal)); }

    public string Text { get { lock (_lines) return string.Join('\n', _lines); } }

    public bool WaitFor(string fragment, int times, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (Count(fragment) < times && DateTime.UtcNow < until && !Process.HasExited) Thread.Sleep(10);
        // a process that printed the fragment and exited at once: its last lines may still be on their way to us
        if (Process.HasExited) Process.WaitForExit();
        return Count(fragment) >= times;
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Cli.Signal(Process, "CONT");
            Process.Kill(entireProcessTree: true);
        }
        Process.WaitForExit();
        Process.Dispose();
    }
}
