using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorTrainer.Interop;

namespace ActorTrainer.Core;

public static partial class ModelFiles
{
    /// <summary>config.json larger than this is refused before reading (a Keras-like config is a few KB).</summary>
    public const long MaxConfigBytes = 16L * 1024L * 1024L;

    private static ModelFileException Bad(string path, string msg) => new($"{path}: {msg}");

    /// <summary>Runs a safetensors read, turning its InvalidDataException into ModelFileException (same message) and
    /// its InsufficientMemoryException into ResourceLimitException.</summary>
    private static T Guarded<T>(Func<T> read)
    {
        try { return read(); }
        catch (InvalidDataException e) { throw new ModelFileException(e.Message, e); }
        catch (InsufficientMemoryException e) { throw new ResourceLimitException(e.Message, e); }
    }

    /// <summary>The path and parsed top-level object of <paramref name="dir"/>/config.json; ModelFileException naming
    /// the file when it is too large, not JSON or not an object; DirectoryNotFound/FileNotFound when absent.</summary>
    public static (string Path, JsonObject Config) ReadConfig(string dir)
    {
        if (File.Exists(dir))
            throw new DirectoryNotFoundException($"model directory '{dir}' is a file; give the directory that holds {ConfigFile} and the weights" +
                                                 (Path.GetDirectoryName(dir) is { Length: > 0 } parent ? $" (here '{parent}')" : ""));
        if (!Directory.Exists(dir)) throw Missing(dir);
        var cfgPath = Path.Combine(dir, ConfigFile);
        if (!File.Exists(cfgPath)) throw new FileNotFoundException($"model directory '{dir}' has no {ConfigFile}", cfgPath);
        var size = new FileInfo(cfgPath).Length;
        if (size > MaxConfigBytes)
            throw Bad(cfgPath, $"file is {size} bytes, more than the {MaxConfigBytes}-byte limit for a model config");
        JsonNode? node;
        var text = File.ReadAllText(cfgPath);
        try
        {
            using (var doc = JsonDocument.Parse(text)) CheckUniqueKeys(cfgPath, doc.RootElement, "");
            node = JsonNode.Parse(text);
        }
        catch (JsonException e) { throw Bad(cfgPath, $"invalid JSON: {e.Message}"); }
        return node is JsonObject o
            ? (cfgPath, o)
            : throw Bad(cfgPath, $"the top level must be a JSON object, got {ModelJson.show(node)}");
    }

