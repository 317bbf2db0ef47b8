using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using ActorTrainer.Core;

namespace ActorTrainer.Daemon.Configuration;

/// <summary>
/// The HOCON <c>model</c>, <c>optimizer</c>, <c>loss</c> and <c>metrics</c> sections as the Keras JSON node that
/// <c>Sequential.GetConfig()</c> writes and <c>ModelConfig.parseModel</c> reads, so that one parser (Core's) validates
/// and builds every model. This class only renames keys (kebab-case HOCON → Keras snake_case) and types scalars;
/// ranges and allowed names are Core's. <see cref="Parse"/> maps Core's errors back to the HOCON key at fault.
/// </summary>
public static class ModelSchema
{
    private enum Kind { Number, Bool, Text, Any }

    /// <summary>HOCON layer type → its keys, in the order errors list them (types are Core's layer classes in lower case).
    /// A Core layer class without an entry takes every key, renamed to snake_case (see <see cref="AnyKeys"/>).</summary>
    private static readonly Dictionary<string, string[]> LayerKeys = new()
    {
        ["dense"] = ["type", "units", "activation", "use-bias", "kernel-initializer", "kernel-min", "kernel-max", "kernel-stddev",
                     "kernel-value", "bias-initializer", "bias-value"],
        ["dropout"] = ["type", "rate"],
        ["activation"] = ["type", "activation"],
        ["flatten"] = ["type"],
    };

    /// <summary>Layer types accepted in <c>model.layers[i].type</c>: Core's layer classes, lower-cased.</summary>
    public static IReadOnlyList<string> LayerTypes { get; } = ModelConfig.layerClasses.Select(c => c.ToLowerInvariant()).ToArray();

    /// <summary>Optimizer names accepted in <c>optimizer.type</c>: Core's optimizer classes, lower-cased.</summary>
    public static IReadOnlyList<string> OptimizerTypes { get; } = ModelConfig.optimizerClasses.Select(c => c.ToLowerInvariant()).ToArray();

    /// <summary>The Keras node {"class_name": "Sequential", "config": {...}, "compile_config": {...}} of a config;
    /// <paramref name="metricNames"/> are the names read from <c>metrics</c> (null: [accuracy]). Throws <see cref="ConfigException"/>
    /// only for HOCON shapes that have no JSON form (a layer that is not an object, an unknown layer key).</summary>
    public static JsonObject ToKerasJson(Config config, int seed, IList<HoconValue>? metricNames)
    {
        var shape = new JsonArray { null };
        var input = config.GetValue("model.input-shape");
        if (input is null || !input.IsArray() || input.GetArray().Count == 0)
            throw new ConfigException("config: model.input-shape must be a non-empty list of integers such as [784]");
        var dims = input.GetArray();
        for (var i = 0; i < dims.Count; i++) shape.Add(Integer(dims[i], $"model.input-shape[{i}]"));
        var model = new JsonObject
        {
            ["name"] = Value(config.GetValue("model.name"), Kind.Text),
            ["seed"] = seed,
            ["build_input_shape"] = shape,
            ["layers"] = Layers(config, seed),
        };
        var metrics = metricNames is null ? new JsonArray("accuracy") : new JsonArray(metricNames.Select(m => Value(m, Kind.Text)).ToArray());
        var compile = new JsonObject
        {
            ["optimizer"] = Optimizer(config),
            ["loss"] = Value(config.GetValue("loss"), Kind.Text),
            ["metrics"] = metrics,
        };
        return new JsonObject { ["class_name"] = "Sequential", ["config"] = model, ["compile_config"] = compile };
    }

    /// <summary>Validates and constructs the model node with Core's parser; its errors come back naming the HOCON key.</summary>
    internal static ModelSpec Parse(JsonObject keras)
    {
        ModelSpec spec;
        try
        {
            spec = ModelConfig.parseModel("config", keras);
        }
        catch (ModelFileException e)
        {
            throw Explain(ModelJson.fieldError(e), e.Message);
        }
        CheckEngineShapes(spec);
        return spec;
    }

