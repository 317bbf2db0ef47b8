using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace ActorTrainer.Bench;

/// <summary>
/// `service --windows`: the cost of status traffic measured inside ONE long job, so that the machine's slow drift
/// and the run-to-run spread of whole jobs cancel out. Starts `serve`, submits a long job (full MNIST, test-limit
/// 1000, no plots or model; TensorBoard batch scalars every --tb-every steps, which carry the trainer's wall time
/// and global step), waits for its first epoch, then toggles the load (N clients, each GET /jobs/{id} every
/// --interval-ms) on and off in --pairs adjacent pairs of windows of --window-s seconds, the order alternating
/// (off, on), (on, off), ..., after one unmeasured warm-up window of load. Each window starts with --settle-s seconds that are not measured. Then it cancels the
/// job and reads the trainer's step trace: steps/s per window, and the slowdown as the median over the pairs of
/// (off − on) / off, with a bootstrap 95 % interval and a sign test; also requests, latencies and the CPU seconds of
/// the daemon, the trainer and the load generator (this process) per window.
/// Usage: service --windows [--pairs 20] [--window-s 3] [--settle-s 0.5] [--clients 200] [--interval-ms 1000]
///        [--epochs 200] [--tb-every 10] [--client-nice 0] [--client httpclient|raw] [--dll PATH]
/// </summary>
public static class ServiceWindowsBench
{
    private sealed record Options(int Pairs, double WindowS, double SettleS, int Clients, int Interval, int Epochs, int TbEvery, int ClientNice,
        string ClientKind = "httpclient", int Port = 0);

    /// <summary>Runs the benchmark; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        string Opt(string name, string dflt) => ServiceBench.Option(args, name, dflt);
        var inv = CultureInfo.InvariantCulture;
        var o = new Options(int.Parse(Opt("pairs", "20"), inv), double.Parse(Opt("window-s", "3"), inv), double.Parse(Opt("settle-s", "0.5"), inv),
                            int.Parse(Opt("clients", "200"), inv), int.Parse(Opt("interval-ms", "1000"), inv), int.Parse(Opt("epochs", "200"), inv),
                            int.Parse(Opt("tb-every", "10"), inv), int.Parse(Opt("client-nice", "0"), inv), Opt("client", "httpclient"));
        if (o.ClientKind is not ("httpclient" or "raw")) { Console.Error.WriteLine($"--client must be httpclient or raw, got '{o.ClientKind}'"); return 2; }
        if (ServiceBench.DaemonDll(Opt("dll", "")) is not { } dll) return 2;
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, {ProcCpu.Model()}, {Environment.ProcessorCount} CPUs, /proc/loadavg {ProcCpu.LoadAverage()}");
        Console.WriteLine($"daemon {dll}");
        Console.WriteLine($"{o.Pairs} pairs of {o.WindowS} s windows (+{o.SettleS} s settling each), {o.Clients} clients every {o.Interval} ms, " +
                          $"client nice {o.ClientNice}, client {o.ClientKind}, TensorBoard batch scalars every {o.TbEvery} steps");
        var root = Path.Combine(Path.GetTempPath(), "actortrainer-servicebench-" + Guid.NewGuid().ToString("N"));
        var port = ServiceBench.FreePort();
        using var daemon = ServiceBench.StartDaemon(dll, port, root);
        using var http = ServiceBench.Client(port, o.Clients);
        try
        {
            ServiceBench.WaitHealthy(http);
            var (id, runDir, trainerPid) = StartJob(http, o);
            var windows = Measure(http, id, daemon.Id, trainerPid, o with { Port = port });
            StopJob(http, id);
            Report(windows, StepTrace.Read(runDir));
            Console.WriteLine($"/proc/loadavg at the end {ProcCpu.LoadAverage()}");
            return 0;
        }
        finally
        {
            if (!daemon.HasExited) daemon.Kill(entireProcessTree: true);
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }

    /// <summary>Submits the long job and waits until its first epoch is done (start-up, data loading and JIT
    /// behind it); returns its id, run directory and trainer PID.</summary>
    private static (string Id, string RunDir, int Pid) StartJob(HttpClient http, Options o)
    {
        var job = new JsonObject
        {
            ["set"] = new JsonObject
            {
                ["trainer.epochs"] = o.Epochs.ToString(CultureInfo.InvariantCulture), ["data.test-limit"] = "1000", ["output.plots"] = "false",
                ["output.tensorboard"] = "true", ["output.tensorboard-every-steps"] = o.TbEvery.ToString(CultureInfo.InvariantCulture),
                ["output.save-model"] = "false",
            },
        };
        using var post = http.PostAsJsonAsync("jobs", job).GetAwaiter().GetResult();
        post.EnsureSuccessStatusCode();
        var created = JsonNode.Parse(post.Content.ReadAsStringAsync().GetAwaiter().GetResult())!;
        var id = created["id"]!.GetValue<string>();
        while (true)
        {
            var j = JsonNode.Parse(http.GetStringAsync("jobs/" + id).GetAwaiter().GetResult())!;
            var state = j["state"]!.GetValue<string>();
            if (state is not ("queued" or "running")) throw new InvalidOperationException($"job {id} {state}: {j["error"]}");
            if (j["epoch"]!.GetValue<int>() >= 1) return (id, created["run_dir"]!.GetValue<string>(), j["pid"]!.GetValue<int>());
            Thread.Sleep(250);
        }
    }