    /// <summary>Refuses an object that names a key twice ("units": 512, "units": 256), naming the key and where it sits
    /// (JsonNode would otherwise throw a bare ArgumentException on first access).</summary>
    private static void CheckUniqueKeys(string path, JsonElement e, string at)
    {
        if (e.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var item in e.EnumerateArray()) CheckUniqueKeys(path, item, $"{at}[{i++}]");
        }
        if (e.ValueKind != JsonValueKind.Object) return;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            if (!seen.Add(p.Name))
                throw Bad(path, $"duplicate key '{p.Name}' in {(at.Length == 0 ? "the top-level object" : at)}");
            CheckUniqueKeys(path, p.Value, at.Length == 0 ? p.Name : $"{at}.{p.Name}");
        }
    }

    /// <summary>The weights of <paramref name="dir"/>/model.safetensors in the order of <paramref name="expected"/>
    /// ((name, shape) of each model weight). Names, count, dtypes and shapes are compared from the header before any
    /// tensor data is read.</summary>
    public static float[][] ReadWeights(string dir, (string Name, int[] Shape)[] expected)
    {
        var wPath = Path.Combine(dir, WeightsFile);
        if (!File.Exists(wPath)) throw new FileNotFoundException($"model directory '{dir}' has no {WeightsFile}", wPath);
        var header = Guarded(() => Safetensors.ReadHeader(wPath));
        if (header.Tensors.Count != expected.Length)
            throw Bad(wPath, $"holds {header.Tensors.Count} tensors but the model has {expected.Length} weights ({string.Join(", ", expected.Select(e => e.Name))})");
        var byName = new Dictionary<string, SafetensorsEntry>();
        foreach (var t in header.Tensors) byName[t.Name] = t;
        foreach (var (name, shape) in expected)
        {
            if (!byName.TryGetValue(name, out var t))
                throw Bad(wPath, $"no tensor named '{name}' (has: {string.Join(", ", byName.Keys)})");
            if (t.DType != SafetensorsDType.F32) throw Bad(wPath, $"tensor '{name}' has dtype {t.DType}, expected F32");
            if (!t.Shape.AsSpan().SequenceEqual(shape))
                throw Bad(wPath, $"tensor '{name}' has shape {Shape.str(t.Shape)} but the layer needs {Shape.str(shape)}");
        }
        var (tensors, _) = Guarded(() => Safetensors.Read(wPath));
        var data = new Dictionary<string, float[]>();
        foreach (var t in tensors) data[t.Name] = t.Data;
        return expected.Select(e => data[e.Name]).ToArray();
    }

    private static long MetaNumber(string path, IReadOnlyDictionary<string, string> meta, string key, long lo, long hi)
    {
        if (!meta.TryGetValue(key, out var v)) throw Bad(path, $"metadata lacks '{key}'");
        if (long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= lo && n <= hi) return n;
        throw Bad(path, $"metadata '{key}' = '{v}' must be an integer in [{lo}, {hi}]");
    }

    /// <summary>"slot/&lt;i&gt;/&lt;k&gt;" → (i, k), or null for any other name.</summary>
    private static (int I, int K)? SlotIndex(string name)
    {
        var parts = name.Split('/');
        if (parts.Length != 3 || parts[0] != "slot") return null;
        return int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var i)
               && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var k)
            ? (i, k) : null;
    }

    /// <summary>The optimizer state in <paramref name="dir"/>/optimizer.safetensors (null when the file is absent):
    /// iterations and, per model weight, its slots. <paramref name="sizes"/> are the element counts of the model's
    /// weights; the metadata, tensor names and sizes are checked against them and against <paramref name="opt"/> (its
    /// name and slots per weight) before anything is built.</summary>
    public static (long Iterations, float[][][] Slots)? ReadOptimizerState(string dir, Optimizer opt, long[] sizes)
    {
        var oPath = Path.Combine(dir, OptimizerFile);
        if (!File.Exists(oPath)) return null;
        var header = Guarded(() => Safetensors.ReadHeader(oPath));
        var meta = header.Metadata;
        if (meta.TryGetValue("optimizer", out var name) && name != opt.Name)
            throw Bad(oPath, $"metadata 'optimizer' = '{name}' but config.json compiles {opt.Name}");
        var n = (int)MetaNumber(oPath, meta, "weights", 0L, sizes.Length);
        var iterations = MetaNumber(oPath, meta, "iterations", 0L, long.MaxValue);
        var per = opt.SlotNames.Length;
        foreach (var t in header.Tensors)
        {
            var slot = SlotIndex(t.Name);
            if (slot is not { } s || s.I >= n || s.K >= per)
                throw Bad(oPath, $"unexpected tensor '{t.Name}' (expected slot/<weight < {n}>/<slot < {per}> for {opt.Name})");
            if (t.Count != sizes[s.I]) throw Bad(oPath, $"tensor '{t.Name}' has {t.Count} values but weight {s.I} has {sizes[s.I]}");
        }
        var (tensors, _) = Guarded(() => Safetensors.Read(oPath));
        var slots = new float[n][][];
        for (var i = 0; i < n; i++) slots[i] = new float[per][];
        foreach (var t in tensors)
        {
            var (i, k) = SlotIndex(t.Name)!.Value;
            slots[i][k] = t.Data;
        }
        for (var i = 0; i < n; i++)
        {
            var have = slots[i].Count(s => s is not null);
            if (have != 0 && have != per) throw Bad(oPath, $"weight {i} has {have} of the {per} slots {opt.Name} keeps");
            if (have == 0) slots[i] = [];
        }
        return (iterations, slots);
    }
}
