using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ActorTrainer.Daemon.Service;

/// <summary>
/// Keeps the HTTP side of <c>serve</c> from slowing its trainers (serve.nice): trainers are started from one
/// dedicated thread that keeps the daemon's original CPU priority, and then the thread that builds the host lowers
/// its own priority, which every thread it creates later (Kestrel, the thread pool, the job runner) inherits.
/// On Linux the nice value is per thread and inherited by threads and by child processes from the thread that
/// creates them, so trainers run at the original priority while status requests run below it.
/// </summary>
public static partial class ServicePriority
{
    private const int PrioProcess = 0;
    private static readonly BlockingCollection<(Func<Process> Start, TaskCompletionSource<Process> Done)> Requests = new();
    private static int _spawner;

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int prio);

    /// <summary>Starts the spawner thread at the caller's priority, then sets the calling thread's nice value to
    /// <paramref name="nice"/> (0 = leave priorities alone; only the spawner is started).</summary>
    public static void LowerServiceThreads(int nice)
    {
        if (Interlocked.Exchange(ref _spawner, 1) == 0)
            new Thread(Loop) { IsBackground = true, Name = "actortrainer-trainer-spawner" }.Start();
        if (nice > 0 && OperatingSystem.IsLinux()) SetPriority(PrioProcess, 0, nice);   // who = 0: this thread
    }

    /// <summary>Runs <paramref name="start"/> (which starts a process) on the spawner thread, so the process gets
    /// the original priority; runs it inline when no spawner was started.</summary>
    public static Process Spawn(Func<Process> start)
    {
        if (Volatile.Read(ref _spawner) == 0) return start();
        var done = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Requests.Add((start, done));
        return done.Task.GetAwaiter().GetResult();
    }

    private static void Loop()
    {
        foreach (var (start, done) in Requests.GetConsumingEnumerable())
        {
            try { done.SetResult(start()); }
            catch (Exception e) { done.SetException(e); }
        }
    }
}
