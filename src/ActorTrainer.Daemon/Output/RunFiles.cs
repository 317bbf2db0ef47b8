using System.Text.Json;
using System.Text.Json.Nodes;

namespace ActorTrainer.Daemon.Output;

/// <summary>Atomic writes of run-directory files (temp file in the same directory, fsync, rename).</summary>
public static class RunFiles
{
    /// <summary>Writes text atomically.</summary>
    public static void WriteText(string path, string text) => Write(path, fs =>
    {
        using var w = new StreamWriter(fs, leaveOpen: true);
        w.Write(text);
    });

    /// <summary>Copies <paramref name="source"/> to <paramref name="path"/> atomically (a temporary file in the same
    /// directory, fsync, rename): an interrupted copy leaves no partial file under the real name, and a cancelled one
    /// (<paramref name="ct"/>) no temporary file either.</summary>
    public static void WriteStream(string path, Stream source, CancellationToken ct = default) =>
        Write(path, fs => source.CopyToAsync(fs, ct).GetAwaiter().GetResult());

    /// <summary>Creates a temporary file beside <paramref name="path"/>, lets <paramref name="fill"/> write it, fsyncs
    /// and renames it over <paramref name="path"/>; on any failure the temporary file is deleted.</summary>
    private static void Write(string path, Action<FileStream> fill)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                fill(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>Writes an indented JSON object atomically.</summary>
    public static void WriteJson(string path, JsonObject json) =>
        WriteText(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
}
