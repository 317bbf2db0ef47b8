using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ActorTrainer.Daemon.Service;

/// <summary>What one line of a job's train.log says: an epoch's metrics, the final test metrics, an error, or
/// just text.</summary>
/// <param name="Kind">"epoch", "test", "error" or "log".</param>
/// <param name="Text">The line (for JSON log objects, their message).</param>
/// <param name="Data">For epoch and test lines: the numbers (epoch, epochs, loss, accuracy, val_loss, ...).</param>
public sealed record TrainLogLine(string Kind, string Text, JsonObject? Data);

/// <summary>Parses the trainer's output as run under <c>serve</c> (<c>output.log-format = json</c>): one JSON log
/// object per line (the per-epoch one carries State.Epoch, Loss, ...), the "test_loss: … - test_accuracy: …" line
/// and "error: …" lines.</summary>
public static class TrainLog
{
    private static readonly (string Json, string Name)[] EpochFields =
        [("Epoch", "epoch"), ("Epochs", "epochs"), ("Loss", "loss"), ("Accuracy", "accuracy"), ("ValLoss", "val_loss"), ("ValAccuracy", "val_accuracy")];

    /// <summary>Classifies one line.</summary>
    public static TrainLogLine Parse(string line)
    {
        if (line.StartsWith('{'))
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                var message = root.TryGetProperty("Message", out var m) ? m.GetString() ?? line : line;
                if (root.TryGetProperty("State", out var test) && test.ValueKind == JsonValueKind.Object && test.TryGetProperty("TestLoss", out _))
                    return TestResult(test);
                if (root.TryGetProperty("State", out var state) && state.ValueKind == JsonValueKind.Object && state.TryGetProperty("Epoch", out _))
                {
                    var data = new JsonObject();
                    foreach (var (json, name) in EpochFields)
                        if (state.TryGetProperty(json, out var v) && Number(v) is { } d) data[name] = d;
                    return new TrainLogLine("epoch", message, data);
                }
                var level = root.TryGetProperty("LogLevel", out var l) ? l.GetString() : null;
                return new TrainLogLine(level is "Error" or "Critical" ? "error" : "log", message, null);
            }
            catch (JsonException) { }
        }
        if (line.StartsWith("test_loss: ", StringComparison.Ordinal))
        {
            var data = new JsonObject();
            foreach (var part in line.Split(" - "))
            {
                var kv = part.Split(": ");
                if (kv.Length == 2 && double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) data[kv[0]] = d;
            }
            return new TrainLogLine("test", line, data);
        }
        return new TrainLogLine(line.StartsWith("error: ", StringComparison.Ordinal) ? "error" : "log", line, null);
    }

    /// <summary>The JSON log object of a run's test result (State.TestLoss, State.TestAccuracy), as the "test" line
    /// the text format prints.</summary>
    private static TrainLogLine TestResult(JsonElement state)
    {
        var logs = new Dictionary<string, double>();        // as the run's own test logs: loss, accuracy
        foreach (var (json, name) in new[] { ("TestLoss", "loss"), ("TestAccuracy", "accuracy") })
            if (state.TryGetProperty(json, out var v) && Number(v) is { } d) logs[name] = d;
        var data = new JsonObject();
        foreach (var (name, d) in logs) data["test_" + name] = d;
        return new TrainLogLine("test", Output.TrainingOutputs.TestLine(logs), data);   // the one formatter of that line
    }

    private static double? Number(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Number => v.GetDouble(),
        JsonValueKind.String when double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) => d,
        _ => null,
    };

    /// <summary>Reads complete lines appended to a log file since the last call (a partial last line waits for its
    /// newline). The file may not exist yet.</summary>
    public sealed class Follower(string path)
    {
        private long _offset;
        private readonly StringBuilder _partial = new();
        private readonly Decoder _utf8 = new UTF8Encoding(false).GetDecoder();   // keeps a character split between reads

        /// <summary>The complete new lines.</summary>
        public List<string> ReadNew()
        {
            var lines = new List<string>();
            if (!File.Exists(path)) return lines;
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (fs.Length < _offset) { _offset = 0; _partial.Clear(); _utf8.Reset(); }
            fs.Seek(_offset, SeekOrigin.Begin);
            var buffer = new byte[Math.Min(1 << 20, Math.Max(0, fs.Length - _offset))];
            int n;
            while (buffer.Length > 0 && (n = fs.Read(buffer, 0, buffer.Length)) > 0)
            {
                _offset += n;
                var chars = new char[_utf8.GetCharCount(buffer, 0, n)];
                _partial.Append(chars, 0, _utf8.GetChars(buffer, 0, n, chars, 0));
            }
            var text = _partial.ToString();
            var last = text.LastIndexOf('\n');
            if (last < 0) return lines;
            lines.AddRange(text[..last].Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0));
            _partial.Clear().Append(text[(last + 1)..]);
            return lines;
        }
    }
}
