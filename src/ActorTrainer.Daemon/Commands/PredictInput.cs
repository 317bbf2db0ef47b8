using System.Text;

namespace ActorTrainer.Daemon.Commands;

/// <summary>
/// What kind of file <c>predict --input FILE</c> is, told by its first bytes (not its name): a PNG (the 8-byte PNG
/// signature), or an IDX image file, raw (its magic number starts with two zero bytes) or gzip-compressed (1f 8b). Any
/// other file (a CSV, a JPEG, a text file, an empty file) is refused naming it and what it starts with, instead of
/// being read as IDX and failing on its "magic number".
/// </summary>
public static class PredictInput
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>True for a PNG, false for an IDX file (raw or gzip); an <see cref="InvalidDataException"/> (exit 2)
    /// naming <paramref name="path"/> for an empty file or one of any other kind.</summary>
    public static bool IsPng(string path)
    {
        var head = new byte[8];
        int n;
        using (var f = File.OpenRead(path)) n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n == 0) throw new InvalidDataException($"--input '{path}' is empty (0 bytes); give an IDX image file (.gz ok) or a PNG");
        if (n == 8 && head.AsSpan().SequenceEqual(PngSignature)) return true;
        if (n >= 2 && (head[0], head[1]) is (0, 0) or (0x1f, 0x8b)) return false;
        throw new InvalidDataException($"--input '{path}' is neither a PNG nor an IDX image file (it starts with {Show(head.AsSpan(0, n))}); " +
                                       "predict reads an IDX image file (raw or gzip, e.g. t10k-images-idx3-ubyte.gz) or a PNG: convert other " +
                                       "formats (CSV, JPEG, ...) to one of them first");
    }

    /// <summary>"65 70 6F 63 68 2C 6C 6F ("epoch,lo")": the bytes in hex, and as text when they all are printable ASCII.</summary>
    private static string Show(ReadOnlySpan<byte> bytes)
    {
        var hex = Convert.ToHexString(bytes);
        var spaced = string.Join(" ", Enumerable.Range(0, bytes.Length).Select(i => hex.Substring(2 * i, 2)));
        foreach (var b in bytes)
            if (b is < 0x20 or > 0x7e) return spaced;
        return $"{spaced} (\"{Encoding.ASCII.GetString(bytes)}\")";
    }
}
