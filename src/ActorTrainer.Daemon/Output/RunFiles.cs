using System.Text.Json;
using System.Text.Json.Nodes;

namespace ActorTrainer.Daemon.Output;

/// <summary>Atomic writes of run-directory files (temp file in the same directory, fsync, rename).</summary>
public static class RunFiles
{
    /// <summary>Writes text atomically.</summary>
    public static void WriteText(string path, string text)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            using (var w = new StreamWriter(fs))
            {
                w.Write(text);
                w.Flush();
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

    /// <summary>Copies <paramref name="source"/> to <paramref name="path"/> atomically (a temporary file in the same
    /// directory, fsync, rename): an interrupted copy leaves no partial file under the real name.</summary>
    public static void WriteStream(string path, Stream source)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                source.CopyTo(fs);
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
