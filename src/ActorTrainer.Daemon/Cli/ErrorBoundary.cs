using ActorTrainer.Core;
using ActorTrainer.Runtime;

namespace ActorTrainer.Daemon.Cli;

/// <summary>
/// The one error boundary of every command: maps an exception to its exit code (see <see cref="ExitCodes"/>) and one
/// line on stderr. Input errors name the file, key or value; an unexpected error prints its type and message, and its
/// stack trace only with --verbose; the full trace also goes to &lt;run-dir&gt;/error.log when a run directory exists.
/// </summary>
public static class ErrorBoundary
{
    /// <summary>The run directory of the current train command once it exists (for error.log), else null.</summary>
    public static string? RunDirectory { get; set; }

    /// <summary>Runs <paramref name="command"/> and returns its exit code, or the code of the exception it threw.</summary>
    public static int Run(Func<int> command, bool verbose, TextWriter stderr)
    {
        try
        {
            return command();
        }
        catch (Exception e)
        {
            var (code, line) = Classify(e);
            stderr.WriteLine("error: " + OneLine(line));
            if (code == ExitCodes.Software)
            {
                var log = WriteErrorLog(e);
                if (verbose) stderr.WriteLine(e.ToString());
                else stderr.WriteLine(log is null ? "(run again with --verbose for the stack trace)" : $"(stack trace in {log}; or run again with --verbose)");
            }
            else if (verbose) stderr.WriteLine(e.ToString());
            return code;
        }
    }

    /// <summary>The exit code and message of an exception.</summary>
    public static (int Code, string Message) Classify(Exception e)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } agg) return Classify(agg.InnerException!);
        return e switch
        {
            SignalStopException stop => (stop.Code, stop.Message),
            InputException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException => (ExitCodes.BadInput, e.Message),
            TrainingDivergedException => (ExitCodes.Diverged, e.Message),
            ActorTrainer.Kernels.KernelSettingException => (ExitCodes.BadInput, e.Message),   // names the environment variable
            // The GPU backend cannot start (no driver, device or cuBLAS): the user fixes it by config (trainer.backend).
            // (evaluate, predict and worker word the fallback for themselves: Commands.GpuBackend.Run)
            ActorTrainer.Cuda.CudaUnavailableException => (ExitCodes.BadInput, ActorTrainer.Daemon.Commands.GpuBackend.Advice("train", e.Message)),
            ActorTrainer.Cuda.CudaOutOfMemoryException => (ExitCodes.BadInput, e.Message),       // names the buffer, the size and the fallback
            OutOfMemoryException => (ExitCodes.BadInput, $"out of memory ({e.Message}); use a smaller trainer.batch-size or model"),
            IOException or UnauthorizedAccessException => (ExitCodes.IoError, e.Message),
            ActorTrainer.Runtime.Clustering.WorkersUnavailableException => (ExitCodes.Unavailable, e.Message),
            _ => (ExitCodes.Software, $"internal error ({e.GetType().Name}): {e.Message}"),
        };
    }

    private static string OneLine(string message) =>
        string.Join(" ", message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static string? WriteErrorLog(Exception e)
    {
        if (RunDirectory is not { } dir || !Directory.Exists(dir)) return null;
        try
        {
            var path = Path.Combine(dir, "error.log");
            File.AppendAllText(path, $"{DateTime.UtcNow:O} {e}\n");
            return path;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
