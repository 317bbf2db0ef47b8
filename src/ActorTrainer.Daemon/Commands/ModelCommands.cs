using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Daemon.Cli;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Daemon.Output;
using ActorTrainer.Daemon.Runs;

namespace ActorTrainer.Daemon.Commands;

/// <summary>evaluate / predict / export / summary on a saved model directory (config.json + model.safetensors).</summary>
public static class ModelCommands
{
    private const string OnGpu =
        "  --set trainer.backend=cuda runs it on the GPU; also trainer.cuda.accelerator, .device, .tf32";

    /// <summary>Usage text of evaluate (its own `evaluate --help` page).</summary>
    public const string EvaluateUsage =
        "evaluate --model DIR [--data DIR] [--batch-size N] [--json] [--set key=value]...\n" +
        "                                     test loss/accuracy (also written to DIR/evaluation.json)\n" + OnGpu;

    /// <summary>Usage text of predict.</summary>
    public const string PredictUsage =
        "predict --model DIR --input FILE [--invert auto|yes|no] [--set key=value]...\n" +
        "                                     FILE = IDX image file (.gz ok) or PNG; one JSON line per image\n" +
        "                                     a PNG of the model's aspect ratio is resized to its input; --invert auto (default) turns a\n" +
        "                                     PNG's dark digit on a light background into MNIST's light digit on black\n" + OnGpu;

    /// <summary>Usage text of export.</summary>
    public const string ExportUsage =
        "export --model DIR --format onnx --output FILE\n" +
        "                                     FILE goes into an existing folder outside the model directory";

    /// <summary>Usage text of summary.</summary>
    public const string SummaryUsage = "summary --model DIR                  the Keras-style layer table";

    /// <summary>The model of --model DIR; a run directory of `train` is refused naming its model folder.</summary>
    private static Sequential Load(CommandLine cl)
    {
        var dir = ModelDir(cl);
        var inRun = Path.Combine(dir, RunDirectory.ModelFolder);
        if (!File.Exists(Path.Combine(dir, ModelFiles.ConfigFile)) && File.Exists(Path.Combine(inRun, ModelFiles.ConfigFile)))
            throw new FileNotFoundException($"model directory '{dir}' has no {ModelFiles.ConfigFile} (it is a run directory: its model is '{inRun}')");
        try { return InputRead.Guard(() => Sequential.Load(dir), $"{cl.Command}: --model '{dir}'", "make the model's files readable"); }
        catch (ModelFileException e) when (ModelConfig.unknownLayerClass(e) is { } unknown)
        {
            throw CustomLayerRefusal(cl.Command, Path.Combine(dir, ModelFiles.ConfigFile), unknown.Value, e);
        }
    }

    /// <summary>A model file holding a user-defined layer class: the CLI has no way to register one, so the refusal names
    /// the file, the layer and its class, the classes the CLI loads, and how to use the model from code instead
    /// (the library's own message tells a programmer how to register the class).</summary>
    private static ModelFileException CustomLayerRefusal(string command, string file, Tuple<string, string, string> unknown, Exception inner)
    {
        var (where, cls, name) = unknown;
        return new ModelFileException(
            $"{command}: model file '{file}': {where}: layer '{name}' is of the custom class '{cls}', which the command line cannot construct; " +
            $"it loads only the built-in layer classes ({string.Join(", ", ModelConfig.layerClasses)}). " +
            $"Use the model from code instead, with the class registered: Sequential.Load(dir, customObjects) " +
            $"(customObjects maps \"{cls}\" to a factory from its config), or Sequential.Load(dir, typeof({cls}))", inner);
    }

    /// <summary>The --model DIR option (a blank one is refused naming it by <see cref="CommandLine.Parse"/>).</summary>
    private static string ModelDir(CommandLine cl) => cl.Require("model");

