using System.Runtime.InteropServices;

namespace ActorTrainer.Daemon.Cli;

/// <summary>
/// Routes SIGTERM and SIGINT. While training has claimed signals (<see cref="ClaimForTraining"/>) the first signal only
/// cancels <see cref="Token"/>: training finishes its step, checkpoints, writes its outputs and exits 0; a second signal
/// ends the process at once. At any other moment (startup, config parsing, data loading, output writing, the model
/// commands) a signal ends the process within a short grace with exit code 143 (SIGTERM) or 130 (SIGINT). While a
/// command waits on something it can simply give up (<see cref="ClaimForWaiting"/>: a client verb waiting for the
/// service) the first signal cancels <see cref="Token"/> and the command ends itself with that exit code
/// (<see cref="ClaimedSignal"/>), quietly; should it not have ended within <see cref="WaitingGrace"/>, or at a second
/// signal, the process ends with that code.
/// </summary>
public sealed class SignalGate : IDisposable
{
    private const int Idle = 0, Training = 1, Exiting = 2, Waiting = 3;
    private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a command that claimed signals for waiting has, after the first signal, to end itself.</summary>
    public static readonly TimeSpan WaitingGrace = TimeSpan.FromSeconds(1.5);
    private readonly CancellationTokenSource _cts = new();
    private readonly PosixSignalRegistration _term, _int;
    private readonly Action<int> _exit;
    private int _state = Idle;
    private int _signalsWhileClaimed;
    private int _claimedSignal;         // the exit code of the first signal while training or waiting (0: none)

    /// <summary>Installs the handlers; <paramref name="exit"/> ends the process (Environment.Exit unless testing).</summary>
    public SignalGate(Action<int>? exit = null)
    {
        _exit = exit ?? Environment.Exit;
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; OnSignal(ExitCodes.Terminated, "SIGTERM"); });
        _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; OnSignal(ExitCodes.Interrupted, "SIGINT"); });
    }

    /// <summary>Cancelled by the first signal that arrives while training.</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>Marks the start of training: signals now stop training gracefully. Dispose the result when training
    /// has returned; a signal after that ends the process again.</summary>
    public IDisposable ClaimForTraining() => Claim(Training);

    /// <summary>Marks the start of a wait the command can give up at once (a client verb waiting for the service): the
    /// first signal now cancels <see cref="Token"/>, and the command returns <see cref="ClaimedSignal"/> as its exit
    /// code. Dispose the result when the wait is over.</summary>
    public IDisposable ClaimForWaiting() => Claim(Waiting);

    /// <summary>The exit code of the first signal while training or waiting: 143 (SIGTERM), 130 (SIGINT), or 0 when
    /// none came.</summary>
    public int ClaimedSignal => Volatile.Read(ref _claimedSignal);

    private Release Claim(int state)
    {
        if (Interlocked.CompareExchange(ref _state, state, Idle) != Idle)
            Thread.Sleep(Timeout.Infinite);            // a signal is already ending the process
        return new Release(this, state);
    }

    private void OnSignal(int code, string name)
    {
        var previous = Interlocked.CompareExchange(ref _state, Exiting, Idle);
        if (previous is Training or Waiting)
        {
            Interlocked.CompareExchange(ref _claimedSignal, code, 0);
            _cts.Cancel();
            var first = Interlocked.Increment(ref _signalsWhileClaimed) < 2;
            if (previous == Waiting)
            {
                if (first) Thread.Sleep(WaitingGrace);     // the command ends itself meanwhile, and the process with it
                _exit(ClaimedSignal);
                return;
            }
            if (first) return;
            Console.Error.WriteLine($"error: second {name} while training; exiting without a final checkpoint");
            _exit(code);
            return;
        }
        if (previous == Idle)
        {
            _cts.Cancel();
            Console.Error.WriteLine($"error: {name} received; stopped before completion (exit code {code})");
            Thread.Sleep(Grace);
            _exit(code);
        }
    }

    /// <summary>The exit code of a command that returned <paramref name="code"/>. A signal outside training that has
    /// already begun ending the process (its "stopped before completion (exit code N)" line printed, say while the
    /// outputs were written after a first signal had stopped training) ends it with that code within its grace: the
    /// process never prints that line and then exits 0. Otherwise returns <paramref name="code"/>; a signal after this
    /// is ignored (the process is ending).</summary>
    public int Finish(int code)
    {
        if (Interlocked.CompareExchange(ref _state, Exiting, Idle) == Exiting)
            Thread.Sleep(Timeout.Infinite);            // the signal's handler ends the process with its code
        return code;
    }

    /// <summary>A run that the first signal while training stopped before its first step (a cluster coordinator waiting
    /// for its workers): there is nothing to checkpoint, so it ends as a signal outside training does, with the
    /// signal's exit code (143 SIGTERM, 130 SIGINT) and one line naming the signal and `why`.</summary>
    public SignalStopException StoppedBeforeTraining(string why)
    {
        int code = Volatile.Read(ref _claimedSignal) is var c and not 0 ? c : ExitCodes.Terminated;
        return new SignalStopException(code, $"{(code == ExitCodes.Interrupted ? "SIGINT" : "SIGTERM")} received; {why} (exit code {code})");
    }

    /// <summary>Removes the handlers.</summary>
    public void Dispose()
    {
        _term.Dispose();
        _int.Dispose();
        _cts.Dispose();
    }

    private sealed class Release(SignalGate gate, int claimed) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) Interlocked.CompareExchange(ref gate._state, Idle, claimed);
        }
    }
}
