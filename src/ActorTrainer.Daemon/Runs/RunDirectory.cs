using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Daemon.Output;
using ActorTrainer.Core;

namespace ActorTrainer.Daemon.Runs;

/// <summary>
/// A run directory held by this process: an advisory lock on <c>&lt;run-dir&gt;/.lock</c> (FileShare.None, i.e.
/// flock on Linux) for the whole run, so a second train on the same directory is refused; a fresh run refuses a
/// directory that already holds another run unless --overwrite, which first removes that run's files.
/// </summary>
public sealed class RunDirectory : IDisposable
{
    /// <summary>The folder of a run directory that holds the trained model (config.json + model.safetensors).</summary>
    public const string ModelFolder = "model";

    /// <summary>The files and folders a run writes; --overwrite removes exactly these.</summary>
    public static readonly string[] RunFileNames =
    [
        "summary.json", "history.csv", "config.conf", "predictions.png", "misclassified.png", "learning_curves.png",
        "error.log", ModelFolder, "tensorboard", "checkpoints",
    ];

    private readonly FileStream _lock;
    private readonly bool _created;

    private RunDirectory(string path, FileStream lockFile, bool created)
    {
        Path = path;
        _lock = lockFile;
        _created = created;
    }

    /// <summary>The directory.</summary>
    public string Path { get; }

    /// <summary>Creates (if needed) and locks <paramref name="path"/>. Unless <paramref name="resume"/>, a directory
    /// holding another run is refused, or emptied of that run's files when <paramref name="overwrite"/>.</summary>
    public static RunDirectory Open(string path, bool resume, bool overwrite, bool branch = false)
    {
        bool created = Create(path);
        var lockFile = TryLock(path) ?? throw new ConfigException(
            $"run directory '{path}' is in use by another train process (lock file {LockPath(path)} is held); wait for it or choose another --run-dir");
        var dir = new RunDirectory(path, lockFile, created);
        try
        {
            if (!resume) dir.ClaimForFreshRun(overwrite, branch);
            dir.SweepTemporaries();
        }
        catch
        {
            dir.Dispose();
            throw;
        }
        return dir;
    }

    /// <summary>A new run directory of a default name (train without --run-dir): <paramref name="basePath"/>, else
    /// basePath-2, basePath-3, …: the first that does not exist or is empty, and that this process then locks with
    /// nothing but its lock file inside; one that another process holds or has written into meanwhile is passed over,
    /// so two runs started in the same second never share (nor replace) a directory.</summary>
    public static RunDirectory OpenNew(string basePath)
    {
        for (var n = 1; n <= 1000; n++)
        {
            var path = n == 1 ? basePath : $"{basePath}-{n}";
            if (File.Exists(path) || Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any()) continue;
            bool created = Create(path);
            if (TryLock(path) is not { } lockFile) continue;
            var dir = new RunDirectory(path, lockFile, created);
            if (Directory.EnumerateFileSystemEntries(path).All(e => System.IO.Path.GetFileName(e) == ".lock")) return dir;
            lockFile.Dispose();             // written into by another process between the check and the lock: not ours
        }
        throw new ConfigException($"'{basePath}' and 999 numbered siblings ({basePath}-2 …) are all taken; give --run-dir");
    }

    /// <summary>Creates <paramref name="path"/> with its parents; true when it did not exist before.</summary>
    private static bool Create(string path)
    {
        if (File.Exists(path))
            throw new ConfigException($"--run-dir '{path}' is a file, not a directory");
        bool created = !Directory.Exists(path);
        try
        {
            Directory.CreateDirectory(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"--run-dir '{path}': cannot create the directory: {e.Message}");
        }
        return created;
    }

    private static string LockPath(string path) => System.IO.Path.Combine(path, ".lock");

    /// <summary>The run directory's lock, held exclusively; null when another process holds it.</summary>
    private static FileStream? TryLock(string path)
    {
        var lockPath = LockPath(path);
        try
        {
            return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (!HeldByAnother(lockPath))       // a read-only directory, say: the lock file cannot be written, nobody holds it
                throw new ConfigException($"run directory '{path}': cannot open its lock file {lockPath} for writing: {e.Message}");
            return null;
        }
    }

