using System.Text.Json.Nodes;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using PlotApi = ActorTrainer.Daemon.Plots.Plots;

namespace ActorTrainer.Daemon.Output;

/// <summary>Everything a finished run leaves in its directory besides history.csv and TensorBoard logs.</summary>
public static class TrainingOutputs
{
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

    /// <summary>The three PNG plots: first 10 test digits, first 50 misclassified, learning curves.</summary>
    public static IReadOnlyList<string> WritePlots(string runDir, Dataset test, int[] predictions, IReadOnlyDictionary<string, double[]> history)
    {
        var written = new List<string>();
        var first10 = Enumerable.Range(0, Math.Min(10, test.Count)).ToArray();
        var p1 = Path.Combine(runDir, "predictions.png");
        PlotApi.DigitGrid(p1, test.Pixels, test.Height, test.Width, first10, test.Labels, predictions, 2, 5, "First 10 test digits");
        written.Add(p1);
        var wrong = Enumerable.Range(0, test.Count).Where(i => predictions[i] != test.Labels[i]).Take(50).ToArray();
        var p2 = Path.Combine(runDir, "misclassified.png");
        PlotApi.DigitGrid(p2, test.Pixels, test.Height, test.Width, wrong, test.Labels, predictions, 5, 10,
                          $"First {wrong.Length} misclassified test digits");
        written.Add(p2);
        if (history.ContainsKey("loss") && history.ContainsKey("accuracy") && history["loss"].Length > 0)
        {
            var p3 = Path.Combine(runDir, "learning_curves.png");
            PlotApi.LearningCurves(p3, history);
            written.Add(p3);
        }
        return written;
    }

    /// <summary>summary.json (atomic).</summary>
    public static void WriteSummary(string runDir, JsonObject summary) =>
        RunFiles.WriteJson(Path.Combine(runDir, "summary.json"), summary);
}