    /// <summary>evaluate: prints "test_loss: X - test_accuracy: Y" (or JSON with --json) and writes evaluation.json; its
    /// GPU errors advise evaluate's own fallback (<see cref="GpuBackend.Run"/>).</summary>
    public static int Evaluate(CommandLine cl) => GpuBackend.Run("evaluate", () => Evaluating(cl));

    private static int Evaluating(CommandLine cl)
    {
        var backend = BackendSettings.FromSets("evaluate", cl.All("set"));
        // the options' own checks come before the model and the data are read
        var batch = int.TryParse(cl.Get("batch-size") ?? "1024", out var b) && b > 0 ? b : throw new UsageException($"evaluate: --batch-size must be an integer in [1, {int.MaxValue}], got '{cl.Get("batch-size")}'");
        var dataDir = cl.Get("data") ?? "";       // given but blank: refused by CommandLine.Parse, not the bundled set unseen
        var model = Load(cl);
        if (model.Optimizer is null)
            throw new InvalidDataException($"model '{cl.Require("model")}' was saved without a compile config (loss); cannot evaluate");
        Dataset test;
        var plan = model.Plan;
        var expect = new MnistExpectation(plan.InputDim, LabelTargets.ClassesOf(plan.Loss, plan.OutputDim));   // labels below the output units (one-hot: one per class; one unit: 0 or 1)
        try { test = Mnist.LoadTestWith(expect, dataDir); }
        catch (Exception e) when (e is InputException or DirectoryNotFoundException or FileNotFoundException or ArgumentException)
        { throw new InvalidDataException($"--data '{dataDir}': {e.Message}"); }
        catch (Exception e) when (InputRead.IsUnreadable(e)) { throw InputRead.Refusal($"evaluate: --data '{dataDir}'", e, "make its files readable"); }
        if (test.Count == 0)
            throw new InvalidDataException($"--data '{(dataDir.Length == 0 ? "bundled" : dataDir)}': the test set is empty (0 samples); nothing to evaluate");
        batch = ResourceCheck.EffectiveBatch(batch, test.Count);      // a batch larger than the data is the whole data
        ResourceCheck.EvaluationBatch(batch, model.Plan.WeightShapes.SelectMany(x => x).Append(model.Plan.InputDim).Max(), "evaluate: --batch-size");
        ModelImage.Check($"--data '{(dataDir.Length == 0 ? "bundled" : dataDir)}': each image of '{test.Source}'", test.Height, test.Width, model.InputShape);
        var features = test.Height * test.Width;
        using var gpu = GpuBackend.Open(backend);
        var logs = model.EvaluateArrays(LabelTargets.For(plan.Loss, test.Images, features, test.Labels, plan.OutputDim), batch, gpu);
        var n = new JsonNumbers();
        var result = new JsonObject
        {
            ["test_loss"] = n.Number(logs["loss"], "test_loss"),
            ["test_accuracy"] = TrainingOutputs.Accuracy(logs) is { } a ? n.Number(a, "test_accuracy") : null,
            ["samples"] = test.Count,
            ["data"] = string.IsNullOrEmpty(dataDir) ? "bundled" : dataDir,
            ["backend"] = backend.Backend,
        };
        if (gpu is not null) result["device"] = gpu.DeviceName;
        n.Flag(result);
        Console.Out.WriteLine(cl.Has("json")
            ? result.ToJsonString()
            : TrainingOutputs.TestLine(logs));
        var side = Path.Combine(cl.Require("model"), ModelFiles.EvaluationFile);
        try { RunFiles.WriteJson(side, result); }      // the result is printed whether or not the model directory is writable
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"warning: could not write {side} ({e.Message}); the result above is not saved there");
        }
        return 0;
    }

    /// <summary>predict: label and probabilities per input image as JSON lines; its GPU errors advise predict's own
    /// fallback (<see cref="GpuBackend.Run"/>).</summary>
    public static int Predict(CommandLine cl) => GpuBackend.Run("predict", () => Predicting(cl));

    private static int Predicting(CommandLine cl)
    {
        var backend = BackendSettings.FromSets("predict", cl.All("set"));
        var model = Load(cl);
        var input = cl.Require("input");
        if (Directory.Exists(input)) throw new InvalidDataException($"--input '{input}' is a directory; give an IDX or PNG file");
        if (!File.Exists(input)) throw new FileNotFoundException($"--input '{input}' does not exist", input);
        var features = model.Plan.InputDim;
        var invert = DigitPng.ParseInvert(cl.Get("invert"));
        var x = InputRead.Guard(() => InputPixels(input, model, invert), $"predict: --input '{input}'", "make it readable");
        using var gpu = GpuBackend.Open(backend);
        var probs = model.PredictArrays(x, features, 1024, gpu);
        var classes = model.Plan.OutputDim;
        var labels = TrainingOutputs.PredictedLabels(probs, classes);
        var o = Console.Out;
        for (var i = 0; i < labels.Length; i++)
        {
            var n = new JsonNumbers();        // a NaN or infinite output is null, listed in non_finite, and leaves no label
            var p = new JsonArray(Enumerable.Range(0, classes).Select(j => n.Number(probs[i * classes + j], $"probabilities[{j}]")).ToArray());
            var finite = p.All(v => v is not null);
            var line = new JsonObject { ["index"] = i, ["label"] = finite ? labels[i] : null, ["probabilities"] = p };
            n.Flag(line);
            o.WriteLine(line.ToJsonString());
        }
        return 0;
    }

    /// <summary>The pixels of predict's --input FILE (a PNG or an IDX image file, told by its first bytes) in [0, 1].</summary>
    private static float[] InputPixels(string input, Sequential model, DigitPng.Invert invert)
    {
        if (PredictInput.IsPng(input))      // else IDX; any other kind of file is refused naming it
        {
            if (ModelImage.Of(model.InputShape) is not var (rows, cols) || rows * cols != model.Plan.InputDim)
                throw new InvalidDataException($"--input '{input}': PNG input needs a model of one gray channel of rows x columns, but the model takes {ModelImage.Show(model.InputShape)}");
            var png = DigitPng.Read(input, model.InputShape, invert);
            if (invert == DigitPng.Invert.Auto && png.AutoNote(input) is { } note) Console.Error.WriteLine(note);
            return png.Pixels;
        }
        var idx = Idx.Read(input);
        if (idx.Dims.Length != 3) throw new InvalidDataException($"--input '{input}': expected a 3-D IDX image file (count × rows × cols), got {idx.Dims.Length}-D");
        if (idx.Dims[0] == 0) throw new InvalidDataException($"--input '{input}': the IDX file holds 0 images; nothing to predict");
        ModelImage.Check($"--input '{input}': each image", idx.Dims[1], idx.Dims[2], model.InputShape);
        return idx.Data.Select(p => invert == DigitPng.Invert.Yes ? 1f - p / 255f : p / 255f).ToArray();   // IDX: MNIST's own form
    }

    /// <summary>export --format onnx.</summary>
    public static int Export(CommandLine cl)
    {
        var format = cl.Require("format").ToLowerInvariant();
        if (format != "onnx") throw new UsageException($"export: --format must be onnx, got '{cl.Get("format")}'");
        var model = Load(cl);
        var output = cl.Require("output");
        ExportTarget.Check(output, ModelDir(cl));      // before anything is written: no folder is created
        try { Onnx.Export(model, output); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)     // its folder exists (ExportTarget): a failed write is I/O (permissions, a full disk)
        {
            throw new IOException($"export: cannot write --output '{output}': {e.Message}", e);
        }
        Console.Out.WriteLine($"wrote {output} (ONNX opset 13, input \"input\" [N, {string.Join(", ", model.InputShape)}])");
        return 0;
    }

    /// <summary>summary: the Keras-style table.</summary>
    public static int Summary(CommandLine cl)
    {
        Load(cl).Summary(Console.Out);
        return 0;
    }
}
