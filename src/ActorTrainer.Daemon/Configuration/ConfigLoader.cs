using System.Globalization;
using System.Reflection;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace ActorTrainer.Daemon.Configuration;

/// <summary>A configuration problem; the message names the key (or file) and what is allowed. Exit code 2.</summary>
public sealed class ConfigException(string message) : ActorTrainer.Core.InputException(message);

/// <summary>
/// Loads the layered HOCON configuration: <c>--set</c> overrides, then the config file, then the embedded
/// reference.conf; rejects keys that reference.conf does not define (outside <c>akka</c>).
/// </summary>
public static class ConfigLoader
{
    /// <summary>The embedded reference.conf text (config/reference.conf in the repository).</summary>
    public static string ReferenceText { get; } = ReadReference();

    private static string ReadReference()
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("reference.conf")
            ?? throw new InvalidOperationException("reference.conf is not embedded in the daemon assembly");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    /// <summary>Parses, layers and checks the configuration; returns the merged Config and its rendered text.</summary>
    public static Config Load(string? file, IReadOnlyList<string> sets)
    {
        if (file is not null && Directory.Exists(file))
            throw new ConfigException($"config file '{file}' is a directory; give a HOCON file such as {Path.Combine(file, "mnist-mlp.conf")}");
        if (file is not null && !File.Exists(file))
            throw new ConfigException($"config file '{file}' does not exist");
        return LoadText(file is null ? null : ReadConfigFile(file), file ?? "", sets);
    }

    /// <summary>As <see cref="Load"/>, for config text that is not in a file (e.g. a job submitted to `serve`);
    /// errors name <paramref name="source"/> where they would name the file.</summary>
    public static Config LoadText(string? text, string source, IReadOnlyList<string> sets)
    {
        var reference = Parse(ReferenceText, "reference.conf");
        Config merged = reference;
        if (text is not null)
        {
            var fileConfig = Parse(text, source);
            CheckKnown(fileConfig.Root, reference.Root, "", source);
            merged = fileConfig.WithFallback(merged);
        }
        foreach (var set in sets)
        {
            var (key, _) = SetOption.Split(set);
            var line = ListElementSet.Rewrite(key, SetValueText(set), merged, set) ?? SetLine(set);
            var overrideConfig = Parse(line, $"--set {set}");
            CheckOnlyKey(overrideConfig.Root, key, set);
            CheckKnown(overrideConfig.Root, reference.Root, "", $"--set {set}");
            merged = overrideConfig.WithFallback(merged);
        }
        return merged;
    }

