using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorTrainer.Daemon.Cli;
using ActorTrainer.Daemon.Configuration;

namespace ActorTrainer.Daemon.Service;

/// <summary>The CLI verbs that talk to a running <c>serve</c>: submit, jobs, status, cancel, resume, logs, fetch.</summary>
public static partial class ClientCommands
{
    /// <summary>Default server URL.</summary>
    public const string DefaultServer = "http://127.0.0.1:8470";

    /// <summary>Usage text.</summary>
    public const string Usage =
        "submit [--config FILE] [--set key=value]... [--server URL] [--token-file FILE]   queue a training job; prints its id\n" +
        "jobs [--server URL] [--token-file FILE]                 list the jobs (QUEUE: a queued job's place, 1 starts next)\n" +
        "status ID [--server URL] [--token-file FILE]            one job as JSON (state, epoch, step, metrics, summary)\n" +
        "cancel ID [--server URL] [--token-file FILE]            checkpoint and stop a job (or drop it from the queue)\n" +
        "resume ID [--server URL] [--token-file FILE]            queue a cancelled or failed job again (at the back), from its checkpoint\n" +
        "logs ID [-f] [--server URL] [--token-file FILE]         the job's train.log; -f follows it until the job ends (exit 1 if it failed)\n" +
        "fetch ID [NAME]... [--output DIR] [--server URL] [--token-file FILE]\n" +
        "                                                        copy the job's files (or the named ones, e.g. summary.json model/model.safetensors)\n" +
        "                                                        into DIR (default ./ID), each written atomically\n" +
        "  --server URL (default " + DefaultServer + "), --token-file FILE (the bearer token when serve.token-file is set),\n" +
        "  --timeout SECONDS (how long to wait for each answer; default 30)";

