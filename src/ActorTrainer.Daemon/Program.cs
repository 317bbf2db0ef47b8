using ActorTrainer.Daemon.Cli;
using ActorTrainer.Daemon.Commands;

// ActorTrainer daemon / CLI: train, evaluate, predict, export, summary. Exit codes (README.md, "Exit codes"):
// 0 ok, 2 bad input, 3 training diverged, 69 cluster workers unavailable, 70 internal error, 74 I/O error, 130 SIGINT / 143 SIGTERM outside training.

var verbose = args.Contains("--verbose");
args = args.Where(a => a != "--verbose").ToArray();
if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
{
    Console.Out.Write(CommandHelp.Overview);
    return args.Length == 0 ? ExitCodes.BadInput : ExitCodes.Ok;
}

var command = args[0];
var rest = args.Skip(1).ToArray();
if (CommandHelp.Requested(rest) && CommandHelp.Page(command) is { } page)
{
    Console.Out.Write(page);
    return ExitCodes.Ok;
}

using var signals = new SignalGate();

// The train command switches to JSON logs itself when its configuration says output.log-format = json.
using var loggerFactory = ActorTrainer.Daemon.Output.Logging.Begin(json: false);
// a signal that came while the outputs were written ends the process with its code, as its line says (SignalGate.Finish)
return signals.Finish(ErrorBoundary.Run(() =>
{
    // environment switches of the kernels are checked before any work starts (a bad value exits 2, naming it)
    _ = ActorTrainer.Kernels.KernelSettings.SparseOperands;
    _ = ActorTrainer.Kernels.KernelSettings.StreamingStores;
    _ = ActorTrainer.Kernels.KernelSettings.HugePages;
    _ = ActorTrainer.Kernels.KernelSettings.Prefault;
    return command switch
    {
        "train" => TrainCommand.Run(CommandLine.Parse("train", rest, ["config", "set", "run-dir", "resume"], ["overwrite"]), loggerFactory, signals),
        "worker" => WorkerCommand.Run(CommandLine.Parse("worker", rest, ["config", "set"], []), signals, Console.Out),
        "ps" => WorkerCommand.Run(CommandLine.Parse("ps", rest, ["config", "set"], []), signals, Console.Out, ps: true),
        "evaluate" => ModelCommands.Evaluate(CommandLine.Parse("evaluate", rest, ["model", "data", "batch-size", "set"], ["json"])),
        "predict" => ModelCommands.Predict(CommandLine.Parse("predict", rest, ["model", "input", "invert", "set"], [])),
        "export" => ModelCommands.Export(CommandLine.Parse("export", rest, ["model", "format", "output"], [])),
        "summary" => ModelCommands.Summary(CommandLine.Parse("summary", rest, ["model"], [])),
        _ when ActorTrainer.Daemon.Service.ServiceCommands.Verbs.Contains(command) => ActorTrainer.Daemon.Service.ServiceCommands.Run(command, rest, signals),
        _ => throw new UsageException($"unknown command '{command}' (commands: {string.Join(", ", CommandHelp.Commands)}; see --help)"),
    };
}, verbose, Console.Error));
