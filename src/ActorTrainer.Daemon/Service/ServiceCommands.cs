using ActorTrainer.Daemon.Cli;

namespace ActorTrainer.Daemon.Service;

/// <summary>Entry point of the service verbs for Program.cs: serve, submit, jobs, status, cancel, logs.</summary>
public static class ServiceCommands
{
    /// <summary>The verbs this class handles.</summary>
    public static readonly string[] Verbs = ["serve", "submit", "jobs", "status", "cancel", "logs"];

    /// <summary>Usage text of every service verb.</summary>
    public static string Usage => ServeCommand.Usage + "\n" + ClientCommands.Usage;

    /// <summary>Runs one service verb with the arguments after it; returns the exit code.</summary>
    public static int Run(string verb, string[] args, CancellationToken ct) => verb switch
    {
        "serve" => ServeCommand.Run(CommandLine.Parse("serve", args, ["config", "set"], [])),
        _ => ClientCommands.Run(verb, args, ct),
    };
}
