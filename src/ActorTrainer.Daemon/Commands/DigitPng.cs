using ActorTrainer.Daemon.Cli;
using SkiaSharp;

namespace ActorTrainer.Daemon.Commands;

/// <summary>A PNG as `predict` input: grayscale, resized to the model's input rows × columns (same aspect ratio), values in [0, 1] with the digit
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

    /// <summary>A decoded `predict` PNG: the model's input, whether it was inverted, and whether its transparent
    /// pixels were composited onto white (dark ink on a transparent background).</summary>
    public sealed record Image(float[] Pixels, bool Inverted, bool DarkInkOnTransparency)
    {
        /// <summary>The stderr note of an inversion `--invert auto` decided (null when it did not invert): it names the
        /// transparent background when that is what made the image light.</summary>
        public string? AutoNote(string path) => !Inverted ? null : DarkInkOnTransparency
            ? $"predict: '{path}' has dark ink on a transparent background (composited onto white): inverted to a light digit on black, as MNIST's (--invert no keeps it dark on white)"
            : $"predict: '{path}' has a light background: inverted to a light digit on black, as MNIST's (--invert no keeps it)";
    }

    /// <summary>Decodes a PNG for a model of input <paramref name="inputShape"/>: its size is checked first
    /// (<see cref="ModelImage.CheckPng"/>: the model's aspect ratio, named with the file otherwise); after resizing to
    /// the model's rows×cols (bilinear), x = <see cref="Luminance"/> / 255 composited by alpha over a
    /// background: black, or white when transparent pixels surround dark ink (the mean luminance of the pixels at least
    /// half opaque is below 0.5), as a viewer shows a drawing on a transparent background, so that it keeps its strokes;
    /// row-major. Then x ← 1 − x when `invert` says so. A file that is not a PNG, or one cut short (its image data
    /// incomplete), is refused naming it.</summary>
    public static Image Read(string path, IReadOnlyList<int> inputShape, Invert invert)
    {
        using var bmp = Decode(path);
        var (rows, cols) = ModelImage.CheckPng(path, bmp.Width, bmp.Height, inputShape);
        using var resized = bmp.Width == cols && bmp.Height == rows ? bmp.Copy() : bmp.Resize(new SKImageInfo(cols, rows), new SKSamplingOptions(SKFilterMode.Linear))
            ?? throw new InvalidDataException($"--input '{path}': cannot resize {bmp.Width}x{bmp.Height} to {cols}x{rows}");
        var gray = new float[rows * cols];
        var alpha = new float[rows * cols];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < cols; c++)
            {
                var px = resized.GetPixel(c, r);
                gray[r * cols + c] = Luminance(px) / 255f;
                alpha[r * cols + c] = px.Alpha / 255f;
            }
        var onWhite = DarkInkOnTransparency(gray, alpha);
        var background = onWhite ? 1f : 0f;
        var x = new float[rows * cols];
        for (var i = 0; i < x.Length; i++) x[i] = gray[i] * alpha[i] + background * (1f - alpha[i]);
        var inverted = invert == Invert.Yes || (invert == Invert.Auto && BorderMean(x, rows, cols) > 0.5);
        if (inverted)
            for (var i = 0; i < x.Length; i++) x[i] = 1f - x[i];
        return new Image(x, inverted, onWhite);
    }

    /// <summary>ITU-R 601-2 luma as PIL's <c>convert("L")</c> computes it, in 16-bit fixed point rounded to a byte:
    /// L = (19595 R + 38470 G + 7471 B + 2^15) >> 16 (0.299, 0.587, 0.114). A gray pixel (R = G = B = v) gives v
    /// exactly, so a PNG of an MNIST digit reaches the model as the IDX file's bytes do (v / 255), bit for bit, and a
    /// colour image as Keras users' PIL pipeline (<c>np.asarray(img.convert("L")) / 255</c>) gives it.</summary>
    internal static byte Luminance(SKColor px) => (byte)((px.Red * 19595 + px.Green * 38470 + px.Blue * 7471 + 0x8000) >> 16);

    private const int MaxSide = 16384;
    private const long MaxPixels = (long)MaxSide * MaxSide;     // 1 GiB as 32-bit pixels

    /// <summary>The PNG's pixels as SKBitmap.Decode gives them (premultiplied alpha), except that input cut short is
    /// refused: SKBitmap.Decode accepts SKCodec's IncompleteInput and leaves the missing rows zero (black).</summary>
    private static SKBitmap Decode(string path)
    {
        using var codec = SKCodec.Create(path, out var created)
            ?? throw new InvalidDataException(created == SKCodecResult.IncompleteInput
                ? $"--input '{path}' is truncated or corrupt: not a complete PNG"
                : $"--input '{path}': not a decodable PNG");
        var info = codec.Info;
        if ((long)info.Width * info.Height > MaxPixels)
            throw new InvalidDataException($"--input '{path}' is {info.Width}x{info.Height} pixels; predict decodes at most {MaxPixels:N0} " +
                                           $"({MaxSide}x{MaxSide}): shrink the image first");
        if (info.AlphaType == SKAlphaType.Unpremul) info.AlphaType = SKAlphaType.Premul;
        var bmp = new SKBitmap(info);
        var result = codec.GetPixels(info, bmp.GetPixels());
        if (result == SKCodecResult.Success) return bmp;
        bmp.Dispose();
        throw new InvalidDataException(result is SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput
            ? $"--input '{path}' is truncated or corrupt: not a complete PNG ({result})"
            : $"--input '{path}': not a decodable PNG ({result})");
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

    /// <summary>Mean of the outermost ring of pixels of a rows×cols image (the background of a centred digit).</summary>
    private static double BorderMean(float[] x, int rows, int cols)
    {
        if (rows == 1 || cols == 1) return x.Average();
        double sum = 0;
        for (var c = 0; c < cols; c++) sum += x[c] + x[(rows - 1) * cols + c];
        for (var r = 1; r < rows - 1; r++) sum += x[r * cols] + x[r * cols + cols - 1];
        return sum / (2 * cols + 2 * rows - 4);
    }
}
