namespace ActorTrainer.Bench;

/// <summary>What the status requests of <see cref="ServiceWindowsBench"/> cost: request rate, latencies and the
/// extra CPU seconds of the daemon, the trainer and the load generator in the loaded windows over the quiet ones,
/// per 1000 requests.</summary>
internal static class ServiceWindowsCost
{
    /// <summary>Prints the request rate and CPU per 1000 requests.</summary>
    public static void Print(List<LoadWindow> windows)
    {
        var on = windows.Where(w => w.On).ToList();
        var off = windows.Where(w => !w.On).ToList();
        if (on.Count == 0 || off.Count == 0) return;
        var requests = on.Sum(w => w.Requests);
        var seconds = on.Sum(w => w.End - w.Start);
        var latencies = on.SelectMany(w => w.LatencyMs).ToList();
        Console.WriteLine($"requests {requests} in {seconds:F0} s of loaded windows: {requests / seconds:F0}/s, " +
                          $"latency p50 {ServiceBench.Pct(latencies, 50):F1} ms, p99 {ServiceBench.Pct(latencies, 99):F1} ms");
        Console.WriteLine($"CPU s per second, off -> on: daemon {PerSecond(off, w => w.DaemonCpu):F3} -> {PerSecond(on, w => w.DaemonCpu):F3}, " +
                          $"trainer {PerSecond(off, w => w.TrainerCpu):F3} -> {PerSecond(on, w => w.TrainerCpu):F3}, " +
                          $"load generator {PerSecond(off, w => w.ClientCpu):F3} -> {PerSecond(on, w => w.ClientCpu):F3}");
        if (requests == 0) return;
        double Per1000(Func<LoadWindow, double> cpu) => (PerSecond(on, cpu) - PerSecond(off, cpu)) * seconds / requests * 1000;
        Console.WriteLine($"extra CPU s per 1000 requests: daemon {Per1000(w => w.DaemonCpu):F3}, load generator {Per1000(w => w.ClientCpu):F3}");
    }

    private static double PerSecond(List<LoadWindow> ws, Func<LoadWindow, double> cpu) => ws.Sum(cpu) / ws.Sum(w => w.End - w.Start);
}
