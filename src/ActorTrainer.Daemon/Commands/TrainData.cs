using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Daemon.Configuration;

namespace ActorTrainer.Daemon.Commands;

/// <summary>The data of a train run: the training samples, the optional validation samples and the test set.</summary>
public sealed record TrainData(Dataset Train, Dataset Test, ArrayData Fit, ArrayData? Validation, int Features)
{
    /// <summary>Starts decoding the bundled MNIST on a background thread when `config` names no data.dir (""), so that
    /// <see cref="Load"/> finds it under way: it runs beside the settings' parsing and the warm-ups' start instead of
    /// after them (README's `train`: wall time 0.969× on 2 cores, bench/RESULTS.md 2026-12-05). A data.dir that is set, blank or
    /// not a string is left to <see cref="Load"/> and the settings' checks.</summary>
    public static void Prefetch(Akka.Configuration.Config config)
    {
        string? dir;
        try { dir = config.GetString("data.dir", null); }
        catch (Exception) { return; }       // not a string (or unreadable): TrainSettings.From names the key
        if (dir is "") Mnist.PrefetchBundled();
    }

    /// <summary>Loads data.dir, applies the limits and the validation choice, and checks that neither the training
    /// nor the test set is empty and that the samples match model.input-shape; errors name the key at fault.</summary>
    public static TrainData Load(TrainSettings s)
    {
        var (train, test) = Read(s, () => Mnist.LoadWith(Expectation(s), s.DataDir));
        var loss = Loss.Parse(s.Loss);
        var where = string.IsNullOrEmpty(s.DataDir) ? "the bundled MNIST" : $"data.dir = '{s.DataDir}'";
        var classes = loss.SparseTargets ? 0 : LabelTargets.Classes(train, test);     // of the whole data, before the limits
        LabelTargets.CheckOutputWidth(s, train.Height * train.Width, classes, where);
        if (s.TrainLimit > 0) train = train.Take(s.TrainLimit);
        if (s.TestLimit > 0) test = test.Take(s.TestLimit);
        if (test.Count == 0)
            throw new ConfigException($"data: the test set of {where} is empty (0 samples); test_loss and test_accuracy need at least one");
        var features = train.Height * train.Width;
        var shape = s.InputShape.Aggregate(1L, (a, b) => a * b);
        if (shape != features || s.InputShape.Length >= 2 && (s.InputShape[0] != train.Height || s.InputShape[1] != train.Width))
            throw new ConfigException($"config: model.input-shape [{string.Join(", ", s.InputShape)}] " +
                                      (shape != features ? $"holds {shape} values" : "is not the images' rows and columns") +
                                      $" but the data has {train.Height}x{train.Width} = {features} per sample");
        if (s.InputShape.Length == 1 && ModelImage.Of(s.InputShape) is var (side, _) && (train.Height != side || train.Width != side))
            throw new ConfigException($"config: model.input-shape {ModelImage.Show(s.InputShape)} stands for {side}x{side} images (as evaluate and " +
                                      $"predict read it) but the data has {train.Height}x{train.Width}: give model.input-shape = " +
                                      $"[{train.Height}, {train.Width}] with {{ type = flatten }} as the first layer");

        var width = loss.SparseTargets ? classes : LabelTargets.OutputWidth(s, features);   // checked above: classes, or 1 for labels 0/1
        var fit = LabelTargets.For(loss, train.Images, features, train.Labels, width);
        ArrayData? validation = null;
        if (s.Validation == "test") validation = LabelTargets.For(loss, test.Images, features, test.Labels, width);
        else if (s.Validation == "split")
        {
            var nVal = fit.Count - fit.ValidationSplitAt(s.ValidationSplit);
            validation = fit.Slice(fit.Count - nVal, nVal);
            fit = fit.Slice(0, fit.Count - nVal);
        }
        if (fit.Count == 0)
            throw new ConfigException($"data: the training set of {where} is empty (0 samples" +
                                      (s.Validation == "split" ? $" after holding out data.validation-split = {s.ValidationSplit}" : "") + ")");
        return new TrainData(train, test, fit, validation, features);
    }

    /// <summary>data.dir checked as <see cref="Load"/> checks it before it decodes anything (the four files there, their
    /// headers against each other, model.input-shape and the last layer's units), without reading an image: what `serve`
    /// refuses when a job is submitted. The bundled copy (data.dir = "") passes.</summary>
    public static void CheckDir(TrainSettings s)
    {
        if (!string.IsNullOrEmpty(s.DataDir)) Read(s, () => { Mnist.CheckDirWith(Expectation(s), s.DataDir); return 0; });
    }

    /// <summary>Runs a read of data.dir; its errors become ConfigExceptions naming data.dir (an unreadable file too: bad
    /// input, not an output's I/O error).</summary>
    private static T Read<T>(TrainSettings s, Func<T> read)
    {
        try { return read(); }
        catch (InputException) when (string.IsNullOrEmpty(s.DataDir)) { throw; }
        catch (Exception e) when (e is InputException or InvalidDataException or DirectoryNotFoundException or FileNotFoundException or ArgumentException)
        {
            throw new ConfigException($"data.dir = '{s.DataDir}': {e.Message}");
        }
        catch (Exception e) when (InputRead.IsUnreadable(e))     // an input that cannot be read: not an output's I/O error (74)
        {
            throw InputRead.Refusal($"data.dir = '{s.DataDir}'", e, "make the file readable, or point data.dir at a readable copy");
        }
    }

    /// <summary>What the model will do with the data, checked by the loader from the IDX headers before decoding: values
    /// per sample (the product of model.input-shape) and, for sparse labels, classes = units of the last Dense layer.</summary>
    private static MnistExpectation Expectation(TrainSettings s)
    {
        long features = s.InputShape.Aggregate(1L, (a, d) => a * d);
        var lastDense = s.Layers.OfType<Dense>().LastOrDefault();
        bool sparse = Loss.Parse(s.Loss).IsSparseCategoricalCrossentropy;
        return new MnistExpectation(features is > 0 and <= int.MaxValue ? (int)features : 0,
                                    sparse && lastDense is not null ? lastDense.Units : 0);
    }
}
