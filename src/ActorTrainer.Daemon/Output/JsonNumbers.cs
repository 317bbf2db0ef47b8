using System.Text.Json.Nodes;

namespace ActorTrainer.Daemon.Output;

/// <summary>
/// JSON has no NaN or Infinity: these helpers write a non-finite number as <c>null</c> and record where, so that
/// summary.json and evaluation.json are always valid JSON and a reader can tell a missing value from a non-finite one
/// (the <c>non_finite</c> list of JSON paths, present only when something was non-finite).
/// </summary>
public sealed class JsonNumbers
{
    private readonly List<string> _nonFinite = new();

    /// <summary>The value, or null (recorded under <paramref name="path"/>) when it is NaN or infinite.</summary>
    public JsonNode? Number(double v, string path)
    {
        if (double.IsFinite(v)) return JsonValue.Create(v);
        _nonFinite.Add($"{path}={(double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity")}");
        return null;
    }

    /// <summary>The float32 value (written as its shortest round-trip text), or null (recorded under
    /// <paramref name="path"/>) when it is NaN or infinite.</summary>
    public JsonNode? Number(float v, string path) => float.IsFinite(v) ? JsonValue.Create(v) : Number((double)v, path);

    /// <summary>A JSON array of the values (non-finite ones as null, recorded as path[i]).</summary>
    public JsonArray Array(IEnumerable<double> values, string path) =>
        new(values.Select((v, i) => Number(v, $"{path}[{i}]")).ToArray());

    /// <summary>Adds <c>"non_finite": [...]</c> to <paramref name="json"/> when any value was non-finite.</summary>
    public void Flag(JsonObject json)
    {
        if (_nonFinite.Count > 0) json["non_finite"] = new JsonArray(_nonFinite.Select(p => (JsonNode?)JsonValue.Create(p)).ToArray());
    }
}
