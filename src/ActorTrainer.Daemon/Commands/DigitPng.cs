using ActorTrainer.Daemon.Cli;
using SkiaSharp;

namespace ActorTrainer.Daemon.Commands;

/// <summary>A PNG as `predict` input: grayscale, resized to the model's square input, values in [0, 1] with the digit
/// light on a black background as MNIST's are (a dark digit on a light background is inverted, see <see cref="Invert"/>).</summary>
public static class DigitPng
{
    /// <summary>`predict --invert`: Auto inverts when the image's border is light (mean above 0.5), Yes always, No never.</summary>
    public enum Invert { Auto, Yes, No }

    /// <summary>The --invert value (null: Auto); UsageException naming the option for anything else.</summary>
    public static Invert ParseInvert(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "auto" => Invert.Auto,
        "yes" or "true" or "on" => Invert.Yes,
        "no" or "false" or "off" => Invert.No,
        _ => throw new UsageException($"predict: --invert must be auto, yes or no, got '{value}'"),
    };

    /// <summary>True when the file starts with the PNG signature.</summary>
    public static bool IsPng(string path)
    {
        Span<byte> sig = stackalloc byte[8];
        using var f = File.OpenRead(path);
        return f.Read(sig) == 8 && sig.SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A });
    }

    /// <summary>Decodes a PNG: after resizing to side×side (bilinear), x = luminance (0.299 R + 0.587 G + 0.114 B) / 255
    /// composited by alpha over a background: black, or white when transparent pixels surround dark ink (the mean
    /// luminance of the pixels at least half opaque is below 0.5), so that a drawing on a transparent background keeps
    /// its strokes; row-major. Then x ← 1 − x when `invert` says so (`inverted` tells whether it did).</summary>
    public static float[] Read(string path, int side, Invert invert, out bool inverted)
    {
        using var bmp = SKBitmap.Decode(path) ?? throw new InvalidDataException($"--input '{path}': not a decodable PNG");
        using var resized = bmp.Width == side && bmp.Height == side ? bmp.Copy() : bmp.Resize(new SKImageInfo(side, side), new SKSamplingOptions(SKFilterMode.Linear))
            ?? throw new InvalidDataException($"--input '{path}': cannot resize {bmp.Width}x{bmp.Height} to {side}x{side}");
        var gray = new float[side * side];
        var alpha = new float[side * side];
        for (var r = 0; r < side; r++)
            for (var c = 0; c < side; c++)
            {
                var px = resized.GetPixel(c, r);
                gray[r * side + c] = (0.299f * px.Red + 0.587f * px.Green + 0.114f * px.Blue) / 255f;
                alpha[r * side + c] = px.Alpha / 255f;
            }
        var background = DarkInkOnTransparency(gray, alpha) ? 1f : 0f;
        var x = new float[side * side];
        for (var i = 0; i < x.Length; i++) x[i] = gray[i] * alpha[i] + background * (1f - alpha[i]);
        inverted = invert == Invert.Yes || (invert == Invert.Auto && BorderMean(x, side) > 0.5);
        if (inverted)
            for (var i = 0; i < x.Length; i++) x[i] = 1f - x[i];
        return x;
    }

    /// <summary>True when some pixels are transparent and the (at least half) opaque ones are dark on average.</summary>
    private static bool DarkInkOnTransparency(float[] gray, float[] alpha)
    {
        if (Array.TrueForAll(alpha, a => a >= 1f)) return false;
        double sum = 0;
        var n = 0;
        for (var i = 0; i < gray.Length; i++)
            if (alpha[i] >= 0.5f) { sum += gray[i]; n++; }
        return n > 0 && sum / n < 0.5;
    }

    /// <summary>Mean of the outermost ring of pixels (the background of a centred digit).</summary>
    private static double BorderMean(float[] x, int side)
    {
        if (side == 1) return x[0];
        double sum = 0;
        for (var i = 0; i < side; i++) sum += x[i] + x[(side - 1) * side + i];
        for (var r = 1; r < side - 1; r++) sum += x[r * side] + x[r * side + side - 1];
        return sum / (4 * side - 4);
    }
}
