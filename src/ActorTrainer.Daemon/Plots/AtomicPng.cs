using SkiaSharp;

namespace ActorTrainer.Daemon.Plots;

/// <summary>Encodes a Skia surface as PNG and writes it atomically (temp file in the same directory, then rename).</summary>
internal static class AtomicPng
{
    /// <summary>Writes <paramref name="surface"/> as a PNG at <paramref name="path"/>, creating the directory if needed.</summary>
    public static void Write(string path, SKSurface surface)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)
            ?? throw new ArgumentException($"PNG path '{path}' has no parent directory", nameof(path));
        Directory.CreateDirectory(dir);
        using SKImage image = surface.Snapshot();
        using SKData data = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"Skia failed to encode the PNG for '{path}'");
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                data.SaveTo(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            if (File.Exists(temp)) File.Delete(temp);
            throw;
        }
    }
}