    /// <summary>The job id (an argument that is neither an option nor an option's value), wherever it stands, and the
    /// options: `status ID --server URL` and `status --server URL ID` are the same.</summary>
    private static (string[] Positional, string[] Options) SplitPositional(string[] args, string[] valueOptions)
    {
        var positional = new List<string>();
        var options = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith('-')) { positional.Add(a); continue; }
            options.Add(a);
            if (a.StartsWith("--", StringComparison.Ordinal) && !a.Contains('=') && valueOptions.Contains(a[2..]) && i + 1 < args.Length)
                options.Add(args[++i]);
        }
        return (positional.ToArray(), options.ToArray());
    }

    /// <summary>Runs one client verb; returns the exit code: 0 ok, 2 a request the service refused (400, 401, 404,
    /// 409, 413), 74 the service cannot be reached, 70 a server error (5xx); <c>logs -f</c> returns 1 when the job
    /// failed; 143 / 130 when SIGTERM / SIGINT stopped it while it waited for the service.</summary>
    public static int Run(string verb, string[] args, SignalGate signals)
    {
        var (positional, cl) = Parse(verb, args);
        using var http = Client(cl, ReadTimeout(cl));
        using var waiting = signals.ClaimForWaiting();
        var ct = signals.Token;
        try
        {
            return verb switch
            {
                "submit" => Submit(http, cl, ct),
                "jobs" => Jobs(http, ct),
                "status" => Print(Send(http, HttpMethod.Get, "jobs/" + Uri.EscapeDataString(positional[0]), null, ct)),
                "cancel" => Print(Send(http, HttpMethod.Post, "jobs/" + Uri.EscapeDataString(positional[0]) + "/cancel", null, ct)),
                "resume" => Print(Send(http, HttpMethod.Post, "jobs/" + Uri.EscapeDataString(positional[0]) + "/resume", null, ct)),
                "fetch" => Fetch(http, positional[0], positional[1..], cl.Get("output"), ct),
                _ => Logs(http, positional[0], cl.Has("follow"), ct),
            };
        }
        catch (Exception) when (signals.ClaimedSignal != 0)
        {
            return Interrupted(verb, signals.ClaimedSignal);     // whatever the cancelled wait threw
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"error: cannot reach the service at {http.BaseAddress}: {e.Message} (is `serve` running? see --server)");
            return ExitCodes.IoError;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // Send's own deadline: something listens at --server but does not answer
            Console.Error.WriteLine($"error: the service at {http.BaseAddress} did not answer within {http.RequestTimeout.TotalSeconds:0.###} s " +
                                    "(is `serve` running there? see --server; --timeout SECONDS waits longer)");
            return ExitCodes.IoError;
        }
        catch (NotTheServiceException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.IoError;
        }
        catch (ServiceError e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return (int)e.Status is >= 400 and < 500 ? ExitCodes.BadInput : ExitCodes.Software;
        }
    }

    /// <summary>The job ids (positional arguments) and the parsed options of one client verb; refuses what the verb
    /// does not take, before anything is sent.</summary>
    private static (string[] Positional, CommandLine Options) Parse(string verb, string[] args)
    {
        string[] values = ["server", "token-file", "timeout", "config", "set", "output"];
        var (positional, rest) = verb is "status" or "cancel" or "resume" or "logs" or "fetch" ? SplitPositional(args, values) : ([], args);
        if (verb == "logs") rest = rest.Select(a => a == "-f" ? "--follow" : a).ToArray();    // -f is logs' only; elsewhere an unknown option
        foreach (var name in rest.Where(a => a.StartsWith("--", StringComparison.Ordinal)).Select(a => a[2..].Split('=')[0]))
        {
            if (verb != "submit" && name is "config" or "set") throw new UsageException($"{verb}: --config and --set belong to submit");
            if (verb != "fetch" && name == "output") throw new UsageException($"{verb}: --output belongs to fetch");
        }
        // the verb's own options: an unknown one is refused with the list of those the verb takes
        var (own, flags) = OptionsOf(verb);
        var cl = CommandLine.Parse(verb, rest, own, flags);
        if (verb is "status" or "cancel" or "resume" or "logs" && positional.Length != 1 || verb == "fetch" && positional.Length == 0)
            throw new UsageException($"{verb}: expected one job id, e.g. '{verb} j20261129-120000-a1b2c3'");
        if (positional.Length > 0 && !JobSubmission.IsWellFormedId(positional[0]))     // the service's answer would name it URL-escaped
            throw new UsageException($"{verb}: '{positional[0]}' is not a job id (ids look like j20261129-120000-a1b2c3; `jobs` lists them)");
        return (positional, cl);
    }

    /// <summary>A signal stopped the verb while it waited: what it printed stays printed (stdout flushed), one line on
    /// stderr, and the signal's exit code, as for any command outside training.</summary>
    private static int Interrupted(string verb, int code)
    {
        Console.Out.Flush();
        var acted = verb is "submit" or "cancel" or "resume" ? "; the service may have acted on the request: see `jobs`" : "";
        Console.Error.WriteLine($"{verb}: {(code == ExitCodes.Interrupted ? "SIGINT" : "SIGTERM")} received; stopped (exit code {code}){acted}");
        return code;
    }

    private sealed class ServiceError(HttpStatusCode status, string message) : Exception(message)
    {
        public HttpStatusCode Status { get; } = status;
    }

    /// <summary>The error of an answer that is not a success: the service's own message (its JSON "error") for a
    /// refusal (4xx); a refusal without it comes from some other web server (NotTheServiceException, exit 74); a server
    /// error (5xx) always names its status and URL.</summary>
    private static Exception Failure(HttpResponseMessage res, string text)
    {
        string? error = null;
        try { error = text.Length > 0 ? JsonNode.Parse(text)?["error"]?.GetValue<string>() : null; }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { }     // not JSON, or "error" not a string
        var status = $"{(int)res.StatusCode} {res.ReasonPhrase}";
        var uri = res.RequestMessage?.RequestUri;
        const string which = "not the service's JSON error: is --server the address of `serve`?";
        if ((int)res.StatusCode < 500 && error is null)
            return new NotTheServiceException($"{res.RequestMessage?.Method} {uri} answered {status}, {which}");
        var message = (int)res.StatusCode >= 500
            ? $"the service answered {status} to {res.RequestMessage?.Method} {uri}" + (error is null ? $" ({which})" : $": {error}")
            : error!;
        return new ServiceError(res.StatusCode, message);
    }

    /// <summary>A success answer that is not the service's JSON: --server names some other web server.</summary>
    private sealed class NotTheServiceException(string message) : Exception(message);

    /// <summary>--timeout SECONDS: a number in (0, 86400] (fractions allowed), else <see cref="RequestTimeout"/>.</summary>
    private static TimeSpan ReadTimeout(CommandLine cl)
    {
        if (cl.Get("timeout") is not { } text) return RequestTimeout;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !(seconds > 0 && seconds <= 86400))
            throw new UsageException($"--timeout '{text}': expected the seconds to wait for each answer of the service, a number in (0, 86400], e.g. --timeout 5");
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>An HttpClient that carries the verb's per-request deadline (each request applies it itself: HttpClient's
    /// own Timeout stays infinite so that `logs -f` can follow a job for hours).</summary>
    private sealed class ServiceHttp : HttpClient
    {
        public required TimeSpan RequestTimeout { get; init; }

        /// <summary>A token that ends at `ct` or after RequestTimeout, whichever comes first (one request's deadline).</summary>
        public CancellationTokenSource Deadline(CancellationToken ct)
        {
            var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(RequestTimeout);
            return cts;
        }
    }

    private static ServiceHttp Client(CommandLine cl, TimeSpan requestTimeout)
    {
        var server = cl.Get("server") ?? DefaultServer;
        if (!Uri.TryCreate(server.TrimEnd('/') + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new UsageException($"--server '{server}': expected a URL such as {DefaultServer}");
        var http = new ServiceHttp { BaseAddress = uri, Timeout = Timeout.InfiniteTimeSpan, RequestTimeout = requestTimeout };
        if (cl.Get("token-file") is { } file)
        {
            if (!File.Exists(file)) throw new UsageException($"--token-file '{file}' does not exist");
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
                Commands.InputRead.Guard(() => File.ReadAllText(file), $"--token-file '{file}'", "make it readable").Trim());
        }
        return http;
    }

    /// <summary>How long a client verb waits for the service's answer to one request unless --timeout says otherwise.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private static JsonNode? Send(ServiceHttp http, HttpMethod method, string path, JsonNode? body, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(method, path);
        if (body is not null) req.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var timeout = http.Deadline(ct);
        using var res = http.Send(req, timeout.Token);
        var text = res.Content.ReadAsStringAsync(timeout.Token).GetAwaiter().GetResult();
        JsonNode? json = null;
        try { json = text.Length > 0 ? JsonNode.Parse(text) : null; } catch (JsonException) { }
        if (!res.IsSuccessStatusCode) throw Failure(res, text);
        if (json is not (JsonObject or JsonArray))          // every answer of the service is a JSON object or array
            throw new NotTheServiceException($"{req.RequestUri} answered {(int)res.StatusCode} with " +
                $"{res.Content.Headers.ContentType?.MediaType ?? "no content type"}, not the service's JSON: is --server the address of `serve`?");
        return json;
    }

    private static readonly JsonSerializerOptions PrintOptions =
        new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static int Print(JsonNode? json)
    {
        // for a terminal, not a web page: "+00:00", not "\u002B00:00"
        Console.Out.WriteLine(json?.ToJsonString(PrintOptions));
        return 0;
    }

    private static int Submit(ServiceHttp http, CommandLine cl, CancellationToken ct)
    {
        var body = new JsonObject();
        if (cl.Get("config") is { } file)
        {
            if (Directory.Exists(file)) throw new ConfigException($"config file '{file}' is a directory; give a HOCON file");
            if (!File.Exists(file)) throw new ConfigException($"config file '{file}' does not exist");
            body["config"] = Commands.InputRead.Guard(() => File.ReadAllText(file), $"submit: --config '{file}'", "make it readable");
        }
        var sets = new JsonObject();
        foreach (var s in cl.All("set"))
        {
            var (key, value) = SetOption.Split(s);          // refused here as `train` refuses it
            sets[key] = value;
        }
        body["set"] = sets;
        var answer = Send(http, HttpMethod.Post, "jobs", body, ct)!;
        Console.Out.WriteLine(answer["id"]!.GetValue<string>());
        return 0;
    }

    private static int Jobs(ServiceHttp http, CancellationToken ct)
    {
        var jobs = Send(http, HttpMethod.Get, "jobs", null, ct)!.AsArray();
        Console.Out.WriteLine($"{"ID",-24} {"STATE",-10} {"EPOCH",7} {"STEP",8} {"LOSS",8} {"ACCURACY",8}  {"CREATED",-33}  QUEUE");
        foreach (var j in jobs)
        {
            string M(string k) => j!["metrics"]?[k] is { } v ? v.GetValue<double>().ToString("0.0000", CultureInfo.InvariantCulture) : "-";
            var epoch = $"{j!["epoch"]}/{j["epochs"]?.ToString() ?? "?"}";
            var place = j["queue_position"]?.ToString() ?? "-";             // while queued: 1 starts next
            Console.Out.WriteLine($"{j["id"],-24} {j["state"],-10} {epoch,7} {j["step"],8} {M("loss"),8} {M("accuracy"),8}  {j["created_at"],-33}  {place}");
        }
        return 0;
    }

    private static int Logs(ServiceHttp http, string id, bool follow, CancellationToken ct)
    {
        var path = "jobs/" + Uri.EscapeDataString(id);
        var job = Send(http, HttpMethod.Get, path, null, ct);   // refusals (an unknown job, a missing or wrong token) as the other verbs: exit 2
        if (!follow)
        {
            using var timeout = http.Deadline(ct);
            using var res = http.GetAsync(path + "/files/" + TrainerProcess.LogFile, timeout.Token).GetAwaiter().GetResult();
            if (res.StatusCode == HttpStatusCode.NotFound)           // not started yet: no log
            {
                Console.Error.WriteLine($"job {id} is {job?["state"]} and has no {TrainerProcess.LogFile} yet" +
                                        (job?["queue_position"] is { } place ? $" (place {place} in the queue)" : ""));
                return 0;
            }
            var text = res.Content.ReadAsStringAsync(timeout.Token).GetAwaiter().GetResult();
            if (!res.IsSuccessStatusCode) throw Failure(res, text);       // a 5xx: exit 70, as for every verb
            foreach (var raw in text.Split('\n'))
                if (raw.TrimEnd('\r') is { Length: > 0 } l) Console.Out.WriteLine(TrainLog.Parse(l).Text);   // as logs -f shows them
            return 0;
        }
        using var headers = http.Deadline(ct);                     // the answer's headers; following the job then waits as long as it runs
        using var events = http.GetAsync(path + "/events", HttpCompletionOption.ResponseHeadersRead, headers.Token).GetAwaiter().GetResult();
        if (!events.IsSuccessStatusCode) throw Failure(events, events.Content.ReadAsStringAsync(ct).GetAwaiter().GetResult());
        using var stream = events.Content.ReadAsStream(ct);
        using var reader = new StreamReader(stream);
        string? evt = null, line;
        while ((line = reader.ReadLineAsync(ct).AsTask().GetAwaiter().GetResult()) is not null)   // a signal ends the wait
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) evt = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && evt == "log") Console.Out.WriteLine(line[6..]);
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && evt == "end")
            {
                var state = JsonNode.Parse(line[6..])?["state"]?.GetValue<string>();
                Console.Error.WriteLine($"job {id} {state}");
                return state == JobStates.Failed ? 1 : 0;
            }
        }
        Console.Error.WriteLine($"error: the service closed the event stream of job {id} before the job ended (is it stopping?)");
        return ExitCodes.IoError;
    }
}
