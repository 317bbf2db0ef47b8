using ActorTrainer.Daemon.Commands;
using ActorTrainer.Daemon.Service;

namespace ActorTrainer.Daemon.Cli;

/// <summary>The CLI's help: `--help` alone (every command) and `COMMAND --help` (or `-h`) anywhere after the command
/// word (that command's group), on stdout, exit 0 — before the command's options are checked. One table of commands
/// and their usage texts, which the help pages and the unknown-command error read.</summary>
public static class CommandHelp
{
    /// <summary>Commands documented together, with their usage text, in the order of the help page.</summary>
    private static readonly (string[] Commands, string Usage)[] Groups =
    [
        (["train"], TrainCommand.Usage),
        (["worker"], WorkerCommand.Usage),
        (["ps"], WorkerCommand.PsUsage),
        (["evaluate"], ModelCommands.EvaluateUsage),
        (["predict"], ModelCommands.PredictUsage),
        (["export"], ModelCommands.ExportUsage),
        (["summary"], ModelCommands.SummaryUsage),
        (ServiceCommands.Verbs, ServiceCommands.Usage),
    ];

    /// <summary>Every command word, in help-page order.</summary>
    public static IEnumerable<string> Commands => Groups.SelectMany(g => g.Commands);

    /// <summary>The help page of `--help` alone: the program's usage line and every command's usage.</summary>
    public static string Overview =>
        "ActorTrainer — deep-learning training for .NET\n\n" +
        "usage: ActorTrainer.Daemon [--verbose] <command> [options]\n\n" +
        "  --verbose         print stack traces of errors (any position on the command line)\n\n" +
        "commands:\n  " + string.Join("\n  ", Groups.Select(g => Indent(g.Usage))) + "\n";

    /// <summary>True when the arguments after the command word ask for help.</summary>
    public static bool Requested(IReadOnlyList<string> args) => args.Any(a => a is "--help" or "-h");

    /// <summary>The help page for `command` under the program's usage line: a client verb's own page (its usage, options
    /// and exit codes), else its group's usage (`serve --help`: every service verb); null for an unknown command.</summary>
    public static string? Page(string command)
    {
        var own = ClientCommands.HelpPage(command);
        if ((own ?? Groups.FirstOrDefault(g => g.Commands.Contains(command)).Usage) is not { } usage) return null;
        var keys = own is null || usage.Contains("--set", StringComparison.Ordinal)     // a client verb without --config/--set: no config keys
            ? "\nevery config key (for --config files and --set) is documented in config/reference.conf\n" : "";
        return $"usage: ActorTrainer.Daemon [--verbose] {command} …\n\n  {Indent(usage)}\n" + keys;
    }

    /// <summary>Every line after the first indented by two spaces (blank lines stay blank).</summary>
    private static string Indent(string usage) => string.Join("\n", usage.Split('\n').Select((l, i) => i == 0 || l.Length == 0 ? l : "  " + l));
}
