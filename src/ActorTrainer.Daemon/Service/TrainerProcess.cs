using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace ActorTrainer.Daemon.Service;

/// <summary>
/// A <c>train</c> child process of the daemon's own executable. Its stdout and stderr go to
/// <c>&lt;run-dir&gt;/train.log</c> (appended, so the log survives restarts and a daemon that died), and it is
/// stopped with SIGTERM, on which the trainer finishes the step, writes a checkpoint and exits 0.
/// </summary>
public static partial class TrainerProcess
{
    /// <summary>Name of the log file in the run directory.</summary>
    public const string LogFile = "train.log";

    /// <summary>Name of the job's effective configuration in the run directory.</summary>
    public const string ConfigFile = "job.conf";

    /// <summary>The environment variable that tells a trainer it runs job ID of the service (its value).</summary>
    public const string JobIdVariable = "ACTORTRAINER_SERVICE_JOB";

    private const int SIGTERM = 15, SIGKILL = 9;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>The command that starts this executable again: the apphost, or <c>dotnet ActorTrainer.Daemon.dll</c>.</summary>
    public static (string File, string[] Prefix) SelfCommand()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell the daemon's own executable (Environment.ProcessPath is null)");
        var name = Path.GetFileNameWithoutExtension(process);
        if (name == "dotnet") return (process, [typeof(TrainerProcess).Assembly.Location]);
        return (process, []);
    }

    /// <summary>Starts <c>train --run-dir DIR --config DIR/job.conf --overwrite</c>, or <c>train --resume DIR</c>, with
    /// JSON logs. (--overwrite deletes only a previous attempt's run files; job.conf and train.log stay.)</summary>
    public static Process Start(string runDir, bool resume)
    {
        var (file, prefix) = SelfCommand();
        var psi = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            WorkingDirectory = Environment.CurrentDirectory,
        };
        // exec keeps the PID: the process we hold (and signal) is the trainer itself.
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$@\" >>\"$ACTORTRAINER_JOB_LOG\" 2>&1");
        psi.ArgumentList.Add("actortrainer-job");
        psi.ArgumentList.Add(file);
        foreach (var p in prefix) psi.ArgumentList.Add(p);
        string[] args = resume
            ? ["train", "--resume", runDir]
            : ["train", "--run-dir", runDir, "--config", Path.Combine(runDir, ConfigFile), "--overwrite"];   // a restart from scratch replaces a partial run
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("--set");
        psi.ArgumentList.Add("output.log-format=json");
        psi.Environment["ACTORTRAINER_JOB_LOG"] = Path.Combine(runDir, LogFile);
        psi.Environment[JobIdVariable] = Path.GetFileName(runDir);   // the trainer's resume hint names the service's verb
        var p2 = ServicePriority.Spawn(() => Process.Start(psi) ?? throw new InvalidOperationException($"could not start the trainer for {runDir}"));
        p2.StandardInput.Close();
        return p2;
    }

    /// <summary>Sends SIGTERM (checkpoint and exit) to <paramref name="pid"/>; false when it is gone.</summary>
    public static bool Terminate(int pid) => Kill(pid, SIGTERM) == 0;

    /// <summary>Sends SIGKILL to <paramref name="pid"/>; false when it is gone.</summary>
    public static bool ForceKill(int pid) => Kill(pid, SIGKILL) == 0;

    /// <summary>The start time of a live process (/proc/PID/stat field 22, clock ticks since boot), or null when
    /// there is no such process (or it is a zombie).</summary>
    public static long? StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            // Fields after the command name, which is in parentheses and may hold spaces.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields[0] is "Z" or "X") return null;
            return long.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>True when the process <paramref name="pid"/> that started at <paramref name="start"/> still runs.</summary>
    public static bool IsAlive(int pid, long start) => StartTime(pid) == start;

    /// <summary>Stops a process this daemon did not start (a trainer left running by a daemon that died): SIGTERM,
    /// wait up to <paramref name="timeout"/> for it to checkpoint and exit, then SIGKILL.</summary>
    public static async Task StopOrphanAsync(int pid, long start, TimeSpan timeout)
    {
        if (!IsAlive(pid, start)) return;
        Terminate(pid);
        var deadline = DateTime.UtcNow + timeout;
        while (IsAlive(pid, start) && DateTime.UtcNow < deadline) await Task.Delay(100);
        if (IsAlive(pid, start)) ForceKill(pid);
        while (IsAlive(pid, start)) await Task.Delay(50);
    }
}