    /// <summary>Follows model.input-shape through the layers as the training engine will (Layer.Plan): a layer it cannot
    /// run on its input (a dense layer on samples that are not flat) is a <see cref="ConfigException"/> naming the layer
    /// and the shape, before anything is loaded or written.</summary>
    private static void CheckEngineShapes(ModelSpec spec)
    {
        var shape = spec.InputShape;
        for (var i = 0; i < spec.Layers.Length; i++)
        {
            var layer = spec.Layers[i];
            try { layer.Plan(shape); }
            catch (ShapeException)
            {
                throw new ConfigException($"config: model.layers.{i} ({layer.GetType().Name.ToLowerInvariant()}) receives samples of shape " +
                                          $"[{string.Join(", ", shape)}] (model.input-shape is [{string.Join(", ", spec.InputShape)}]); the training " +
                                          "engine needs flat samples: put { type = flatten } before it, or give model.input-shape as one number such as [784]");
            }
            shape = layer.ComputeOutputShape(shape);
        }
    }

    private static JsonArray Layers(Config config, int seed)
    {
        var v = config.GetValue("model.layers");
        if (v is null || !v.IsArray())
            throw new ConfigException("config: model.layers must be a list of layer objects such as [{ type = dense, units = 10, activation = softmax }]");
        var result = new JsonArray();
        var arr = v.GetArray();
        for (var i = 0; i < arr.Count; i++)
        {
            if (!arr[i].IsObject()) throw new ConfigException($"config: model.layers[{i}] must be an object such as {{ type = dense, units = 10 }}");
            result.Add(Layer(arr[i].GetObject().Items, $"model.layers[{i}]", seed));
        }
        return result;
    }

    /// <summary>One layer: {"class_name": Core's class for `type`, "config": the renamed keys}.</summary>
    private static JsonObject Layer(IDictionary<string, HoconValue> items, string key, int seed)
    {
        var rawType = items.TryGetValue("type", out var t) ? Value(t, Kind.Text) : JsonValue.Create("");
        var type = rawType is JsonValue tv && tv.TryGetValue<string>(out var s) ? s.Trim().ToLowerInvariant() : "";
        var cls = ModelConfig.layerClasses.FirstOrDefault(c => c.ToLowerInvariant() == type);
        var cfg = new JsonObject();
        if (cls is null) return new JsonObject { ["class_name"] = rawType, ["config"] = cfg };
        if (!LayerKeys.TryGetValue(type, out var allowed)) return new JsonObject { ["class_name"] = cls, ["config"] = AnyKeys(items) };
        foreach (var k in items.Keys)
            if (Array.IndexOf(allowed, k) < 0)
                throw new ConfigException($"config: unknown key '{key}.{k}' for a {type} layer (allowed: {string.Join(", ", allowed)})");
        JsonNode? Get(string k, Kind kind) => items.TryGetValue(k, out var x) ? Value(x, kind) : null;
        void Put(string jsonKey, JsonNode? n) { if (n is not null) cfg[jsonKey] = n; }
        switch (type)
        {
            case "dense":
                Put("units", items.TryGetValue("units", out var units) ? Integer(units, $"{key}.units") : null);
                Put("activation", Get("activation", Kind.Text));
                Put("use_bias", Get("use-bias", Kind.Bool));
                Put("kernel_initializer", Initializer(items, "kernel"));
                Put("bias_initializer", Initializer(items, "bias"));
                break;
            case "dropout":
                Put("rate", Get("rate", Kind.Number));
                cfg["seed"] = seed;
                break;
            case "activation":
                Put("activation", Get("activation", Kind.Text));
                break;
        }
        return new JsonObject { ["class_name"] = cls, ["config"] = cfg };
    }

