namespace ActorTrainer.Core;

/// <summary>Saves the model after each epoch (or only when <c>monitor</c> improves) to filepath, which may contain
/// {epoch}, {epoch:02d} and {key} / {key:.4f} / {key:.2e} placeholders filled from the logs as Python's str.format
/// fills them (d with width and zero padding, f, e and g with precision; any other spec is refused at construction). The model is the Sequential that fit
/// hands to its callbacks; any other handle raises InvalidOperationException naming this callback.</summary>
public class ModelCheckpoint : Callback
{
    private readonly string filepath;
    private readonly string monitor;
    private readonly bool saveBestOnly;
    private readonly Func<double, double, bool> better;
    private double best = double.NaN;

    /// <summary>Saves to <paramref name="filepath"/> (with placeholders) after every epoch, or with
    /// <paramref name="saveBestOnly"/> only when <paramref name="monitor"/> improves by <paramref name="mode"/>
    /// ("auto": higher is better for names containing "acc", lower otherwise; "min"; "max").</summary>
    public ModelCheckpoint(string filepath, string monitor = "val_loss", bool saveBestOnly = false, string mode = "auto")
    {
        ArgumentNullException.ThrowIfNull(filepath);
        FilepathFormat.Check("ModelCheckpoint filepath", filepath);
        this.filepath = filepath;
        this.monitor = monitor;
        this.saveBestOnly = saveBestOnly;
        better = mode switch
        {
            "min" => (a, b) => a < b,
            "max" => (a, b) => a > b,
            "auto" => monitor.Contains("acc", StringComparison.Ordinal) ? (a, b) => a > b : (a, b) => a < b,
            _ => throw new ArgumentException($"mode must be auto, min or max, got '{mode}'", nameof(mode)),
        };
    }

    /// <summary>Paths written so far.</summary>
    public List<string> Saved { get; } = [];

    /// <inheritdoc/>
    public override void OnTrainBegin() => best = double.NaN;

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (!saveBestOnly) { Save(Fill(epoch, logs)); return; }
        if (!logs.TryGetValue(monitor, out var v))
        {
            Console.Error.WriteLine($"ModelCheckpoint: monitored metric '{monitor}' is not available (available: {string.Join(", ", logs.Keys)})");
            return;
        }
        if (double.IsNaN(best) || better(v, best))
        {
            best = v;
            Save(Fill(epoch, logs));
        }
    }

    private void Save(string path)
    {
        if (Model is not Sequential model)
            throw new InvalidOperationException(
                $"ModelCheckpoint cannot save to '{path}': the model being trained is "
                + (Model is null ? "not set" : $"a {Model.GetType().Name}, not a Sequential")
                + " (ModelCheckpoint saves Sequential models: use it with Sequential.Fit/FitArrays/FitWith)");
        ModelFiles.Save(model, path);
        Saved.Add(path);
    }

    private string Fill(int epoch, IReadOnlyDictionary<string, double> logs) =>
        FilepathFormat.Fill("ModelCheckpoint filepath", filepath, epoch + 1, key =>
            logs.TryGetValue(key, out var v) ? v
            : throw new ArgumentException($"ModelCheckpoint filepath '{filepath}' uses {{{key}}}, which is not in the logs (available: epoch, {string.Join(", ", logs.Keys)})"));
}
