using SkiaSharp;

namespace ActorTrainer.Daemon.Plots;

/// <summary>PNG figures for training runs: digit grids and learning curves (headless, embedded font).</summary>
public static partial class Plots
{
    /// <summary>Height in pixels of the band holding the figure title above a digit grid.</summary>
    public const int GridTitleBand = 40;

    /// <summary>Height in pixels of the band holding each cell's "Label / Predict" caption.</summary>
    public const int CellCaptionBand = 22;

    /// <summary>Padding in pixels around each digit image within its cell.</summary>
    public const int CellPadding = 10;

    /// <summary>Integer upscale factor for a height×width image: max(1, 140 / max(height, width)) (5 for 28×28).</summary>
    public static int DigitScale(int height, int width) => Math.Max(1, 140 / Math.Max(height, width));

    /// <summary>
    /// Pixel size of a rows×cols digit grid of height×width images with scale s = DigitScale:
    /// Width = cols·(width·s + 2·CellPadding), Height = GridTitleBand + rows·(height·s + CellCaptionBand + CellPadding).
    /// </summary>
    public static (int Width, int Height) DigitGridSize(int height, int width, int rows, int cols)
    {
        int s = DigitScale(height, width);
        long w = (long)cols * (width * s + 2 * CellPadding);
        long h = GridTitleBand + (long)rows * (height * s + CellCaptionBand + CellPadding);
        return ((int)Math.Min(w, int.MaxValue), (int)Math.Min(h, int.MaxValue));
    }

