namespace ActorTrainer.Daemon.Service;

/// <summary>Safe access to the files of a run directory for <c>GET /jobs/{id}/files/{name}</c>: the name is a
/// relative path of plain segments (letters, digits, '.', '_', '-'; no '..', no hidden files) that resolves inside
/// the run directory.</summary>
public static class JobFiles
{
    /// <summary>The full path of <paramref name="name"/> inside <paramref name="runDir"/>, or an error message.</summary>
    public static (string? Path, string? Error) Resolve(string runDir, string name)
    {
        var segments = name.Split('/');
        foreach (var s in segments)
        {
            if (s.Length == 0 || s[0] == '.' || s.Length > 128)
                return (null, $"file name '{name}' is not allowed (relative path of plain names, e.g. learning_curves.png or model/config.json)");
            if (!s.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
                return (null, $"file name '{name}' has a character outside letters, digits, '.', '_' and '-'");
        }
        var root = Path.GetFullPath(runDir).TrimEnd('/') + "/";
        var full = Path.GetFullPath(Path.Combine(root, name));
        if (!full.StartsWith(root, StringComparison.Ordinal)) return (null, $"file name '{name}' leaves the run directory");
        var info = new FileInfo(full);
        if (!info.Exists || info.LinkTarget is not null) return (null, null);
        return (full, null);
    }

    /// <summary>Every regular file in the run directory (relative paths, '/'-separated), hidden files left out.</summary>
    public static IReadOnlyList<string> List(string runDir)
    {
        if (!Directory.Exists(runDir)) return [];
        var root = Path.GetFullPath(runDir);
        return Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Where(f => f.Split('/').All(s => !s.StartsWith('.')))
            .Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The Content-Type for a file name.</summary>
    public static string ContentType(string name) => Path.GetExtension(name).ToLowerInvariant() switch
    {
        ".png" => "image/png",
        ".json" => "application/json",
        ".csv" => "text/csv; charset=utf-8",
        ".log" or ".conf" or ".txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
}