    /// <summary>The config of a layer type without a <see cref="LayerKeys"/> entry: every key but <c>type</c>, kebab-case
    /// renamed to snake_case, each value a number, true/false or a string as it reads (Core checks them).</summary>
    private static JsonObject AnyKeys(IDictionary<string, HoconValue> items)
    {
        var cfg = new JsonObject();
        foreach (var (k, v) in items)
            if (k != "type") cfg[k.Replace('-', '_')] = Value(v, Kind.Any);
        return cfg;
    }

    /// <summary>`prefix`-initializer as a name, or as {"class_name", "config"} for random_uniform (prefix-min/-max),
    /// random_normal (prefix-stddev) and constant (prefix-value); null when the key is absent (Core's default).</summary>
    private static JsonNode? Initializer(IDictionary<string, HoconValue> items, string prefix)
    {
        if (!items.TryGetValue(prefix + "-initializer", out var v)) return null;
        var node = Value(v, Kind.Text);
        var name = node is JsonValue nv && nv.TryGetValue<string>(out var s) ? ActorTrainer.Core.Initializer.Canonical(s) : "";
        var cfg = new JsonObject();
        void Put(string hocon, string json) { if (items.TryGetValue($"{prefix}-{hocon}", out var x)) cfg[json] = Value(x, Kind.Number); }
        switch (name)
        {
            case "random_uniform": Put("min", "minval"); Put("max", "maxval"); break;
            case "random_normal": Put("stddev", "stddev"); break;
            case "constant": Put("value", "value"); break;
            default: return node;
        }
        return new JsonObject { ["class_name"] = name, ["config"] = cfg };
    }

    /// <summary>{"class_name": Core's class for optimizer.type, "config": the other optimizer keys, snake_case}.</summary>
    private static JsonObject Optimizer(Config config)
    {
        var section = config.GetValue("optimizer");
        if (section is null || !section.IsObject()) throw new ConfigException("config: optimizer must be an object such as { type = adam }");
        var cfg = new JsonObject();
        JsonNode? cls = null;
        foreach (var (k, v) in section.GetObject().Items)
        {
            if (k == "type")
            {
                cls = Value(v, Kind.Text);
                if (cls is JsonValue cv && cv.TryGetValue<string>(out var s))
                    cls = ModelConfig.optimizerClasses.FirstOrDefault(c => c.Equals(s.Trim(), StringComparison.OrdinalIgnoreCase)) ?? s;
            }
            else if (WeakScaling.OptimizerScheduleKeys.Contains(k)) continue;      // the trainer's schedule, not Keras config
            else cfg[k.Replace('-', '_')] = Value(v, k is "nesterov" or "centered" or "amsgrad" ? Kind.Bool : Kind.Number);
        }
        // only the keys the type takes (reference.conf gives every type's keys; config.json refuses the others)
        var own = ModelConfig.optimizerKeys(cls is JsonValue t && t.TryGetValue<string>(out var name) ? name : "");
        foreach (var k in cfg.Select(kv => kv.Key).Where(k => k != "learning_rate" && !own.Contains(k)).ToList()) cfg.Remove(k);
        return new JsonObject { ["class_name"] = cls, ["config"] = cfg };
    }

