using ActorTrainer.Daemon.Cli;
using ActorTrainer.Daemon.Commands;
using ActorTrainer.Daemon.Configuration;
using Microsoft.Extensions.Logging;

// ActorTrainer daemon / CLI: train, evaluate, predict, export, summary. Exit codes: 0 ok, 1 failure, 2 bad input.
var Help =
    "ActorTrainer — deep-learning training for .NET\n\n" +
    "usage: ActorTrainer.Daemon <command> [options]\n\n" +
    "commands:\n  " + TrainCommand.Usage.Replace("\n", "\n  ") + "\n  " +
    ModelCommands.Usage.Replace("\n", "\n  ") + "\n  " + ActorTrainer.Daemon.Service.ServiceCommands.Usage.Replace("\n", "\n  ") + "\n";

if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
{
    Console.Out.Write(Help);
    return args.Length == 0 ? 2 : 0;
}

var command = args[0];
var rest = args.Skip(1).ToArray();
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
    System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; cts.Cancel(); });

// The train command switches to JSON logs itself when its configuration says output.log-format = json.
using var loggerFactory = ActorTrainer.Daemon.Output.Logging.Create(json: false);
try
{
    return command switch
    {
        "train" => TrainCommand.Run(CommandLine.Parse("train", rest, ["config", "set", "run-dir", "resume"], []), loggerFactory, cts.Token),
        "evaluate" => ModelCommands.Evaluate(CommandLine.Parse("evaluate", rest, ["model", "data", "batch-size"], ["json"])),
        "predict" => ModelCommands.Predict(CommandLine.Parse("predict", rest, ["model", "input"], [])),
        "export" => ModelCommands.Export(CommandLine.Parse("export", rest, ["model", "format", "output"], [])),
        "summary" => ModelCommands.Summary(CommandLine.Parse("summary", rest, ["model"], [])),
        _ when ActorTrainer.Daemon.Service.ServiceCommands.Verbs.Contains(command) => ActorTrainer.Daemon.Service.ServiceCommands.Run(command, rest, cts.Token),
        _ => throw new UsageException($"unknown command '{command}' (commands: train, evaluate, predict, export, summary; see --help)"),
    };
}
catch (Exception e) when (e is UsageException or ConfigException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
