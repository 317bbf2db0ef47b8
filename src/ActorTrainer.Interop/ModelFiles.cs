using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorTrainer.Interop;

// Declared in ActorTrainer.Core so that `using ActorTrainer.Core` / `open ActorTrainer.Core` brings the model files
// into scope next to Sequential itself; the code lives here because Core does not depend on file formats.
namespace ActorTrainer.Core;

/// <summary>A model directory: config.json (architecture + compile config), model.safetensors (weights, named
/// "&lt;layer&gt;/kernel", "&lt;layer&gt;/bias"), optimizer.safetensors (slots "slot/&lt;weight&gt;/&lt;k&gt;", iterations in
/// metadata). Written atomically: files go to a temporary sibling directory which then replaces the target. A target
/// that holds anything besides <see cref="OwnFiles"/> is refused (ArgumentException naming it and one foreign entry),
/// so a save never deletes files it did not write.</summary>
public static partial class ModelFiles
{
    /// <summary>Architecture and compile config file inside a model directory.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>Weights file inside a model directory.</summary>
    public const string WeightsFile = "model.safetensors";

    /// <summary>Optimizer state file inside a model directory (only for compiled models).</summary>
    public const string OptimizerFile = "optimizer.safetensors";

    /// <summary>The files a model directory may hold and a save replaces: config.json, model.safetensors,
    /// optimizer.safetensors and the CLI's evaluation.json (which describes the weights being replaced).</summary>
    public static readonly IReadOnlyList<string> OwnFiles = [ConfigFile, WeightsFile, OptimizerFile, EvaluationFile];

    /// <summary>The CLI's `evaluate` result beside the model (describes its weights).</summary>
    public const string EvaluationFile = "evaluation.json";

