using ActorTrainer.Daemon.Cli;

namespace ActorTrainer.Daemon.Service;

/// <summary>Entry point of the service verbs for Program.cs: serve, submit, jobs, status, cancel, resume, logs, fetch.</summary>
public static class ServiceCommands
{
    /// <summary>The verbs this class handles.</summary>
    public static readonly string[] Verbs = ["serve", "submit", "jobs", "status", "cancel", "resume", "logs", "fetch"];

    /// <summary>Usage text of every service verb.</summary>
    public static string Usage => ServeCommand.Usage + "\n" + ClientCommands.Usage;

    /// <summary>Runs one service verb with the arguments after it; returns the exit code. <c>serve</c> claims the
    /// process's signals as training does: the first SIGTERM / SIGINT stops the service gracefully (its trainers
    /// checkpoint), a second one ends the process at once. A client verb claims them for waiting: a signal stops its
    /// wait for the service, and it exits 143 (SIGTERM) / 130 (SIGINT) with one line.</summary>
    public static int Run(string verb, string[] args, SignalGate signals) => verb switch
    {
        "serve" => ServeCommand.Run(CommandLine.Parse("serve", args, ["config", "set"], []), signals),
        _ => ClientCommands.Run(verb, args, signals),
    };
}