    private static string ReadConfigFile(string file)
    {
        var info = new FileInfo(file);
        if (info.Length > GuardedHoconParser.MaxLength)
            throw new ConfigException($"config file '{file}' is {info.Length} bytes; configuration files are limited to {GuardedHoconParser.MaxLength}");
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"config file '{file}': cannot read: {e.Message}");
        }
    }

    /// <summary>A --set sets its own key only: a value with a line break that reads as more HOCON
    /// (`--set model.name=abc&lt;newline&gt;trainer.epochs = 7`) would otherwise set other keys behind the user's back.</summary>
    private static void CheckOnlyKey(HoconValue root, string key, string set)
    {
        key = key.Replace("\"", "");
        var stray = LeafPaths(root, "").FirstOrDefault(p => !(p == key || p.StartsWith(key + ".", StringComparison.Ordinal)
                                                              || key.StartsWith(p + ".", StringComparison.Ordinal)));
        if (stray is not null)
            throw new ConfigException($"--set '{OneLine(set)}': the value also sets '{stray}'; one --set sets one key (a string value that spans lines goes in triple quotes)");
    }

    private static IEnumerable<string> LeafPaths(HoconValue value, string path)
    {
        if (!value.IsObject() || value.GetObject().Items.Count == 0) return path.Length == 0 ? [] : [path];
        return value.GetObject().Items.SelectMany(kv => LeafPaths(kv.Value, path.Length == 0 ? kv.Key : path + "." + kv.Key));
    }

    /// <summary>Text on one line: line breaks shown as \n (for messages and the comment lines of a rendered config).</summary>
    public static string OneLine(string text) => text.ReplaceLineEndings("\\n");

    /// <summary>The HOCON line a --set key=value stands for (bare paths and special characters quoted).</summary>
    public static string SetLine(string set)
    {
        var (key, _) = SetOption.Split(set);
        return $"{key} = {SetValueText(set)}";
    }

    /// <summary>The HOCON text of the value of a --set that <see cref="SetOption.Split"/> accepted: quoted where needed,
    /// blanks only kept as quoted blanks (<see cref="BlankValues.SetText"/>).</summary>
    private static string SetValueText(string set) => BlankValues.SetText(set[(set.IndexOf('=') + 1)..]);

    internal static string QuoteIfNeeded(string value)
    {
        if (value.Length == 0) return "\"\"";
        // HOCON values that are lists/objects/quoted strings pass through; bare paths like /tmp/x need quotes.
        if (value[0] is '[' or '{' or '"') return value;
        return value.IndexOfAny([':', '/', '\\', '#', ',', '$', '?', '!', '@', '*', '&', '^', '`', '\'']) >= 0
            ? "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\""
            : value;
    }

    private static Config Parse(string text, string source) => GuardedHoconParser.Parse(text, source);

    /// <summary>Every key in <paramref name="value"/> must exist in the reference (akka.* and layer/metrics objects are checked elsewhere).</summary>
    private static void CheckKnown(HoconValue value, HoconValue reference, string path, string source)
    {
        if (!value.IsObject()) return;
        foreach (var (key, child) in value.GetObject().Items)
        {
            var full = path.Length == 0 ? key : path + "." + key;
            if (full == "akka") continue;                        // Akka's own settings
            if (full == "metrics" && child.IsObject())           // { names = [...], port = N }
            {
                foreach (var k in child.GetObject().Items.Keys)
                    if (k is not ("names" or "port"))
                        throw new ConfigException($"{source}: unknown key 'metrics.{k}' (allowed: metrics.names, metrics.port)");
                continue;
            }
            var refChild = reference.IsObject() ? reference.GetObject().Items.GetValueOrDefault(key) : null;
            if (refChild is null)
            {
                var known = reference.IsObject() ? reference.GetObject().Items.Keys.Select(k => path.Length == 0 ? k : path + "." + k) : [];
                var hint = known.OrderBy(k => Levenshtein(k, full)).FirstOrDefault();
                throw new ConfigException($"{source}: unknown key '{full}'" + (hint is null ? "" : $" (did you mean '{hint}'?)") +
                                          " — see config/reference.conf for every key");
            }
            if (refChild.IsObject())
            {
                if (!child.IsObject())
                    throw new ConfigException($"{source}: '{full}' must be an object with keys {string.Join(", ", refChild.GetObject().Items.Keys.Select(k => full + "." + k))}");
                CheckKnown(child, refChild, full, source);
            }
        }
    }

    /// <summary>Renders a configuration as HOCON that parses back to the same values: keys and strings quoted
    /// JSON-style, numbers and booleans bare, objects and lists nested.</summary>
    public static string Render(Config config)
    {
        var sb = new System.Text.StringBuilder();
        RenderObject(config.Root, sb, 0);
        return sb.ToString();
    }

    /// <summary>The value at <paramref name="path"/> rendered as by <see cref="Render"/> (normalised for comparison),
    /// or null when the path is absent.</summary>
    public static string? RenderPath(Config config, string path)
    {
        if (!config.HasPath(path)) return null;
        var sb = new System.Text.StringBuilder();
        RenderValue(config.GetValue(path), sb, 0);
        return sb.ToString();
    }

    private static void RenderObject(HoconValue obj, System.Text.StringBuilder sb, int indent)
    {
        foreach (var (key, value) in obj.GetObject().Items)
        {
            sb.Append(' ', indent).Append(System.Text.Json.JsonSerializer.Serialize(key)).Append(value.IsObject() ? " " : " = ");
            RenderValue(value, sb, indent);
            sb.Append('\n');
        }
    }

    /// <summary>HOCON's empty list `[]`, which Akka's <c>IsArray()</c> reports as false (and <c>GetString()</c> as "").</summary>
    public static bool IsEmptyList(HoconValue? v) =>
        v is not null && v.Values.Count == 1 && v.Values[0] is Akka.Configuration.Hocon.HoconArray { Count: 0 };

    private static void RenderValue(HoconValue value, System.Text.StringBuilder sb, int indent)
    {
        if (value.IsObject())
        {
            sb.Append("{\n");
            RenderObject(value, sb, indent + 2);
            sb.Append(' ', indent).Append('}');
        }
        else if (value.IsArray() || IsEmptyList(value))
        {
            sb.Append('[');
            var items = value.GetArray();
            for (var i = 0; i < items.Count; i++)
            {
                if (i > 0) sb.Append(", ");
                RenderItem(items[i], sb, indent);
            }
            sb.Append(']');
        }
        else
        {
            var raw = value.GetString() ?? "";
            var bare = raw is "true" or "false" ||
                       (raw.Length > 0 && double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out _) && !raw.Contains('_'));
            sb.Append(bare ? raw : System.Text.Json.JsonSerializer.Serialize(raw));
        }
    }

    /// <summary>One element of a list as <see cref="Render"/> writes it (an object on one line).</summary>
    internal static string RenderItem(HoconValue item)
    {
        var sb = new System.Text.StringBuilder();
        RenderItem(item, sb, 0);
        return sb.ToString();
    }

    private static void RenderItem(HoconValue item, System.Text.StringBuilder sb, int indent)
    {
        if (!item.IsObject())
        {
            RenderValue(item, sb, indent + 2);
            return;
        }
        sb.Append("{ ");
        var first = true;
        foreach (var (k, v) in item.GetObject().Items)
        {
            if (!first) sb.Append(", ");
            first = false;
            sb.Append(System.Text.Json.JsonSerializer.Serialize(k)).Append(" = ");
            RenderValue(v, sb, indent + 2);
        }
        sb.Append(" }");
    }

    private static int Levenshtein(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}