    private static List<LoadWindow> Measure(HttpClient http, string id, int daemonPid, int trainerPid, Options o)
    {
        var windows = new List<LoadWindow>();
        using ILoadGenerator load = o.ClientKind == "raw"
            ? new RawHttpLoad(o.Port, "jobs/" + id, o.Clients, o.Interval, o.ClientNice)
            : new ServiceLoad(http, "jobs/" + id, o.Clients, o.Interval, o.ClientNice);
        // warm-up, not measured: the first seconds of load JIT-compile the daemon's endpoints and open the clients'
        // connections, a one-time cost of a freshly started service (it showed as a 46 % slower first pair)
        load.On();
        Thread.Sleep(TimeSpan.FromSeconds(o.WindowS));
        load.Off();
        Thread.Sleep(TimeSpan.FromSeconds(o.SettleS));
        load.TakeLatencies();
        for (var p = 0; p < o.Pairs; p++)
            foreach (var on in p % 2 == 0 ? new[] { false, true } : [true, false])
            {
                if (on) load.On(); else load.Off();
                Thread.Sleep(TimeSpan.FromSeconds(o.SettleS));
                load.TakeLatencies();
                var (req, dc, tc, cc) = (load.Requests, ProcCpu.Seconds(daemonPid), ProcCpu.Seconds(trainerPid), ProcCpu.Seconds(Environment.ProcessId));
                var start = Now();
                Thread.Sleep(TimeSpan.FromSeconds(o.WindowS));
                var end = Now();
                windows.Add(new LoadWindow(windows.Count, on, start, end, load.Requests - req, ProcCpu.Seconds(daemonPid) - dc,
                                           ProcCpu.Seconds(trainerPid) - tc, ProcCpu.Seconds(Environment.ProcessId) - cc, load.TakeLatencies()));
            }
        load.Off();
        Thread.Sleep(TimeSpan.FromSeconds(1));   // the trainer's next step events bracket the last window's end
        if (load.Errors > 0) Console.WriteLine($"{load.Errors} requests failed");
        return windows;
    }

    private static double Now() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;

    /// <summary>Cancels the job (the trainer checkpoints, flushes its event files and exits) and waits for it.</summary>
    private static void StopJob(HttpClient http, string id)
    {
        http.PostAsync($"jobs/{id}/cancel", null).GetAwaiter().GetResult().Dispose();
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            var state = JsonNode.Parse(http.GetStringAsync("jobs/" + id).GetAwaiter().GetResult())!["state"]!.GetValue<string>();
            if (state is "cancelled" or "succeeded" or "failed") return;
            Thread.Sleep(250);
        }
        throw new TimeoutException($"job {id} did not stop within 120 s of its cancel");
    }

    private static void Report(List<LoadWindow> windows, StepTrace trace)
    {
        Console.WriteLine($"{trace.Count} step events");
        Console.WriteLine(" win  load  steps/s  in-epoch  requests  daemon cpu s  trainer cpu s  client cpu s  p50 ms  p99 ms");
        var t0 = windows[0].Start;
        foreach (var w in windows)
            Console.WriteLine($"{w.Index,4}  {(w.On ? "on " : "off")}  {trace.Rate(w.Start, w.End),7:F1}  {trace.InEpochRate(w.Start, w.End),8:F1}  {w.Requests,8}  " +
                              $"{w.DaemonCpu,12:F2}  {w.TrainerCpu,13:F2}  {w.ClientCpu,12:F2}  {ServiceBench.Pct(w.LatencyMs, 50),6:F1}  {ServiceBench.Pct(w.LatencyMs, 99),6:F1}   t+{w.Start - t0:F1} s");
        Summarize("whole window", windows, w => trace.Rate(w.Start, w.End));
        Summarize("in-epoch steps", windows, w => trace.InEpochRate(w.Start, w.End));
        ServiceWindowsCost.Print(windows);
    }

    private static void Summarize(string name, List<LoadWindow> windows, Func<LoadWindow, double> rate)
    {
        var s = StepTrace.PairSlowdowns(windows, rate);
        var (lo, hi) = StepTrace.BootstrapMedian(s);
        var slower = s.Count(x => x > 0);
        var off = ServiceBench.Median(windows.Where(w => !w.On).Select(rate).Where(double.IsFinite).ToList());
        var on = ServiceBench.Median(windows.Where(w => w.On).Select(rate).Where(double.IsFinite).ToList());
        Console.WriteLine($"{name}: median off {off:F1} steps/s, on {on:F1} steps/s; per pair (off-on)/off: " +
                          string.Join(" ", s.Select(x => (100 * x).ToString("F1", CultureInfo.InvariantCulture))));
        Console.WriteLine($"  slowdown median {100 * ServiceBench.Median(s):F1} % over {s.Count} pairs, bootstrap 95 % interval " +
                          $"[{100 * lo:F1}, {100 * hi:F1}] %; on slower in {slower}/{s.Count} pairs (sign test p = {StepTrace.SignTestP(slower, s.Count):F3}); " +
                          Verdict(lo, hi, s.Count));
    }

    private static string Verdict(double lo, double hi, int pairs) =>
        pairs < 8 ? "too few pairs for a verdict on the 5 % target"
        : hi <= 0.05 ? "target <= 5 % met (upper bound of the interval)"
        : lo > 0.05 ? "target <= 5 % NOT met (lower bound above 5 %)"
        : "target <= 5 %: undecided at this spread";
}
