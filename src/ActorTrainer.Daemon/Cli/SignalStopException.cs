namespace ActorTrainer.Daemon.Cli;

/// <summary>A signal stopped the command where there was nothing to finish gracefully (see
/// <see cref="SignalGate.StoppedBeforeTraining"/>): the error boundary prints Message and exits with Code (143 / 130).</summary>
public sealed class SignalStopException(int code, string message) : Exception(message)
{
    /// <summary>The exit code: <see cref="ExitCodes.Terminated"/> or <see cref="ExitCodes.Interrupted"/>.</summary>
    public int Code => code;
}