/// <summary>Typed, range-checked reads of a Config; errors name the key and the allowed values.</summary>
public sealed class ConfigReader(Config config)
{
    /// <summary>The underlying configuration.</summary>
    public Config Config { get; } = config;

    private string Raw(string path)
    {
        if (!Config.HasPath(path)) throw new ConfigException($"config: missing key '{path}'");
        var v = Config.GetValue(path);
        if (v.IsObject() || v.IsArray()) throw new ConfigException($"config: '{path}' must be a single value, not {(v.IsArray() ? "a list" : "an object")}");
        return v.GetString() ?? "";
    }

    /// <summary>An integer in [min, max], written as one (<see cref="IntegerValue"/>: 1.0 is refused naming the key).</summary>
    public int Int(string path, int min = int.MinValue, int max = int.MaxValue) => IntegerValue.InRange(path, Raw(path), min, max);

    /// <summary>A finite number in [min, max] (or (min, max) when exclusive).</summary>
    public double Double(string path, double min = double.NegativeInfinity, double max = double.PositiveInfinity, bool exclusiveMin = false, bool exclusiveMax = false)
    {
        var raw = Raw(path);
        if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
            throw new ConfigException($"config: {path} must be a number, got '{raw}'");
        var lo = exclusiveMin ? v > min : v >= min;
        var hi = exclusiveMax ? v < max : v <= max;
        if (!lo || !hi)
        {
            var range = double.IsPositiveInfinity(max) ? (exclusiveMin ? $"> {min}" : $">= {min}")
                : $"in {(exclusiveMin ? "(" : "[")}{min}, {max}{(exclusiveMax ? ")" : "]")}";
            throw new ConfigException($"config: {path} must be {range}, got {raw}");
        }
        return v;
    }

    /// <summary>true or false.</summary>
    public bool Bool(string path)
    {
        var raw = Raw(path);
        return raw.ToLowerInvariant() switch
        {
            "true" or "on" or "yes" => true,
            "false" or "off" or "no" => false,
            _ => throw new ConfigException($"config: {path} must be true or false, got '{raw}'"),
        };
    }

    /// <summary>A string (any).</summary>
    public string String(string path) => Raw(path);

    /// <summary>One of the allowed (lower-case) words.</summary>
    public string OneOf(string path, params string[] allowed)
    {
        var raw = Raw(path).Trim().ToLowerInvariant();
        if (Array.IndexOf(allowed, raw) < 0)
            throw new ConfigException($"config: {path} must be one of {string.Join(", ", allowed)}, got '{Raw(path)}'");
        return raw;
    }

    /// <summary>A positive duration (HOCON "30s", "500ms", "2m").</summary>
    public TimeSpan Duration(string path)
    {
        var raw = Raw(path);
        TimeSpan? t = null;
        try { t = Config.GetTimeSpan(path, null, false); } catch (Exception) { }
        if (t is null || t.Value <= TimeSpan.Zero)
            throw new ConfigException($"config: {path} must be a positive duration such as 30s or 500ms, got '{raw}'");
        return t.Value;
    }

    /// <summary>A list of integers, each >= min.</summary>
    public int[] IntList(string path, int min)
    {
        if (!Config.HasPath(path)) throw new ConfigException($"config: missing key '{path}'");
        var v = Config.GetValue(path);
        if (!v.IsArray()) throw new ConfigException($"config: {path} must be a list of integers such as [784], got '{v}'");
        return v.GetArray().Select((e, i) =>
        {
            var s = e.GetString() ?? "";
            return IntegerValue.InRange($"{path}[{i}]", s, min);
        }).ToArray();
    }
}
