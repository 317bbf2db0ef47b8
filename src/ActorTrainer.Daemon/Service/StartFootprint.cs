namespace ActorTrainer.Daemon.Service;

/// <summary>What one start of <c>serve</c> created on disk (the runs root and the job store's folder with their missing
/// parents, the lock files, the job store and its SQLite companions), so that a start refused before it listens (a
/// port in use, a job store that is not one) removes them again and leaves the disk as it found it. Only what did not
/// exist before is recorded, so nothing that was there is ever removed; a folder is removed only when it is empty.</summary>
internal sealed class StartFootprint
{
    private static readonly string[] SqliteCompanions = ["", "-wal", "-shm", "-journal"];
    private readonly List<string> _files = [];
    private readonly List<string> _folders = [];    // outermost first

    /// <summary>Creates <paramref name="path"/> and its missing parents (Directory.CreateDirectory), recording those it created.</summary>
    public void CreateFolder(string path)
    {
        var missing = new List<string>();
        for (var p = Path.GetFullPath(path); p is not null && !Directory.Exists(p) && !File.Exists(p); p = Path.GetDirectoryName(p))
            missing.Insert(0, p);
        Directory.CreateDirectory(path);
        _folders.AddRange(missing.Where(m => !_folders.Contains(m)));
    }

    /// <summary>Records <paramref name="file"/> when it does not exist yet (call before creating it).</summary>
    public void WillCreate(string file)
    {
        if (!File.Exists(file) && !_files.Contains(file)) _files.Add(file);
    }

    /// <summary>Records the SQLite database <paramref name="file"/> and its -wal, -shm and -journal files that do not exist yet.</summary>
    public void WillCreateDatabase(string file)
    {
        foreach (var suffix in SqliteCompanions) WillCreate(file + suffix);
    }

    /// <summary>Removes what was recorded: the files (a lock file while its lock is still held, so no other start can take
    /// a lock on the name meanwhile), then the folders innermost first, each only when empty. Best effort: what cannot be
    /// removed stays (the start's own error is what the user must see).</summary>
    public void Undo()
    {
        foreach (var file in _files)
        {
            try { File.Delete(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        for (int i = _folders.Count - 1; i >= 0; i--)
        {
            try { if (Directory.Exists(_folders[i]) && !Directory.EnumerateFileSystemEntries(_folders[i]).Any()) Directory.Delete(_folders[i]); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }
}
