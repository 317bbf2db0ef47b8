namespace ActorTrainer.Daemon.Service;

/// <summary>The client verbs' options (what each verb's parser allows) and their own help pages (`jobs --help`): the
/// usage line, what the verb does, the options it takes and its exit codes. The page of every service verb together
/// (<see cref="Usage"/>) stays the overview's and `serve --help`'s.</summary>
public static partial class ClientCommands
{
    /// <summary>The value options and flags one client verb takes: its parser allows these only, and its help page
    /// lists them.</summary>
    internal static (string[] Values, string[] Flags) OptionsOf(string verb) => verb switch
    {
        "submit" => (["server", "token-file", "timeout", "config", "set"], []),
        "fetch" => (["server", "token-file", "timeout", "output"], []),
        "logs" => (["server", "token-file", "timeout"], ["follow"]),
        _ => (["server", "token-file", "timeout"], []),
    };

    /// <summary>One line per option: its name and value, and what it does.</summary>
    private static readonly (string Name, string Line)[] OptionHelp =
    [
        ("config", "--config FILE       the job's HOCON config, checked as `train --config` checks it (default config/mnist-mlp.conf)"),
        ("set", "--set key=value     override one key, e.g. --set trainer.epochs=3 (repeatable)"),
        ("output", "--output DIR        the directory the files go into (default ./ID); each file is written atomically"),
        ("follow", "-f, --follow        follow train.log until the job ends"),
        ("server", "--server URL        the service's address (default " + DefaultServer + ")"),
        ("token-file", "--token-file FILE   a file holding the bearer token (when the service sets serve.token-file)"),
        ("timeout", "--timeout SECONDS   how long to wait for each answer of the service (default 30; logs -f then follows the job as long as it runs)"),
    ];

    /// <summary>The usage line and what each client verb does.</summary>
    private static readonly Dictionary<string, string> VerbSynopsis = new(StringComparer.Ordinal)
    {
        ["submit"] = "submit [--config FILE] [--set key=value]... [--server URL] [--token-file FILE] [--timeout SECONDS]\n" +
                     "  queue a training job; prints its id",
        ["jobs"] = "jobs [--server URL] [--token-file FILE] [--timeout SECONDS]\n" +
                   "  list the jobs: id, state, epoch, step, loss, accuracy, created, and QUEUE (a queued job's place, 1 starts next)",
        ["status"] = "status ID [--server URL] [--token-file FILE] [--timeout SECONDS]\n" +
                     "  one job as JSON (state, epoch, step, metrics, and summary.json once done)",
        ["cancel"] = "cancel ID [--server URL] [--token-file FILE] [--timeout SECONDS]\n" +
                     "  checkpoint and stop a running job (resumable), or drop a queued one from the queue",
        ["resume"] = "resume ID [--server URL] [--token-file FILE] [--timeout SECONDS]\n" +
                     "  queue a cancelled or failed job again (at the back of the queue), from its newest checkpoint",
        ["logs"] = "logs ID [-f] [--server URL] [--token-file FILE] [--timeout SECONDS]\n" +
                   "  print the job's train.log (a job that has not started has none yet: it says so, with its place in the queue)",
        ["fetch"] = "fetch ID [NAME]... [--output DIR] [--server URL] [--token-file FILE] [--timeout SECONDS]\n" +
                    "  copy the job's files (or the named ones, e.g. summary.json model/model.safetensors) into DIR",
    };

    /// <summary>The exit codes of one client verb, one line each, by code.</summary>
    private static string ExitCodesOf(string verb)
    {
        var bad = verb switch
        {
            "submit" => "an unknown option, a missing --config file, a malformed --set",
            "jobs" => "an unknown option",
            "fetch" => "an unknown option, a malformed job id, a NAME the job does not have",
            _ => "an unknown option, a malformed job id",
        };
        var codes = new List<string> { "0   success" };
        if (verb == "logs") codes.Add("1   with -f: the job failed");
        codes.Add($"2   bad input ({bad}, a --server that is not a URL, a --token-file that does not exist, a --timeout that is not");
        codes.Add("    a number of seconds in (0, 86400])");
        codes.Add("    or a request the service refused (400, 401, 404, 409, 413)");
        codes.Add("70  a server error (the service answered 5xx; the line names the status and the URL)");
        codes.Add("74  the service cannot be reached, does not answer within --timeout (30 s), or --server is not the service");
        if (verb == "logs") codes.Add("74  with -f: also when the service closes the event stream before the job ends");
        if (verb == "fetch") codes.Add("74  also when a file cannot be written below --output (files already written stay intact)");
        codes.Add("130 / 143  stopped by SIGINT (Ctrl-C) / SIGTERM while waiting for the service (one line on stderr)");
        return "  " + string.Join("\n  ", codes);
    }

    /// <summary>The help page of one client verb (<c>jobs --help</c>): its usage line, what it does, the options it
    /// takes and its exit codes; null for a word that is not a client verb.</summary>
    public static string? HelpPage(string verb)
    {
        if (!VerbSynopsis.TryGetValue(verb, out var synopsis)) return null;
        var (values, flags) = OptionsOf(verb);
        var options = string.Join("\n  ", OptionHelp.Where(o => values.Contains(o.Name) || flags.Contains(o.Name)).Select(o => o.Line));
        return synopsis + "\n\noptions:\n  " + options + "\n\nexit codes:\n" + ExitCodesOf(verb);
    }
}
