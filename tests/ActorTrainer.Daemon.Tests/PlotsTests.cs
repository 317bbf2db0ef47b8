using ActorTrainer.Daemon.Plots;
using SkiaSharp;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

public sealed class PlotsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "at-plots-" + Guid.NewGuid().ToString("N"));

    public PlotsTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private string P(string name) => Path.Combine(_dir, name);

    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static SKBitmap LoadPng(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(PngSignature, bytes[..8]);
        return SKBitmap.Decode(bytes) ?? throw new Xunit.Sdk.XunitException($"{path} does not decode as an image");
    }

    /// <summary>Six 4×3 images; image i has only pixel row (i % 4) set to 255 and the rest 0.</summary>
    private static byte[] StripeImages()
    {
        var pixels = new byte[6 * 4 * 3];
        for (int i = 0; i < 6; i++)
            for (int c = 0; c < 3; c++)
                pixels[i * 12 + (i % 4) * 3 + c] = 255;
        return pixels;
    }

    private static int CountPixels(SKBitmap bmp, int x0, int y0, int x1, int y1, Func<SKColor, bool> predicate)
    {
        int n = 0;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
                if (predicate(bmp.GetPixel(x, y))) n++;
        return n;
    }

    private static bool IsRed(SKColor c) => c.Red > 150 && c.Green < 110 && c.Blue < 110;
    private static bool IsDark(SKColor c) => c.Red < 100 && c.Green < 100 && c.Blue < 100;

    [Fact]
    public void DigitGridSize_follows_the_documented_layout()
    {
        Assert.Equal(5, Plots.Plots.DigitScale(28, 28));
        Assert.Equal((800, 384), Plots.Plots.DigitGridSize(28, 28, 2, 5));
        Assert.Equal((1600, 900), Plots.Plots.DigitGridSize(28, 28, 5, 10));
        Assert.Equal(35, Plots.Plots.DigitScale(4, 3));
        Assert.Equal((2 * (3 * 35 + 20), 40 + 3 * (4 * 35 + 22 + 10)), Plots.Plots.DigitGridSize(4, 3, 3, 2));
        Assert.Equal(1, Plots.Plots.DigitScale(200, 100));
    }

    [Fact]
    public void DigitGrid_writes_a_png_of_the_expected_size_with_upright_digits()
    {
        byte[] pixels = StripeImages();
        int[] labels = [0, 1, 2, 3, 4, 5];
        int[] predictions = [0, 9, 2, 3, 4, 5];
        string path = P("grid.png");
        Plots.Plots.DigitGrid(path, pixels, 4, 3, [0, 1, 2, 3, 4], labels, predictions, 3, 2, "Stripes");

        using SKBitmap bmp = LoadPng(path);
        Assert.Equal(250, bmp.Width);
        Assert.Equal(40 + 3 * 172, bmp.Height);
        const int s = 35, cellW = 3 * s + 20, cellH = 4 * s + 22 + 10;
        for (int k = 0; k < 5; k++)
        {
            int x0 = (k % 2) * cellW + 10, y0 = 40 + (k / 2) * cellH + 22;
            for (int r = 0; r < 4; r++)
            {
                for (int c = 0; c < 3; c++)
                {
                    SKColor centre = bmp.GetPixel(x0 + c * s + s / 2, y0 + r * s + s / 2);
                    byte expected = r == k % 4 ? (byte)0 : (byte)255;
                    Assert.Equal(expected, centre.Red);
                    Assert.Equal(expected, centre.Green);
                    Assert.Equal(expected, centre.Blue);
                }
            }
        }
        // The sixth cell is unused: all white inside the image area.
        int ux = 1 * cellW + 10, uy = 40 + 2 * cellH + 22;
        Assert.Equal(0, CountPixels(bmp, ux, uy, ux + 3 * s, uy + 4 * s, c => c != SKColors.White));
    }

    /// <summary>The in-memory PNG (TensorBoard's image) is byte for byte the file DigitGrid writes, and decodes to
    /// the figure's size.</summary>
    [Fact]
    public void DigitGridPng_bytes_equal_the_written_file()
    {
        int[] labels = [0, 1, 2, 3, 4, 5];
        string path = P("same.png");
        Plots.Plots.DigitGrid(path, StripeImages(), 4, 3, [0, 1, 2], labels, labels, 2, 2, "Same");
        var png = Plots.Plots.DigitGridPng(StripeImages(), 4, 3, [0, 1, 2], labels, labels, 2, 2, "Same");
        Assert.Equal(File.ReadAllBytes(path), png);
        using var bmp = SKBitmap.Decode(png);
        Assert.Equal(Plots.Plots.DigitGridSize(4, 3, 2, 2), (bmp.Width, bmp.Height));
    }

    [Fact]
    public void DigitGrid_captions_render_with_the_embedded_font_and_are_red_only_when_wrong()
    {
        int[] labels = [0, 1, 2, 3, 4, 5];
        int[] predictions = [0, 9, 2, 3, 4, 5];
        string path = P("captions.png");
        Plots.Plots.DigitGrid(path, StripeImages(), 4, 3, [0, 1], labels, predictions, 1, 2, "Title");
        using SKBitmap bmp = LoadPng(path);
        const int cellW = 3 * 35 + 20;
        // Caption band of cell 0 (correct): dark text, no red. Cell 1 (wrong): red text, no black.
        Assert.True(CountPixels(bmp, 0, 40, cellW, 62, IsDark) > 30);
        Assert.Equal(0, CountPixels(bmp, 0, 40, cellW, 62, IsRed));
        Assert.True(CountPixels(bmp, cellW, 40, 2 * cellW, 62, IsRed) > 30);
        Assert.Equal(0, CountPixels(bmp, cellW, 40, 2 * cellW, 62, IsDark));
        // The figure title renders too.
        Assert.True(CountPixels(bmp, 0, 0, bmp.Width, 40, IsDark) > 30);
    }

    [Fact]
    public void DigitGrid_with_null_predictions_shows_labels_only_in_black()
    {
        string path = P("labels-only.png");
        Plots.Plots.DigitGrid(path, StripeImages(), 4, 3, [5], [0, 1, 2, 3, 4, 5], null!, 1, 1, "");
        using SKBitmap bmp = LoadPng(path);
        Assert.Equal((125, 40 + 172), (bmp.Width, bmp.Height));
        Assert.True(CountPixels(bmp, 0, 40, bmp.Width, 62, IsDark) > 20);
        Assert.Equal(0, CountPixels(bmp, 0, 40, bmp.Width, 62, IsRed));
        Assert.Equal(0, CountPixels(bmp, 0, 0, bmp.Width, 40, c => c != SKColors.White));
    }

    [Fact]
    public void Embedded_font_is_DejaVu_Sans_and_is_what_ScottPlot_resolves()
    {
        Assert.Equal("DejaVu Sans", Plots.EmbeddedFont.Regular.FamilyName);
        Assert.Equal("DejaVu Sans", Plots.EmbeddedFont.Bold.FamilyName);
        Assert.True(Plots.EmbeddedFont.Bold.FontStyle.Weight >= (int)SKFontStyleWeight.Bold);
        Assert.True(Plots.EmbeddedFont.Regular.ContainsGlyphs("Label: 0123456789 / Predict: Epochs Loss Accuracy"));
        Plots.EmbeddedFont.EnsureRegistered();
        Assert.Equal(Plots.EmbeddedFont.FamilyName, ScottPlot.Fonts.Default);
        Assert.Same(Plots.EmbeddedFont.Regular, ScottPlot.Fonts.GetTypeface(Plots.EmbeddedFont.FamilyName, false, false));
        Assert.Same(Plots.EmbeddedFont.Bold, ScottPlot.Fonts.GetTypeface(Plots.EmbeddedFont.FamilyName, true, false));
    }

    public static TheoryData<string, Action<string>> BadDigitGridCalls()
    {
        byte[] px = StripeImages();
        int[] y = [0, 1, 2, 3, 4, 5];
        return new TheoryData<string, Action<string>>
        {
            { "indices", p => Plots.Plots.DigitGrid(p, px, 4, 3, [0, 6], y, y, 1, 2, "t") },
            { "indices", p => Plots.Plots.DigitGrid(p, px, 4, 3, [-1], y, y, 1, 2, "t") },
            { "indices", p => Plots.Plots.DigitGrid(p, px, 4, 3, [0, 1, 2], y, y, 1, 2, "t") },
            { "labels", p => Plots.Plots.DigitGrid(p, px, 4, 3, [0], [0, 1], y, 1, 2, "t") },
            { "predictions", p => Plots.Plots.DigitGrid(p, px, 4, 3, [0], y, [1, 2, 3], 1, 2, "t") },
            { "pixels", p => Plots.Plots.DigitGrid(p, px, 5, 3, [0], y, y, 1, 2, "t") },
            { "pixels", p => Plots.Plots.DigitGrid(p, null!, 4, 3, [0], y, y, 1, 2, "t") },
            { "height", p => Plots.Plots.DigitGrid(p, px, 0, 3, [0], y, y, 1, 2, "t") },
            { "width", p => Plots.Plots.DigitGrid(p, px, 4, -3, [0], y, y, 1, 2, "t") },
            { "rows", p => Plots.Plots.DigitGrid(p, px, 4, 3, [0], y, y, 0, 2, "t") },
            { "cols", p => Plots.Plots.DigitGrid(p, px, 4, 3, [0], y, y, 1, 0, "t") },
            { "path", _ => Plots.Plots.DigitGrid("", px, 4, 3, [0], y, y, 1, 2, "t") },
        };
    }

    [Theory]
    [MemberData(nameof(BadDigitGridCalls))]
    public void DigitGrid_bad_arguments_throw_naming_the_argument(string argument, Action<string> call)
    {
        string path = P("bad.png");
        var ex = Assert.ThrowsAny<ArgumentException>(() => call(path));
        Assert.Equal(argument, ex.ParamName);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void DigitGrid_out_of_range_index_message_names_position_and_value()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Plots.Plots.DigitGrid(P("x.png"), StripeImages(), 4, 3, [0, 1, 17], [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5], 1, 3, "t"));
        Assert.Contains("indices[2] = 17", ex.Message);
        Assert.Contains("[0, 6)", ex.Message);
    }

    private static Dictionary<string, double[]> History(bool withValidation)
    {
        var h = new Dictionary<string, double[]>
        {
            ["loss"] = [0.26, 0.105, 0.069, 0.05, 0.038],
            ["accuracy"] = [0.924, 0.969, 0.979, 0.985, 0.989],
        };
        if (withValidation)
        {
            h["val_loss"] = [0.13, 0.10, 0.085, 0.08, 0.082];
            h["val_accuracy"] = [0.962, 0.970, 0.975, 0.977, 0.978];
        }
        return h;
    }

    private static bool IsOrange(SKColor c) => c.Red > 200 && c.Green is > 90 and < 170 && c.Blue < 80;
    private static bool IsBlue(SKColor c) => c.Blue > 140 && c.Red < 90 && c.Green is > 80 and < 160;

    [Fact]
    public void LearningCurves_writes_two_panels_with_train_and_validation_lines()
    {
        string path = P("curves.png");
        Plots.Plots.LearningCurves(path, History(withValidation: true));
        using SKBitmap bmp = LoadPng(path);
        Assert.Equal(Plots.Plots.LearningCurvesWidth, bmp.Width);
        Assert.Equal(Plots.Plots.LearningCurvesHeight, bmp.Height);
        Assert.Equal((1200, 480), (bmp.Width, bmp.Height));
        int half = bmp.Width / 2;
        foreach (int left in new[] { 0, half })
        {
            Assert.True(CountPixels(bmp, left, 0, left + half, bmp.Height, IsBlue) > 100, $"no training line in panel at x={left}");
            Assert.True(CountPixels(bmp, left, 0, left + half, bmp.Height, IsOrange) > 100, $"no validation line in panel at x={left}");
            Assert.True(CountPixels(bmp, left, 0, left + half, 35, IsDark) > 50, $"no panel title text at x={left}");
        }
    }

    [Fact]
    public void LearningCurves_without_validation_draws_no_validation_line()
    {
        string path = P("train-only.png");
        Plots.Plots.LearningCurves(path, History(withValidation: false));
        using SKBitmap bmp = LoadPng(path);
        Assert.Equal((1200, 480), (bmp.Width, bmp.Height));
        Assert.True(CountPixels(bmp, 0, 0, bmp.Width, bmp.Height, IsBlue) > 200);
        Assert.Equal(0, CountPixels(bmp, 0, 0, bmp.Width, bmp.Height, IsOrange));
    }

    [Fact]
    public void LearningCurves_tolerates_non_finite_values_and_a_single_epoch()
    {
        var h = History(withValidation: true);
        h["val_loss"][2] = double.NaN;
        h["loss"][4] = double.PositiveInfinity;
        Plots.Plots.LearningCurves(P("nan.png"), h);
        using (SKBitmap bmp = LoadPng(P("nan.png"))) Assert.Equal(1200, bmp.Width);

        var one = new Dictionary<string, double[]> { ["loss"] = [0.3], ["accuracy"] = [0.9], ["val_loss"] = [0.2] };
        Plots.Plots.LearningCurves(P("one.png"), one);
        using (SKBitmap bmp = LoadPng(P("one.png"))) Assert.Equal(480, bmp.Height);
    }

    [Fact]
    public void LearningCurves_bad_history_throws_naming_the_key()
    {
        var noAcc = new Dictionary<string, double[]> { ["loss"] = [0.3, 0.2] };
        var ex = Assert.Throws<ArgumentException>(() => Plots.Plots.LearningCurves(P("a.png"), noAcc));
        Assert.Equal("history", ex.ParamName);
        Assert.Contains("\"accuracy\"", ex.Message);
        Assert.Contains("\"loss\"", ex.Message);

        var shortVal = History(withValidation: true);
        shortVal["val_accuracy"] = [0.9, 0.91];
        ex = Assert.Throws<ArgumentException>(() => Plots.Plots.LearningCurves(P("b.png"), shortVal));
        Assert.Contains("history[\"val_accuracy\"] has 2 values", ex.Message);
        Assert.Contains("has 5", ex.Message);

        var empty = new Dictionary<string, double[]> { ["loss"] = [], ["accuracy"] = [] };
        ex = Assert.Throws<ArgumentException>(() => Plots.Plots.LearningCurves(P("c.png"), empty));
        Assert.Contains("empty", ex.Message);

        Assert.Equal("history", Assert.Throws<ArgumentNullException>(() => Plots.Plots.LearningCurves(P("d.png"), null!)).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => Plots.Plots.LearningCurves(" ", History(true))).ParamName);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void Writes_are_atomic_overwrite_in_place_and_leave_no_temp_files()
    {
        string grid = P("grid.png"), curves = P("sub/curves.png");
        int[] y = [0, 1, 2, 3, 4, 5];
        Plots.Plots.DigitGrid(grid, StripeImages(), 4, 3, [0], y, y, 1, 1, "one");
        Plots.Plots.DigitGrid(grid, StripeImages(), 4, 3, [0, 1, 2, 3], y, y, 2, 2, "four");
        Plots.Plots.LearningCurves(curves, History(true));
        Assert.Equal(new[] { "grid.png" }, Directory.GetFiles(_dir).Select(Path.GetFileName).ToArray());
        Assert.Equal(new[] { "curves.png" }, Directory.GetFiles(P("sub")).Select(Path.GetFileName).ToArray());
        using SKBitmap bmp = LoadPng(grid);
        Assert.Equal(Plots.Plots.DigitGridSize(4, 3, 2, 2), (bmp.Width, bmp.Height));
    }

    [Fact]
    public void A_failed_rename_removes_the_temp_file()
    {
        string target = P("taken.png");
        Directory.CreateDirectory(target);
        Assert.ThrowsAny<IOException>(() => Plots.Plots.LearningCurves(target, History(false)));
        Assert.Empty(Directory.GetFiles(_dir));
        Assert.Equal(new[] { "taken.png" }, Directory.GetDirectories(_dir).Select(Path.GetFileName).ToArray());
    }
}