    /// <summary>A HOCON value as JSON: lists and objects recursively; scalars as finite numbers (Number), booleans
    /// (Bool: true/false/on/off/yes/no), either (Any: a number, else true/false) or strings; anything that is not of
    /// the kind stays a string for Core to refuse.</summary>
    private static JsonNode? Value(HoconValue? v, Kind kind)
    {
        if (v is null) return null;
        if (v.IsArray()) return new JsonArray(v.GetArray().Select(x => Value(x, kind)).ToArray());
        if (v.IsObject())
        {
            var o = new JsonObject();
            foreach (var (k, c) in v.GetObject().Items) o[k] = Value(c, Kind.Text);
            return o;
        }
        var s = v.GetString();
        if (s is null) return null;
        if (kind is Kind.Number or Kind.Any && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
            return JsonValue.Create(d);
        if (kind == Kind.Any && s.Trim() is "true" or "false") return JsonValue.Create(s.Trim() == "true");
        if (kind == Kind.Bool)
            switch (s.Trim().ToLowerInvariant())
            {
                case "true" or "on" or "yes": return JsonValue.Create(true);
                case "false" or "off" or "no": return JsonValue.Create(false);
            }
        return JsonValue.Create(s);
    }

    /// <summary>An integer key of the model (model.input-shape[i], model.layers[i].units) as a JSON integer, by the rule
    /// of every integer key (<see cref="IntegerValue"/>): any other scalar (256.0, 256.5, ten) is refused naming the key
    /// and the value; a list or an object goes to Core, which refuses it. Ranges are Core's.</summary>
    private static JsonNode? Integer(HoconValue v, string key)
    {
        if (v.IsArray() || v.IsObject()) return Value(v, Kind.Number);
        var s = v.GetString();
        if (s is null) return null;
        if (!IntegerValue.TryParse(s, out System.Numerics.BigInteger n)) throw IntegerValue.NotAnInteger(key, s);
        return n >= long.MinValue && n <= long.MaxValue ? JsonValue.Create((long)n) : JsonValue.Create((double)n);
    }

    /// <summary>Core's error with the HOCON key in place of the JSON place: "config: model.layers[1].units must be …".</summary>
    private static ConfigException Explain(Microsoft.FSharp.Core.FSharpOption<FieldError>? field, string fallback)
    {
        if (field is null) return new ConfigException($"config: {fallback}");
        var f = field.Value;
        var key = HoconKey(f.Section, f.Key);
        var problem = f.Problem;
        if (f.Key == "class_name" && key.EndsWith(".type"))
        {
            var allowed = key.StartsWith("optimizer") ? OptimizerTypes : LayerTypes;
            var got = problem.LastIndexOf(", got ", StringComparison.Ordinal) is var at and >= 0 ? problem[(at + 6)..] : "''";
            problem = $"must be one of {string.Join(", ", allowed)}, got {got}";
        }
        var joined = problem.StartsWith("must ") || problem.StartsWith("is ") ? " " : ": ";
        return new ConfigException($"config: {key}{joined}{problem}");
    }

    /// <summary>The HOCON key for a JSON place: (section "layers[1] (Dense)", key "use_bias") → model.layers[1].use-bias.</summary>
    internal static string HoconKey(string section, string key)
    {
        var kebab = key.Replace('_', '-');
        switch (section)
        {
            case "model":
                if (key.StartsWith("build_input_shape["))
                    return $"model.input-shape[{int.Parse(key[18..^1], CultureInfo.InvariantCulture) - 1}]";
                return key switch { "build_input_shape" => "model.input-shape", "seed" => "trainer.seed", "" => "model", _ => "model." + kebab };
            case "optimizer":
                return key switch { "class_name" => "optimizer.type", "" => "optimizer", _ => "optimizer." + kebab };
            case "compile_config":
                return key.StartsWith("metrics") ? key : key == "" ? "model" : kebab;
        }
        var m = System.Text.RegularExpressions.Regex.Match(section, @"^layers\[(\d+)\](?: \(.*?\))?(?: '(kernel|bias)_initializer')?$");
        if (!m.Success) return "model";
        var layer = $"model.layers[{m.Groups[1].Value}]";
        if (m.Groups[2].Success)
        {
            var p = m.Groups[2].Value;
            return layer + "." + key switch
            {
                "minval" => p + "-min", "maxval" => p + "-max", "stddev" => p + "-stddev", "value" => p + "-value", _ => p + "-initializer",
            };
        }
        return key switch { "class_name" => layer + ".type", "seed" => "trainer.seed", "" => layer, _ => layer + "." + kebab };
    }
}
