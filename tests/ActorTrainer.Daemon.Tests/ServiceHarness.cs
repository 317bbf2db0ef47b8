using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A <c>serve</c> daemon run as a real child process on a free loopback port, with an HTTP client; killed
/// (with its trainer children) on dispose.</summary>
public sealed class ServiceDaemon : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    /// <summary>Starts <c>serve</c> with runs root <paramref name="runsRoot"/> and extra --set overrides; waits
    /// (at most 90 s) until /healthz answers.</summary>
    public ServiceDaemon(string runsRoot, int? port = null, string? token = null, params string[] sets)
    {
        Port = port ?? FreePort();
        RunsRoot = runsRoot;
        var args = new List<string> { "serve", "--set", $"serve.port={Port}", "--set", $"serve.runs-root={runsRoot}" };
        foreach (var s in sets) { args.Add("--set"); args.Add(s); }
        _process = Cli.Start(args);
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}/"), Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null) Http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            if (_process.HasExited)
            {
                _process.WaitForExit();   // its last lines (why it exited) read before they are shown
                throw new InvalidOperationException($"serve exited with {_process.ExitCode}\n{Output}");
            }
            try
            {
                using var r = Http.GetAsync("healthz").GetAwaiter().GetResult();
                if (r.StatusCode == HttpStatusCode.OK) break;
            }
            catch (HttpRequestException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"serve did not answer /healthz within 90 s\n{Output}");
            Thread.Sleep(200);
        }
    }

    /// <summary>The port the daemon listens on.</summary>
    public int Port { get; }

    /// <summary>serve.runs-root.</summary>
    public string RunsRoot { get; }

    /// <summary>The server URL for client verbs.</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>A client for the daemon (and the bearer token, when given).</summary>
    public HttpClient Http { get; }

    /// <summary>The daemon's process id.</summary>
    public int Pid => _process.Id;

    /// <summary>What the daemon printed so far.</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>POSTs a job with these overrides; asserts 201 and returns the id.</summary>
    public string Submit(IReadOnlyDictionary<string, string> set, string? config = null)
    {
        var body = new JsonObject { ["set"] = new JsonObject(set.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))) };
        if (config is not null) body["config"] = config;
        using var r = Http.PostAsJsonAsync("jobs", body).GetAwaiter().GetResult();
        var text = r.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        Assert.True(r.StatusCode == HttpStatusCode.Created, $"{(int)r.StatusCode}: {text}\n{Output}");
        return JsonNode.Parse(text)!["id"]!.GetValue<string>();
    }

    /// <summary>GET /jobs/{id} as JSON.</summary>
    public JsonObject Job(string id) => JsonNode.Parse(Http.GetStringAsync("jobs/" + id).GetAwaiter().GetResult())!.AsObject();

    /// <summary>Polls the job until <paramref name="done"/> holds; fails after <paramref name="seconds"/>.</summary>
    public JsonObject WaitFor(string id, Func<JsonObject, bool> done, int seconds, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (true)
        {
            var j = Job(id);
            if (done(j)) return j;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"job {id} not {what} within {seconds} s: {j.ToJsonString()}\n{Output}\n--- train.log ---\n{TrainLog(id)}");
            Thread.Sleep(200);
        }
    }

    /// <summary>The job's train.log (empty when missing).</summary>
    public string TrainLog(string id)
    {
        var path = Path.Combine(RunsRoot, id, "train.log");
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    /// <summary>SIGKILLs the daemon alone (its trainer children live on), as `kill -9` would.</summary>
    public void KillDaemonOnly()
    {
        using (var kill = Process.Start("kill", ["-KILL", Pid.ToString(CultureInfo.InvariantCulture)])) kill.WaitForExit();
        Assert.True(_process.WaitForExit(TimeSpan.FromSeconds(30)), "daemon did not die on SIGKILL");
    }

    /// <summary>SIGTERMs the daemon (as `systemctl stop` does) and waits up to <paramref name="seconds"/> for it to
    /// exit; returns its exit code.</summary>
    public int TerminateDaemon(int seconds)
    {
        using (var kill = Process.Start("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)])) kill.WaitForExit();
        return WaitForExit(seconds, "of SIGTERM");
    }

    /// <summary>Waits up to <paramref name="seconds"/> for the daemon to exit (<paramref name="after"/> names what
    /// should have ended it, for the failure message); returns its exit code.</summary>
    public int WaitForExit(int seconds, string after)
    {
        Assert.True(_process.WaitForExit(TimeSpan.FromSeconds(seconds)), $"daemon did not exit within {seconds} s {after}\n{Output}");
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>A free TCP port on 127.0.0.1.</summary>
    public static int FreePort() => FreePorts.Next();

    /// <summary>Kills the daemon and its trainer children.</summary>
    public void Dispose()
    {
        Http.Dispose();
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _process.WaitForExit(10_000);
        _process.Dispose();
    }
}

/// <summary>Settings and helpers shared by the service tests.</summary>
public static class ServiceRuns
{
    /// <summary>A small actor-runtime job (resumable): 3000 train / 300 test samples, 2 epochs, no plots or TensorBoard.</summary>
    public static readonly Dictionary<string, string> Small = new()
    {
        ["data.train-limit"] = "3000", ["data.test-limit"] = "300", ["trainer.epochs"] = "2", ["output.plots"] = "false",
        ["output.tensorboard"] = "false", ["trainer.runtime"] = "actors",
    };

    /// <summary>A longer job (all 60000 samples, 6 epochs, a checkpoint every 25 steps) to interrupt mid-run: ~3 s of
    /// training on a fast 2-core machine, so that the tests' signals (sent up to a 200 ms poll after the first
    /// checkpoint) land before it ends — with 2 epochs (~0.8 s) a SIGSTOP once came after the job had finished.</summary>
    public static readonly Dictionary<string, string> Long = new()
    {
        ["data.test-limit"] = "300", ["trainer.epochs"] = "6", ["output.plots"] = "false", ["output.tensorboard"] = "false",
        ["trainer.runtime"] = "actors", ["trainer.checkpoint.every-steps"] = "25",
    };

    /// <summary>The overrides as `train` options.</summary>
    public static string[] AsArgs(IReadOnlyDictionary<string, string> set) => set.SelectMany(kv => new[] { "--set", $"{kv.Key}={kv.Value}" }).ToArray();

    /// <summary>weights_sha256 of `train` with these overrides (run once per process and cached).</summary>
    public static string TrainDigest(IReadOnlyDictionary<string, string> set)
    {
        var key = string.Join(";", set.Select(kv => kv.Key + "=" + kv.Value));
        lock (Digests)
        {
            if (Digests.TryGetValue(key, out var d)) return d;
            using var t = new TempDir();
            var r = Cli.Run(["train", "--run-dir", t["run"], .. AsArgs(set)], 600);
            Assert.True(r.ExitCode == 0, r.Describe());
            return Digests[key] = RunDir.Summary(t["run"]).GetProperty("weights_sha256").GetString()!;
        }
    }

    private static readonly Dictionary<string, string> Digests = [];

    /// <summary>A job's summary.weights_sha256.</summary>
    public static string Digest(JsonObject job) => job["summary"]!["weights_sha256"]!.GetValue<string>();
}
