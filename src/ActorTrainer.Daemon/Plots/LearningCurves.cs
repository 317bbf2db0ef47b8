using ScottPlot;
using SkiaSharp;

namespace ActorTrainer.Daemon.Plots;

public static partial class Plots
{
    /// <summary>Pixel width of the learning-curves PNG (two panels side by side).</summary>
    public const int LearningCurvesWidth = 1200;

    /// <summary>Pixel height of the learning-curves PNG.</summary>
    public const int LearningCurvesHeight = 480;

    /// <summary>
    /// Learning curves: two panels (loss left, accuracy right), train vs validation, x = epoch (1-based).
    /// history keys as in Keras: "loss", "accuracy" (required), "val_loss", "val_accuracy" (optional); every series
    /// present has one value per epoch (same length ≥ 1). Non-finite values are left out of the lines.
    /// PNG size LearningCurvesWidth×LearningCurvesHeight. Atomic write.
    /// </summary>
    public static void LearningCurves(string path, IReadOnlyDictionary<string, double[]> history)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("Output PNG path must be a non-empty string", nameof(path));
        ArgumentNullException.ThrowIfNull(history);
        double[] loss = Required(history, "loss");
        double[] accuracy = Required(history, "accuracy");
        int epochs = loss.Length;
        if (epochs == 0) throw new ArgumentException("history[\"loss\"] is empty; at least one epoch is needed", nameof(history));
        CheckLength(history, "accuracy", accuracy, epochs);
        double[]? valLoss = Optional(history, "val_loss", epochs);
        double[]? valAccuracy = Optional(history, "val_accuracy", epochs);

        EmbeddedFont.EnsureRegistered();
        Plot lossPlot = Panel("Training and validation loss", "Loss", loss, valLoss, "Training loss", "Validation loss", epochs, Alignment.UpperRight);
        Plot accPlot = Panel("Training and validation accuracy", "Accuracy", accuracy, valAccuracy, "Training accuracy", "Validation accuracy", epochs, Alignment.LowerRight);

        using SKSurface surface = SKSurface.Create(new SKImageInfo(LearningCurvesWidth, LearningCurvesHeight, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"Skia could not allocate the learning-curves surface for '{path}'");
        surface.Canvas.Clear(SKColors.White);
        int half = LearningCurvesWidth / 2;
        DrawPanel(surface.Canvas, lossPlot, 0, half, path);
        DrawPanel(surface.Canvas, accPlot, half, LearningCurvesWidth - half, path);
        AtomicPng.Write(path, surface);
    }

    /// <summary>Renders <paramref name="plot"/> on its own width×LearningCurvesHeight surface and draws it at x = left.</summary>
    private static void DrawPanel(SKCanvas canvas, Plot plot, int left, int width, string path)
    {
        using SKSurface panel = SKSurface.Create(new SKImageInfo(width, LearningCurvesHeight, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"Skia could not allocate a learning-curves panel for '{path}'");
        plot.Render(panel);
        using SKImage image = panel.Snapshot();
        canvas.DrawImage(image, left, 0);
    }

    private static double[] Required(IReadOnlyDictionary<string, double[]> history, string key)
    {
        if (!history.TryGetValue(key, out double[]? values) || values is null)
            throw new ArgumentException(
                $"history has no \"{key}\" series (keys present: {string.Join(", ", history.Keys.Select(k => $"\"{k}\""))})", nameof(history));
        return values;
    }

    private static double[]? Optional(IReadOnlyDictionary<string, double[]> history, string key, int epochs)
    {
        if (!history.TryGetValue(key, out double[]? values) || values is null) return null;
        CheckLength(history, key, values, epochs);
        return values;
    }

    private static void CheckLength(IReadOnlyDictionary<string, double[]> history, string key, double[] values, int epochs)
    {
        if (values.Length != epochs)
            throw new ArgumentException(
                $"history[\"{key}\"] has {values.Length} values but history[\"loss\"] has {epochs}; every series needs one value per epoch",
                nameof(history));
    }

    /// <summary>One panel: training series as dots on a dotted line (blue), validation as a solid line (orange), x = 1..epochs.</summary>
    private static Plot Panel(string title, string yLabel, double[] train, double[]? val, string trainName, string valName, int epochs, Alignment legendCorner)
    {
        var plot = new Plot();
        plot.Font.Set(EmbeddedFont.FamilyName, FontWeight.Normal, FontSlant.Upright, FontSpacing.Normal);
        plot.Axes.Title.Label.FontName = EmbeddedFont.FamilyName;
        plot.Axes.Title.Label.Bold = true;
        plot.Title(title, 16);
        plot.XLabel("Epochs", 14);
        plot.YLabel(yLabel, 14);

        var (tx, ty) = Finite(train);
        var trainLine = plot.Add.Scatter(tx, ty, new ScottPlot.Color(0x1f, 0x77, 0xb4));
        trainLine.LegendText = trainName;
        trainLine.MarkerSize = 7;
        trainLine.LineWidth = 1.5f;
        trainLine.LinePattern = LinePattern.Dotted;
        if (val is not null)
        {
            var (vx, vy) = Finite(val);
            var valLine = plot.Add.Scatter(vx, vy, new ScottPlot.Color(0xff, 0x7f, 0x0e));
            valLine.LegendText = valName;
            valLine.MarkerSize = 0;
            valLine.LineWidth = 2;
        }
        plot.ShowLegend(legendCorner);
        plot.Legend.FontName = EmbeddedFont.FamilyName;

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Axes.AutoScale();
        double pad = Math.Max(0.5, epochs * 0.03);
        plot.Axes.SetLimitsX(1 - pad, epochs + pad);
        return plot;
    }

    private static (double[] X, double[] Y) Finite(double[] values)
    {
        var xs = new List<double>(values.Length);
        var ys = new List<double>(values.Length);
        for (int i = 0; i < values.Length; i++)
        {
            if (!double.IsFinite(values[i])) continue;
            xs.Add(i + 1);
            ys.Add(values[i]);
        }
        return (xs.ToArray(), ys.ToArray());
    }
}
