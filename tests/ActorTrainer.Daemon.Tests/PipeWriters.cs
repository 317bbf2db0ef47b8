using Microsoft.Win32.SafeHandles;

namespace ActorTrainer.Daemon.Tests;

/// <summary>The writing ends of named pipes, each opened on a pool thread (an open for writing waits until a reader
/// opens the pipe). <see cref="WaitForReader"/> returns once a process has opened one of them for reading — proof that
/// it got that far, where a fixed sleep only guesses (a loaded machine can take longer to start the runtime, and a
/// signal that arrives before the process installs its handlers is lost). The open writing ends keep the reader
/// blocked in read(). Dispose releases the opens still waiting and closes everything.</summary>
public sealed class PipeWriters : IDisposable
{
    private readonly string[] _paths;
    private readonly Task<SafeFileHandle>[] _opens;

    /// <summary>Starts opening each pipe in <paramref name="paths"/> for writing.</summary>
    public PipeWriters(params string[] paths)
    {
        _paths = paths;
        _opens = paths.Select(p => Task.Factory.StartNew(() => File.OpenHandle(p, FileMode.Open, FileAccess.Write),
            TaskCreationOptions.LongRunning)).ToArray();
    }

    /// <summary>True once some process has opened one of the pipes for reading, false after <paramref name="timeout"/>.</summary>
    public bool WaitForReader(TimeSpan timeout) => Task.WaitAny(_opens, timeout) >= 0;

    /// <summary>Pairs every open still waiting with a reader opened here, then closes all the handles.</summary>
    public void Dispose()
    {
        for (int i = 0; i < _paths.Length; i++)
        {
            if (!_opens[i].IsCompleted)
            {
                try
                {
                    using var reader = File.OpenHandle(_paths[i], FileMode.Open, FileAccess.Read);
                    _opens[i].Wait(TimeSpan.FromSeconds(5));
                }
                catch (Exception) { /* the pipe is gone or the open failed: nothing left to release */ }
            }
            if (_opens[i].IsCompletedSuccessfully) _opens[i].Result.Dispose();
        }
    }
}