    /// <summary>Saves config.json + model.safetensors (+ optimizer.safetensors when compiled) into
    /// <paramref name="dir"/> ("dir/" is the same directory), atomically. Throws InvalidOperationException when the
    /// model is not built and ArgumentException when <paramref name="dir"/> holds files that are not a model's.</summary>
    public static void Save(Sequential model, string dir)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!model.Built) throw new InvalidOperationException($"save: model '{model.Name}' is not built yet");
        var weights = model.GetWeights();
        var vars = model.Variables;
        var named = new NamedTensor[vars.Length];
        for (var i = 0; i < vars.Length; i++) named[i] = new NamedTensor(vars[i].Name, vars[i].Shape, weights[i]);
        Write(dir, model.GetConfig(), named, model.Optimizer);
    }

    /// <summary>Loads a model saved by <see cref="Save"/>: rebuilds the layers, sets the weights (names and shapes
    /// checked), and restores the compile config and optimizer state when present. Built-in layer classes only; a
    /// model with a user-defined layer is loaded with <see cref="Load(string, IReadOnlyDictionary{string, Func{JsonObject, Layer}})"/>.</summary>
    public static Sequential Load(string dir) => Load(dir, NoCustomObjects);

    /// <summary>Loads a model saved by <see cref="Save"/> whose layers may be user-defined classes (Keras
    /// <c>custom_objects</c>): <paramref name="customObjects"/> maps a layer's class name (its <c>class_name</c> in
    /// config.json, the layer's ClassName) to a factory that builds the layer, not built, from
    /// its config object (<c>{"name": ..., its ConfigEntries}</c>); a layer the factory leaves unnamed takes the
    /// config's name. Registered names are looked up before the built-in classes. A class neither built in nor
    /// registered is a ModelFileException naming the file, the layer, its class and how to register it.</summary>
    public static Sequential Load(string dir, IReadOnlyDictionary<string, Func<JsonObject, Layer>>? customObjects)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dir);
        var custom = customObjects ?? NoCustomObjects;
        var (cfgPath, cfg) = ReadConfig(dir);
        var spec = ModelConfig.parseModelWith(cfgPath, custom, cfg);
        // Shapes and sizes are compared with the weights file before any weight is allocated or initialised (a model
        // given its input shape is built at once, so it gets it from Build below). A user-defined layer need not
        // declare WeightSpecs: with custom classes the model is built first and its variables give names and shapes.
        var model = new Sequential(spec.Layers, spec.Name, null, spec.Seed);
        if (custom.Count > 0) model.Build(spec.InputShape);
        var specs = model.WeightSpecs(spec.InputShape);
        var expected = specs.Select(s => (s.Item1, s.Item2)).ToArray();
        var values = ReadWeights(dir, expected);
        model.Build(spec.InputShape);
        model.SetWeights(values);
        if (spec.Compile is { } compile)
        {
            var (opt, lossName, metrics) = compile.Value;
            model.Compile(opt, lossName, metrics);
            var sizes = expected.Select(s => s.Item2.Aggregate(1L, (acc, d) => acc * d)).ToArray();
            if (ReadOptimizerState(dir, opt, sizes) is { } state) opt.LoadState(state.Iterations, state.Slots);
        }
        return model;
    }

    /// <summary>Writes the directory atomically: config (indented JSON), weights (F32, in list order) and, when
    /// <paramref name="optimizer"/> is not null, its iterations and slots. The old directory is moved aside whole and
    /// deleted only once the new one is in place, so it must hold nothing but <see cref="OwnFiles"/>. What earlier
    /// interrupted saves of <paramref name="dir"/> left beside it is then deleted too (<see cref="Leftovers"/>).</summary>
    public static void Write(string dir, JsonNode config, IReadOnlyList<NamedTensor> weights, Optimizer? optimizer)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dir);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        CheckReplaceable(dir, full);
        var parent = Path.GetDirectoryName(full)!;
        try { Directory.CreateDirectory(parent); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"save: cannot create '{parent}', the directory model '{dir}' goes in: {e.Message}", e);
        }
        var tmp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(tmp);
        try
        {
            File.WriteAllText(Path.Combine(tmp, ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            Safetensors.Write(Path.Combine(tmp, WeightsFile), weights, new Dictionary<string, string> { ["format"] = "actortrainer" });
            if (optimizer is not null) WriteOptimizer(Path.Combine(tmp, OptimizerFile), optimizer);
            var old = full + ".old-" + Guid.NewGuid().ToString("N");
            if (Directory.Exists(full)) Directory.Move(full, old);
            Directory.Move(tmp, full);
            if (Directory.Exists(old)) Directory.Delete(old, true);
        }
        catch
        {
            try { Directory.Delete(tmp, true); } catch { /* best effort: the original error matters */ }
            throw;
        }
        SweepLeftovers(full);     // the new model is in place: the save has succeeded whatever the sweep meets
    }

    /// <summary>Throws the ArgumentException that <see cref="Save"/> into <paramref name="dir"/> would throw now (a
    /// file, or a directory holding an entry that is not one of <see cref="OwnFiles"/>), without writing anything: a
    /// caller about to spend long on a model checks where it will save it first.</summary>
    public static void CheckSaveTarget(string dir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dir);
        CheckReplaceable(dir, Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)));
    }

    /// <summary>Refuses a target that exists as a file, or as a directory with an entry a save would not write.</summary>
    private static void CheckReplaceable(string dir, string full)
    {
        if (File.Exists(full)) throw new ArgumentException($"save: '{dir}' is a file, not a model directory", nameof(dir));
        if (!Directory.Exists(full)) return;
        var foreign = Directory.EnumerateFileSystemEntries(full).Select(Path.GetFileName)
            .FirstOrDefault(n => !OwnFiles.Contains(n!) || Directory.Exists(Path.Combine(full, n!)));
        if (foreign is not null)
            throw new ArgumentException($"save: directory '{dir}' holds '{foreign}', which is not a model file; saving replaces the " +
                                        $"whole directory, so give a new or empty directory, or one holding only {string.Join(", ", OwnFiles)}", nameof(dir));
    }

    /// <summary>optimizer.safetensors: one F32 tensor "slot/i/k" per slot, metadata optimizer/iterations/weights.</summary>
    private static void WriteOptimizer(string path, Optimizer o)
    {
        var (iterations, slots) = o.GetState();
        var tensors = new List<NamedTensor>();
        for (var i = 0; i < slots.Length; i++)
            for (var k = 0; k < slots[i].Length; k++)
                tensors.Add(new NamedTensor($"slot/{i}/{k}", [slots[i][k].Length], slots[i][k]));
        var meta = new Dictionary<string, string>
        {
            ["optimizer"] = o.Name,
            ["iterations"] = iterations.ToString(CultureInfo.InvariantCulture),
            ["weights"] = slots.Length.ToString(CultureInfo.InvariantCulture),
        };
        Safetensors.Write(path, tensors, meta);
    }
}

/// <summary>Save and load as members of <see cref="Sequential"/>: <c>model.Save(dir)</c> and
/// <c>Sequential.Load(dir)</c> (C#); F# sees <c>model.Save dir</c> and uses <see cref="ModelFiles.Load(string)"/>.</summary>
public static class SequentialFileExtensions
{
    /// <summary>Saves the model into a directory, atomically (see <see cref="ModelFiles.Save"/>).</summary>
    public static void Save(this Sequential model, string dir) => ModelFiles.Save(model, dir);

    extension(Sequential)
    {
        /// <summary>Loads a model saved by Save (see <see cref="ModelFiles.Load(string)"/>).</summary>
        public static Sequential Load(string dir) => ModelFiles.Load(dir);

        /// <summary>Loads a model saved by Save whose user-defined layer classes are registered in
        /// <paramref name="customObjects"/>: class name → factory from the layer's config (Keras <c>custom_objects</c>;
        /// see <see cref="ModelFiles.Load(string, IReadOnlyDictionary{string, Func{JsonObject, Layer}})"/>).</summary>
        public static Sequential Load(string dir, IReadOnlyDictionary<string, Func<JsonObject, Layer>>? customObjects) =>
            ModelFiles.Load(dir, customObjects);

        /// <summary>Loads a model saved by Save whose user-defined layer classes are <paramref name="layerTypes"/>
        /// (see <see cref="ModelFiles.CustomObjects"/>).</summary>
        public static Sequential Load(string dir, params Type[] layerTypes) => ModelFiles.Load(dir, layerTypes);
    }
}
