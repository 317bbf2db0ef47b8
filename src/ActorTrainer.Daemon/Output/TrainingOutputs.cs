using System.Text.Json.Nodes;
using ActorTrainer.Core;
using Microsoft.Extensions.Logging;
using ActorTrainer.Core.Data;
using PlotApi = ActorTrainer.Daemon.Plots.Plots;

namespace ActorTrainer.Daemon.Output;

/// <summary>Everything a finished run leaves in its directory besides history.csv and TensorBoard logs.</summary>
public static class TrainingOutputs
{
    /// <summary>The predicted label of each row of a (rows × width) output matrix: the arg-max column, or for a single
    /// output unit (a sigmoid's probability of class 1) 1 where p &gt; 0.5, else 0 — Keras' <c>(model.predict(x) &gt; 0.5)</c>.</summary>
    public static int[] PredictedLabels(float[] probs, int width) =>
        width == 1 ? Array.ConvertAll(probs, p => p > 0.5f ? 1 : 0) : Argmax(probs, width);

    /// <summary>Arg-max label of each row of a (rows × classes) probability matrix.</summary>
    public static int[] Argmax(float[] probs, int classes)
    {
        var n = probs.Length / classes;
        var r = new int[n];
        for (var i = 0; i < n; i++)
        {
            var best = 0;
            for (var j = 1; j < classes; j++)
                if (probs[i * classes + j] > probs[i * classes + best]) best = j;
            r[i] = best;
        }
        return r;
    }

    /// <summary>The digit plots: predictions.png (first 10 test digits) and misclassified.png (first 50 misclassified);
    /// predictions has one label per test sample.</summary>
    public static IReadOnlyList<string> WriteDigitPlots(string runDir, Dataset test, int[] predictions)
    {
        var first10 = Enumerable.Range(0, Math.Min(10, test.Count)).ToArray();
        var p1 = Path.Combine(runDir, "predictions.png");
        PlotApi.DigitGrid(p1, test.Pixels, test.Height, test.Width, first10, test.Labels, predictions, 2, 5, "First 10 test digits");
        var wrong = Enumerable.Range(0, test.Count).Where(i => predictions[i] != test.Labels[i]).Take(50).ToArray();
        var p2 = Path.Combine(runDir, "misclassified.png");
        PlotApi.DigitGrid(p2, test.Pixels, test.Height, test.Width, wrong, test.Labels, predictions, 5, 10,
                          $"First {wrong.Length} misclassified test digits");
        return [p1, p2];
    }

    /// <summary>learning_curves.png from the history (loss and accuracy per epoch, validation beside them), or nothing
    /// when the history has no epoch with both; returns the path written or null.</summary>
    public static string? WriteLearningCurves(string runDir, IReadOnlyDictionary<string, double[]> history)
    {
        var metric = Metrics.names.Select(n => n == "acc" ? "accuracy" : n).FirstOrDefault(history.ContainsKey);
        if (!history.ContainsKey("loss") || metric is null || history["loss"].Length == 0) return null;
        if (metric != "accuracy")          // sparse_categorical_accuracy, …: the same hit count, drawn as accuracy
            history = history.Where(kv => kv.Key is not ("accuracy" or "val_accuracy"))
                .Select(kv => kv.Key == metric ? KeyValuePair.Create("accuracy", kv.Value)
                            : kv.Key == "val_" + metric ? KeyValuePair.Create("val_accuracy", kv.Value) : kv)
                .ToDictionary();
        var p3 = Path.Combine(runDir, "learning_curves.png");
        PlotApi.LearningCurves(p3, history);
        return p3;
    }

    /// <summary>The accuracy among a model's test logs: the value of its metric, whichever of the accuracy names it was
    /// compiled with (accuracy, sparse_categorical_accuracy, …: one hit count); null without metrics.</summary>
    public static double? Accuracy(IReadOnlyDictionary<string, double> logs) =>
        logs.Where(kv => kv.Key != "loss").Select(kv => (double?)kv.Value).FirstOrDefault();

    /// <summary>Keras' evaluate line for test logs {loss, metric, …}: "test_loss: X - test_accuracy: Y", each compiled
    /// metric as test_NAME (the loss alone when the model has no metrics).</summary>
    public static string TestLine(IReadOnlyDictionary<string, double> logs) =>
        string.Join(" - ", logs.OrderBy(kv => kv.Key == "loss" ? 0 : 1).Select(kv => $"test_{kv.Key}: {Metrics.format(kv.Value)}"));

    /// <summary>A run's test result: with JSON logs (<paramref name="json"/> set) one log object (State.TestLoss,
    /// State.TestAccuracy; output.log-format = json promises nothing but JSON objects on the console), else
    /// <see cref="TestLine"/> on stdout unless trainer.verbose = 0 (silent).</summary>
    public static void ReportTest(IReadOnlyDictionary<string, double> logs, ILogger? json, int verbose)
    {
        if (json is not null)
        {
            if (Accuracy(logs) is { } accuracy)
                json.LogInformation("test_loss {TestLoss} test_accuracy {TestAccuracy}", logs["loss"], accuracy);
            else json.LogInformation("test_loss {TestLoss}", logs["loss"]);
        }
        else if (verbose > 0) Console.Out.WriteLine(TestLine(logs));
    }

    /// <summary>summary.json (atomic).</summary>
    public static void WriteSummary(string runDir, JsonObject summary) =>
        RunFiles.WriteJson(Path.Combine(runDir, "summary.json"), summary);
}
