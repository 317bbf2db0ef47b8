using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace ActorTrainer.Bench;

/// <summary>
/// `service --cost`: what one GET /jobs/{id} costs the daemon, with no training competing for the CPU. Starts
/// `serve`, runs a short job to the end (succeeded: its status carries summary.json), starts a long one and stops
/// its trainer with SIGSTOP once its first epoch is done (running, but using no CPU), then for each job sends
/// --requests requests from --clients clients back to back and reports requests/s and the CPU seconds of the daemon
/// (less its idle CPU, measured for as long beforehand) and of the load generator (this process) per 1000 requests.
/// Usage: service --cost [--requests 50000] [--clients 50] [--dll PATH]
/// </summary>
public static partial class ServiceCostBench
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    private const int SIGCONT = 18, SIGSTOP = 19;

    /// <summary>Runs the measurement; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        var requests = int.Parse(ServiceBench.Option(args, "requests", "50000"), CultureInfo.InvariantCulture);
        var clients = int.Parse(ServiceBench.Option(args, "clients", "50"), CultureInfo.InvariantCulture);
        if (ServiceBench.DaemonDll(ServiceBench.Option(args, "dll", "")) is not { } dll) return 2;
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, {ProcCpu.Model()}, /proc/loadavg {ProcCpu.LoadAverage()}; daemon {dll}");
        Console.WriteLine($"{requests} requests per case from {clients} clients back to back");
        var root = Path.Combine(Path.GetTempPath(), "actortrainer-servicebench-" + Guid.NewGuid().ToString("N"));
        var port = ServiceBench.FreePort();
        using var daemon = ServiceBench.StartDaemon(dll, port, root);
        using var http = ServiceBench.Client(port, clients);
        int? stopped = null;
        try
        {
            ServiceBench.WaitHealthy(http);
            var done = Submit(http, 1, "2000");
            var running = Submit(http, 200, "0");
            Wait(http, done, j => j["state"]!.GetValue<string>() == "succeeded");
            stopped = Wait(http, running, j => j["epoch"]!.GetValue<int>() >= 1)["pid"]!.GetValue<int>();
            Kill(stopped.Value, SIGSTOP);
            Measure(http, daemon.Id, "running job (trainer stopped)", running, requests, clients);
            Measure(http, daemon.Id, "succeeded job (with summary)", done, requests, clients);
            Console.WriteLine($"/proc/loadavg at the end {ProcCpu.LoadAverage()}");
            return 0;
        }
        finally
        {
            if (stopped is { } pid) { Kill(pid, SIGCONT); Kill(pid, 9); }
            if (!daemon.HasExited) daemon.Kill(entireProcessTree: true);
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }

    private static string Submit(HttpClient http, int epochs, string trainLimit)
    {
        var job = new JsonObject
        {
            ["set"] = new JsonObject
            {
                ["trainer.epochs"] = epochs.ToString(CultureInfo.InvariantCulture), ["data.train-limit"] = trainLimit, ["data.test-limit"] = "1000",
                ["output.plots"] = "false", ["output.tensorboard"] = "false", ["output.save-model"] = "false",
            },
        };
        using var post = http.PostAsJsonAsync("jobs", job).GetAwaiter().GetResult();
        post.EnsureSuccessStatusCode();
        return JsonNode.Parse(post.Content.ReadAsStringAsync().GetAwaiter().GetResult())!["id"]!.GetValue<string>();
    }

    private static JsonNode Wait(HttpClient http, string id, Func<JsonNode, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(600);
        while (DateTime.UtcNow < deadline)
        {
            var j = JsonNode.Parse(http.GetStringAsync("jobs/" + id).GetAwaiter().GetResult())!;
            if (done(j)) return j;
            if (j["state"]!.GetValue<string>() is "failed" or "cancelled") throw new InvalidOperationException($"job {id} {j["state"]}: {j["error"]}");
            Thread.Sleep(250);
        }
        throw new TimeoutException($"job {id} did not get there within 600 s");
    }

    /// <summary>Warms the path up (tiered JIT) with a fifth of the requests, measures the daemon's idle CPU for
    /// 5 s, then sends the requests.</summary>
    private static void Measure(HttpClient http, int daemonPid, string name, string id, int requests, int clients)
    {
        using var load = new ServiceLoad(http, "jobs/" + id, clients, 0, 0);
        Send(load, requests / 5);
        Thread.Sleep(1000);
        var idle = Stopwatch.StartNew();
        var idleCpu = ProcCpu.Seconds(daemonPid);
        Thread.Sleep(5000);
        var idleRate = (ProcCpu.Seconds(daemonPid) - idleCpu) / idle.Elapsed.TotalSeconds;
        load.TakeLatencies();
        var (d0, c0, r0) = (ProcCpu.Seconds(daemonPid), ProcCpu.Seconds(Environment.ProcessId), load.Requests);
        var sw = Stopwatch.StartNew();
        Send(load, requests);
        var wall = sw.Elapsed.TotalSeconds;
        var n = load.Requests - r0;
        var daemon = ProcCpu.Seconds(daemonPid) - d0 - idleRate * wall;
        var client = ProcCpu.Seconds(Environment.ProcessId) - c0;
        var lat = load.TakeLatencies();
        Console.WriteLine($"{name}: {n} requests in {wall:F1} s = {n / wall:F0}/s, p50 {ServiceBench.Pct(lat, 50):F2} ms, p99 {ServiceBench.Pct(lat, 99):F2} ms; " +
                          $"CPU s per 1000 requests: daemon {1000 * daemon / n:F3} (idle {idleRate:F3} CPU s/s subtracted), load generator {1000 * client / n:F3}; errors {load.Errors}");
    }

    private static void Send(ServiceLoad load, int requests)
    {
        var target = load.Requests + requests;
        load.On();
        while (load.Requests < target) Thread.Sleep(5);
        load.Off();
        Thread.Sleep(200);   // requests in flight finish
    }
}