    /// <summary>
    /// Grid of digit images (rows×cols, row-major, filled in the order of <paramref name="indices"/>; unused cells blank),
    /// each titled "Label: x / Predict: y" (red when x ≠ y; "Label: x" when predictions is null), drawn as in
    /// matplotlib's binary colormap (0 = white, 255 = black), upright (row r of an image is pixel row r).
    /// Shapes: pixels is N×height×width row-major; labels and predictions have N entries indexed by sample;
    /// indices holds at most rows·cols sample numbers in [0, N). PNG size is <see cref="DigitGridSize"/>. Atomic write.
    /// </summary>
    public static void DigitGrid(string path, byte[] pixels, int height, int width, int[] indices,
                                 int[] labels, int[]? predictions, int rows, int cols, string? title)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("Output PNG path must be a non-empty string", nameof(path));
        AtomicPng.Write(path, DigitGridPng(pixels, height, width, indices, labels, predictions, rows, cols, title));
    }

    /// <summary>The PNG bytes of <see cref="DigitGrid"/>'s figure (same arguments and checks, no file).</summary>
    public static byte[] DigitGridPng(byte[] pixels, int height, int width, int[] indices,
                                      int[] labels, int[]? predictions, int rows, int cols, string? title)
    {
        var (figW, figH) = CheckDigitGridArguments(pixels, height, width, indices, labels, predictions, rows, cols);
        long perImage = (long)height * width;
        int s = DigitScale(height, width);
        int cellW = width * s + 2 * CellPadding;
        int cellH = height * s + CellCaptionBand + CellPadding;

        using SKSurface surface = SKSurface.Create(new SKImageInfo(figW, figH, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"Skia could not allocate a {figW}×{figH} surface for a digit grid");
        SKCanvas canvas = surface.Canvas;
        canvas.Clear(SKColors.White);

        using var titleFont = new SKFont(EmbeddedFont.Bold, 20f);
        using var black = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var red = new SKPaint { Color = new SKColor(0xD0, 0x10, 0x10), IsAntialias = true };
        using var frame = new SKPaint { Color = new SKColor(0xC8, 0xC8, 0xC8), IsAntialias = false, Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
        using var ink = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };

        if (!string.IsNullOrEmpty(title))
            DrawFitted(canvas, title, figW / 2f, GridTitleBand - 12, figW - 8, titleFont, black);

        using var captionFont = new SKFont(EmbeddedFont.Regular, 13f);
        for (int k = 0; k < indices.Length; k++)
        {
            int r = k / cols, c = k % cols;
            int sample = indices[k];
            float x0 = c * cellW + CellPadding;
            float y0 = GridTitleBand + r * cellH + CellCaptionBand;

            int label = labels[sample];
            bool wrong = predictions is not null && predictions[sample] != label;
            string caption = predictions is null ? $"Label: {label}" : $"Label: {label} / Predict: {predictions[sample]}";
            DrawFitted(canvas, caption, x0 + width * s / 2f, y0 - 6, cellW - 4, captionFont, wrong ? red : black);

            DrawDigit(canvas, pixels, (int)(sample * perImage), height, width, x0, y0, s, ink);
            canvas.DrawRect(x0 - 0.5f, y0 - 0.5f, width * s + 1, height * s + 1, frame);
        }
        return AtomicPng.Encode(surface, "digit grid");
    }

    /// <summary>DigitGrid's argument checks; returns the figure size in pixels.</summary>
    private static (int Width, int Height) CheckDigitGridArguments(byte[] pixels, int height, int width,
        int[] indices, int[] labels, int[]? predictions, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(labels);
        if (height <= 0) throw new ArgumentOutOfRangeException(nameof(height), height, "Image height must be positive");
        if (width <= 0) throw new ArgumentOutOfRangeException(nameof(width), width, "Image width must be positive");
        if (rows <= 0) throw new ArgumentOutOfRangeException(nameof(rows), rows, "Grid rows must be positive");
        if (cols <= 0) throw new ArgumentOutOfRangeException(nameof(cols), cols, "Grid cols must be positive");
        long perImage = (long)height * width;
        if (pixels.Length % perImage != 0)
            throw new ArgumentException(
                $"pixels has {pixels.Length} bytes, not a multiple of height×width = {height}×{width} = {perImage}", nameof(pixels));
        int count = (int)(pixels.Length / perImage);
        if (labels.Length != count)
            throw new ArgumentException($"labels has {labels.Length} entries but pixels holds {count} images of {height}×{width}", nameof(labels));
        if (predictions is not null && predictions.Length != count)
            throw new ArgumentException($"predictions has {predictions.Length} entries but pixels holds {count} images of {height}×{width}", nameof(predictions));
        if ((long)rows * cols < indices.Length)
            throw new ArgumentException($"indices has {indices.Length} entries but a {rows}×{cols} grid holds only {rows * cols}", nameof(indices));
        for (int k = 0; k < indices.Length; k++)
        {
            if (indices[k] < 0 || indices[k] >= count)
                throw new ArgumentException($"indices[{k}] = {indices[k]} is outside [0, {count}) (number of images in pixels)", nameof(indices));
        }
        var (figW, figH) = DigitGridSize(height, width, rows, cols);
        if (figW > 16384 || figH > 16384)
            throw new ArgumentException($"A {rows}×{cols} grid of {height}×{width} images would be {figW}×{figH} px, more than 16384 on a side", nameof(rows));
        return (figW, figH);
    }

    /// <summary>Draws one height×width image (bytes from pixels[offset]) with its top-left corner at (x0, y0), each
    /// pixel an s×s square in matplotlib's binary colormap (0 = white, left undrawn).</summary>
    private static void DrawDigit(SKCanvas canvas, byte[] pixels, int offset, int height, int width, float x0, float y0, int s, SKPaint ink)
    {
        for (int py = 0; py < height; py++)
        {
            for (int px = 0; px < width; px++)
            {
                byte v = pixels[offset + py * width + px];
                if (v == 0) continue;
                byte g = (byte)(255 - v);
                ink.Color = new SKColor(g, g, g);
                canvas.DrawRect(x0 + px * s, y0 + py * s, s, s, ink);
            }
        }
    }

    /// <summary>Draws <paramref name="text"/> centred at x on baseline y, shrinking the font so it fits maxWidth.</summary>
    private static void DrawFitted(SKCanvas canvas, string text, float x, float y, float maxWidth, SKFont font, SKPaint paint)
    {
        float measured = font.MeasureText(text);
        if (measured <= maxWidth || measured <= 0)
        {
            canvas.DrawText(text, x, y, SKTextAlign.Center, font, paint);
            return;
        }
        using var smaller = new SKFont(font.Typeface, font.Size * maxWidth / measured);
        canvas.DrawText(text, x, y, SKTextAlign.Center, smaller, paint);
    }
}
