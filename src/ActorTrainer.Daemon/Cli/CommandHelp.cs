using ActorTrainer.Daemon.Commands;
using ActorTrainer.Daemon.Service;

namespace ActorTrainer.Daemon.Cli;

/// <summary>`COMMAND --help` (or `-h`) anywhere after the command word: the usage of that command (and of the commands
/// documented with it), on stdout, exit 0 — before its options are parsed.</summary>
public static class CommandHelp
{
    /// <summary>True when the arguments after the command word ask for help.</summary>
    public static bool Requested(IReadOnlyList<string> args) => args.Any(a => a is "--help" or "-h");

    /// <summary>The usage text of `command`'s group, or null for an unknown command.</summary>
    public static string? For(string command) => command switch
    {
        "train" => TrainCommand.Usage,
        "worker" => WorkerCommand.Usage,
        "evaluate" or "predict" or "export" or "summary" => ModelCommands.Usage,
        _ when ServiceCommands.Verbs.Contains(command) => ServiceCommands.Usage,
        _ => null,
    };

    /// <summary>The help page printed for `command` (its usage indented under the program's usage line).</summary>
    public static string Page(string command, string usage) =>
        $"usage: ActorTrainer.Daemon [--verbose] {command} …\n\n  {usage.Replace("\n", "\n  ")}\n\n" +
        "every config key (for --config files and --set) is documented in config/reference.conf\n";
}