    /// <summary>True when another process holds <paramref name="lockPath"/>: it exists and cannot even be opened for
    /// reading beside others (on Unix .NET takes a shared lock for that, which an exclusive holder refuses).</summary>
    private static bool HeldByAnother(string lockPath)
    {
        if (!File.Exists(lockPath)) return false;
        try
        {
            using var probe = new FileStream(lockPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return true; }
    }

    /// <summary>The run files present in the directory.</summary>
    public IReadOnlyList<string> ExistingRunFiles() =>
        RunFileNames.Where(n => File.Exists(Combine(n)) || Directory.Exists(Combine(n))).ToArray();

    /// <summary>What shows that the directory holds a run: its summary, history, config, model or checkpoint files
    /// (an empty checkpoints folder or a lone error.log does not).</summary>
    public IReadOnlyList<string> RunMarkers()
    {
        var markers = new[] { "summary.json", "history.csv", "config.conf" }.Where(n => File.Exists(Combine(n))).ToList();
        if (Directory.Exists(Combine(ModelFolder))) markers.Add(ModelFolder + "/");
        var ckpt = Combine("checkpoints");
        if (Directory.Exists(ckpt) && Directory.EnumerateFiles(ckpt, "ckpt-*.bin").Any()) markers.Add("checkpoints/");
        return markers;
    }

    private string Combine(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>What is under model/ or checkpoints/ that a run does not put there (a user's file, a folder), relative
    /// to the run directory: the model's files and evaluate's evaluation.json, checkpoints, and their temporaries are a run's.</summary>
    private List<string> ForeignFiles()
    {
        string[] model = [ModelFiles.ConfigFile, ModelFiles.WeightsFile, ModelFiles.OptimizerFile, ModelFiles.EvaluationFile];
        var foreign = new List<string>();
        foreach (var (folder, ours) in new (string, Func<string, bool>)[]
                 {
                     (ModelFolder, n => model.Contains(n) || n.EndsWith(".tmp", StringComparison.Ordinal)),
                     ("checkpoints", n => n.StartsWith("ckpt-", StringComparison.Ordinal) && (n.EndsWith(".bin", StringComparison.Ordinal) || n.EndsWith(".tmp", StringComparison.Ordinal))),
                 })
        {
            if (!Directory.Exists(Combine(folder))) continue;
            foreach (var e in Directory.EnumerateFileSystemEntries(Combine(folder)))
                if (Directory.Exists(e) || !ours(System.IO.Path.GetFileName(e))) foreign.Add(System.IO.Path.GetRelativePath(Path, e));
        }
        return foreign;
    }

    /// <summary>The first line of the config.conf that train writes into a run directory before anything else
    /// (TrainCommand.RenderConfig): what tells a run of train from a folder that only holds files of the same names.</summary>
    public const string ConfigHeader = "# Effective configuration of";

    /// <summary>True when the directory holds a run that train wrote: its config.conf, the first file a run writes
    /// (before any checkpoint, history or model), starts with <see cref="ConfigHeader"/>.</summary>
    public bool WrittenByTrain()
    {
        try
        {
            using var reader = new StreamReader(Combine("config.conf"));
            return reader.ReadLine() is { } first && first.StartsWith(ConfigHeader, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    private bool HasCheckpointFiles() =>
        Directory.Exists(Combine("checkpoints")) && Directory.EnumerateFiles(Combine("checkpoints"), "ckpt-*.bin").Any();

    /// <summary>Refuses a directory holding a run (or replaces train's own with --overwrite). A branch
    /// (`--resume RUN --run-dir DIR`, with which --overwrite is refused) is told to choose another --run-dir.</summary>
    private void ClaimForFreshRun(bool overwrite, bool branch)
    {
        var markers = RunMarkers();
        bool ours = WrittenByTrain();
        if (markers.Count > 0 && !ours)     // a model/ or checkpoints/ of the user's: never continued, never deleted
            throw new ConfigException($"run directory '{Path}' holds {string.Join(", ", markers)} but no run that train wrote " +
                                      "(no config.conf of train's there), so train neither continues nor replaces it, even with " +
                                      "--overwrite (which would delete those files): choose another --run-dir");
        if (!overwrite && markers.Count == 0) return;
        if (branch)
            throw new ConfigException($"run directory '{Path}' already holds a run ({string.Join(", ", markers)}); a run continued " +
                                      "with --resume goes into a --run-dir that holds none: choose another --run-dir");
        if (!overwrite && markers is ["config.conf"])
            throw new ConfigException($"run directory '{Path}' holds a run that stopped before its first checkpoint (config.conf, " +
                                      "no checkpoint: nothing to resume); pass --overwrite to replace it, or choose another --run-dir");
        if (!overwrite)
            throw new ConfigException($"run directory '{Path}' already holds a run ({string.Join(", ", markers)}); " + (HasCheckpointFiles()
                                          ? $"continue it with 'train --resume {Path}', or pass --overwrite to replace it"
                                          : "it has no checkpoint to resume: pass --overwrite to replace it, or choose another --run-dir"));
        if (!ours) return;                  // nothing of a run here: the fresh run writes its files beside what there is
        if (ForeignFiles() is { Count: > 0 } foreign)
            throw new ConfigException($"run directory '{Path}': --overwrite deletes model/ and checkpoints/ whole, and they hold " +
                                      $"files train did not write ({string.Join(", ", foreign.Take(5))}{(foreign.Count > 5 ? ", …" : "")}); " +
                                      "move them out first, or choose another --run-dir");
        foreach (var name in ExistingRunFiles())
        {
            var p = Combine(name);
            if (Directory.Exists(p)) Directory.Delete(p, recursive: true);
            else File.Delete(p);
        }
    }

    /// <summary>True when both paths name the same directory: made absolute and with every symbolic link along them
    /// resolved (`--resume link/run --run-dir real/run` continues the run in place).</summary>
    public static bool Same(string a, string b) => string.Equals(RealPath(a), RealPath(b), StringComparison.Ordinal);

    /// <summary>The absolute path of `path` with each existing component that is a symbolic link replaced by its final
    /// target (as realpath(3) does for the part of the path that exists); no trailing separator. A link loop (more than
    /// 40 links, Linux' limit) or an unreadable link leaves the rest of the path as it is.</summary>
    private static string RealPath(string path, int depth = 0)
    {
        var full = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path));
        var root = System.IO.Path.GetPathRoot(full) ?? "";
        var resolved = root;
        foreach (var part in full[root.Length..].Split(System.IO.Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = System.IO.Path.Combine(resolved, part);
            FileSystemInfo? target = null;
            try { if (depth < 40) target = new DirectoryInfo(next).ResolveLinkTarget(returnFinalTarget: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            resolved = target is null ? next : RealPath(target.FullName, depth + 1);
        }
        return resolved;
    }

    /// <summary>The history.csv of a resumed run, written from the checkpoint's finished epochs by the run's own
    /// <see cref="ActorTrainer.Core.CSVLogger"/> (the header and one row per epoch, as the uninterrupted run wrote them) — whatever the
    /// file holds now (cut short, edited, deleted, or epochs past the checkpoint), so resuming never duplicates, loses
    /// or garbles an epoch row. <paramref name="metricNames"/> are the model's metric keys.</summary>
    public void TakeHistory(IReadOnlyList<ActorTrainer.Core.EpochLogs> epochs, IReadOnlyList<string> metricNames)
    {
        var path = Combine("history.csv");
        if (epochs.Count == 0)
        {
            if (File.Exists(path)) File.Delete(path);     // the fit's logger writes the header with the first epoch
            return;
        }
        var csv = new ActorTrainer.Core.CSVLogger(path, ",", false);
        csv.OnTrainBegin();
        foreach (var e in epochs) csv.OnEpochEnd(e.Epoch, ActorTrainer.Daemon.Commands.TrainOutcome.LogsOf(e, metricNames));
    }

    /// <summary>A branch (`--resume RUN --run-dir DIR`) starts with a copy of the checkpoint it resumes from in its own
    /// checkpoints/, so that DIR can itself be resumed even when this run trains no step (RUN had finished).</summary>
    public void TakeCheckpoint(string? source)
    {
        if (source is null) return;
        var folder = Directory.CreateDirectory(Combine("checkpoints")).FullName;
        var dest = System.IO.Path.Combine(folder, System.IO.Path.GetFileName(source));
        var tmp = dest + "." + Guid.NewGuid().ToString("N") + ".tmp";      // swept like a checkpoint's own temporary
        File.Copy(source, tmp);
        File.Move(tmp, dest, overwrite: true);
    }

    /// <summary>Deletes the temporary files of atomic writes that a killed process left (checkpoints/*.tmp and the run
    /// files' .NAME.*.tmp): under the lock no other process is writing them.</summary>
    private void SweepTemporaries()
    {
        var ckpt = Combine("checkpoints");
        var stale = Directory.EnumerateFiles(Path, ".*.tmp");
        if (Directory.Exists(ckpt)) stale = stale.Concat(Directory.EnumerateFiles(ckpt, "ckpt-*.bin.*.tmp"));
        foreach (var f in stale.ToArray())
        {
            try { File.Delete(f); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // best effort: it is not read
        }
    }

    /// <summary>Releases the lock; a directory this process created and left with nothing but its lock file (a run
    /// refused after it was opened) is removed.</summary>
    public void Dispose()
    {
        _lock.Dispose();
        if (!_created) return;
        try
        {
            if (Directory.EnumerateFileSystemEntries(Path).All(e => System.IO.Path.GetFileName(e) == ".lock"))
            {
                File.Delete(Combine(".lock"));
                Directory.Delete(Path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // someone else is using it now
    }
}
