using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace ActorTrainer.Bench;

/// <summary>
/// `service`: does status traffic slow training? Starts `serve` (the built ActorTrainer.Daemon.dll) on a free
/// loopback port and trains the same job repeatedly, alternately quiet and under load: N concurrent clients
/// (default 200) each sending GET /jobs/{id} every --interval-ms (0 = back to back). Reports the trainer's
/// steps_per_second (summary.json) per run, the medians, their ratio, and the request rate and latencies.
/// --client-nice N runs the load generator's threads at nice N, standing in for clients on other machines (the
/// generator shares this machine's cores with the trainer otherwise).
/// Usage: service [--rounds 3] [--clients 200] [--interval-ms 1000] [--epochs 2] [--client-nice 0] [--dll PATH]
/// With --windows: one long job, the load toggled on and off in alternating windows (see <see cref="ServiceWindowsBench"/>);
/// with --cost: the CPU one status request costs the daemon (see <see cref="ServiceCostBench"/>).
/// </summary>
public static partial class ServiceBench
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int prio);

    private static int _clientNice;

    public static int Run(string[] args)
    {
        if (args.Contains("--windows")) return ServiceWindowsBench.Run(args);
        if (args.Contains("--cost")) return ServiceCostBench.Run(args);
        string Opt(string name, string dflt) => Option(args, name, dflt);
        var rounds = int.Parse(Opt("rounds", "3"), CultureInfo.InvariantCulture);
        var clients = int.Parse(Opt("clients", "200"), CultureInfo.InvariantCulture);
        var interval = int.Parse(Opt("interval-ms", "1000"), CultureInfo.InvariantCulture);
        var epochs = Opt("epochs", "2");
        _clientNice = int.Parse(Opt("client-nice", "0"), CultureInfo.InvariantCulture);
        if (DaemonDll(Opt("dll", "")) is not { } dll) return 2;
        var root = Path.Combine(Path.GetTempPath(), "actortrainer-servicebench-" + Guid.NewGuid().ToString("N"));
        var port = FreePort();
        using var daemon = StartDaemon(dll, port, root);
        using var http = Client(port, clients);
        try
        {
            WaitHealthy(http);
            var job = new JsonObject
            {
                ["set"] = new JsonObject
                {
                    ["trainer.epochs"] = epochs, ["data.test-limit"] = "1000", ["output.plots"] = "false",
                    ["output.tensorboard"] = "false", ["output.save-model"] = "false",
                },
            };
            var quiet = new List<double>();
            var loaded = new List<double>();
            Console.WriteLine($"clients {clients}, interval {interval} ms, epochs {epochs}, rounds {rounds}, client nice {_clientNice}; port {port}");
            for (var r = 0; r < rounds; r++)
            {
                // Alternate the order (quiet, load), (load, quiet), ... so drift in machine load hits both sides.
                foreach (var withLoad in r % 2 == 0 ? new[] { false, true } : new[] { true, false })
                {
                    var (sps, requests, lat) = RunJob(http, job, withLoad ? clients : 0, interval);
                    (withLoad ? loaded : quiet).Add(sps);
                    Console.WriteLine(withLoad
                        ? $"round {r + 1} load : {sps,8:F1} steps/s  {requests} requests, p50 {Pct(lat, 50):F1} ms, p99 {Pct(lat, 99):F1} ms"
                        : $"round {r + 1} quiet: {sps,8:F1} steps/s");
                }
            }
            var mq = Median(quiet);
            var ml = Median(loaded);
            Console.WriteLine($"median quiet {mq:F1} steps/s, under load {ml:F1} steps/s: slowdown {100 * (1 - ml / mq):F1} % (target <= 5 %)");
            return 0;
        }
        finally
        {
            if (!daemon.HasExited) daemon.Kill(entireProcessTree: true);
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }

    private static (double StepsPerSecond, long Requests, List<double> LatencyMs) RunJob(HttpClient http, JsonObject job, int clients, int interval)
    {
        using var post = http.PostAsJsonAsync("jobs", job).GetAwaiter().GetResult();
        post.EnsureSuccessStatusCode();
        var id = JsonNode.Parse(post.Content.ReadAsStringAsync().GetAwaiter().GetResult())!["id"]!.GetValue<string>();
        using var stop = new CancellationTokenSource();
        var latencies = new List<double>();
        long requests = 0;
        var load = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var local = new List<double>();
            while (!stop.IsCancellationRequested)
            {
                if (_clientNice > 0) SetPriority(0, 0, _clientNice);   // this thread (tasks hop between pool threads)
                var sw = Stopwatch.StartNew();
                try { using var _ = await http.GetAsync("jobs/" + id, stop.Token); } catch (OperationCanceledException) { break; }
                local.Add(sw.Elapsed.TotalMilliseconds);
                Interlocked.Increment(ref requests);
                if (interval > 0) try { await Task.Delay(interval, stop.Token); } catch (OperationCanceledException) { break; }
            }
            lock (latencies) latencies.AddRange(local);
        })).ToArray();
        JsonNode j;
        while (true)
        {
            j = JsonNode.Parse(http.GetStringAsync("jobs/" + id).GetAwaiter().GetResult())!;
            if (j["state"]!.GetValue<string>() is "succeeded" or "failed" or "cancelled") break;
            Thread.Sleep(250);
        }
        stop.Cancel();
        Task.WaitAll(load);
        if (j["state"]!.GetValue<string>() != "succeeded") throw new InvalidOperationException($"job {id} {j["state"]}: {j["error"]}");
        return (j["summary"]!["steps_per_second"]!.GetValue<double>(), requests, latencies);
    }

    /// <summary>The value after <c>--name</c> in <paramref name="args"/>, or <paramref name="dflt"/>.</summary>
    internal static string Option(string[] args, string name, string dflt)
    {
        var i = Array.IndexOf(args, "--" + name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt;
    }

    /// <summary>The full path of the daemon's dll (--dll, default the Release build); null, after an error message,
    /// when it does not exist.</summary>
    internal static string? DaemonDll(string given)
    {
        var dll = Path.GetFullPath(given.Length > 0 ? given : "src/ActorTrainer.Daemon/bin/Release/net10.0/ActorTrainer.Daemon.dll");
        if (File.Exists(dll)) return dll;
        Console.Error.WriteLine($"error: --dll '{dll}' does not exist; build src/ActorTrainer.Daemon -c Release first");
        return null;
    }

    /// <summary>Starts <c>dotnet DLL serve</c> on <paramref name="port"/> with runs root <paramref name="root"/>
    /// (its output is read and dropped).</summary>
    internal static Process StartDaemon(string dll, int port, string root)
    {
        var daemon = Process.Start(new ProcessStartInfo("dotnet", [dll, "serve", "--set", $"serve.port={port}", "--set", $"serve.runs-root={root}"])
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
        daemon.OutputDataReceived += (_, _) => { };
        daemon.ErrorDataReceived += (_, _) => { };
        daemon.BeginOutputReadLine();
        daemon.BeginErrorReadLine();
        return daemon;
    }

    /// <summary>An HTTP client for the daemon on <paramref name="port"/> with a connection per client.</summary>
    internal static HttpClient Client(int port, int clients) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = clients + 4 }) { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(60) };

    internal static void WaitHealthy(HttpClient http)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try { if (http.GetAsync("healthz").GetAwaiter().GetResult().StatusCode == HttpStatusCode.OK) return; }
            catch (HttpRequestException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException("serve did not answer /healthz within 60 s");
            Thread.Sleep(200);
        }
    }

    internal static double Median(List<double> xs) { var s = xs.Order().ToArray(); return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2; }

    internal static double Pct(List<double> xs, double p) { if (xs.Count == 0) return double.NaN; var s = xs.Order().ToArray(); return s[Math.Min(s.Length - 1, (int)(p / 100 * s.Length))]; }

    internal static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
