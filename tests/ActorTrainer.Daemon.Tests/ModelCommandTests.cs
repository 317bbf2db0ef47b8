using Xunit;
using System.Globalization;
using System.Text.Json;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SkiaSharp;

namespace ActorTrainer.Daemon.Tests;

/// <summary>One reference-model run on a 512-train / 500-test MNIST directory, saved to run/model.</summary>
public sealed class SavedModelFixture : IDisposable
{
    private readonly TempDir _temp = new();

    /// <summary>Writes a small MNIST directory (512 train / 500 test images of the bundled set) and trains on it once.</summary>
    public SavedModelFixture()
    {
        Test = Mnist.LoadBundled().Item2;
        DataDir = MnistDir.Write(_temp["mnist"], 512, 500);
        RunDir = _temp["run"];
        var r = Cli.Run(["train", "--run-dir", RunDir, "--set", "data.dir=" + DataDir, "--set", "trainer.epochs=1",
                         "--set", "trainer.runtime=in-process", "--set", "output.plots=false", "--set", "output.tensorboard=false"], 300);
        Assert.True(r.ExitCode == 0, r.Describe());
    }

    /// <summary>MNIST-format directory with the first 512 training and 500 test images.</summary>
    public string DataDir { get; }

    /// <summary>The run directory.</summary>
    public string RunDir { get; }

    /// <summary>The saved model directory.</summary>
    public string ModelDir => Path.Combine(RunDir, "model");

    /// <summary>The bundled MNIST test set (10,000 images; the first 500 are the run's test set).</summary>
    public Dataset Test { get; }

    /// <summary>A fresh temporary directory owned by the fixture.</summary>
    public string Scratch(string name) => Directory.CreateDirectory(_temp[name + "-" + Guid.NewGuid().ToString("N")]).FullName;

    /// <summary>Deletes the run directory.</summary>
    public void Dispose() => _temp.Dispose();
}

/// <summary>End-to-end tests of summary / evaluate / predict / export on a model saved by <c>train</c>.</summary>
public sealed partial class ModelCommandTests(SavedModelFixture fx) : IClassFixture<SavedModelFixture>
{
    private static JsonElement[] JsonLines(CliResult r) =>
        r.StdoutLines.Select(l => { using var d = JsonDocument.Parse(l); return d.RootElement.Clone(); }).ToArray();

    private static float[] Probabilities(JsonElement line) =>
        line.GetProperty("probabilities").EnumerateArray().Select(p => p.GetSingle()).ToArray();

    private string WriteIdx(int count)
    {
        var path = Path.Combine(fx.Scratch("idx"), "images-idx3-ubyte");
        Idx.Write(path, new IdxArray([count, 28, 28], fx.Test.Pixels[..(count * 784)]));
        return path;
    }

    [Fact]
    public void Summary_prints_the_keras_table_with_407050_params()
    {
        var r = Cli.Run(["summary", "--model", fx.ModelDir]);
        Assert.True(r.ExitCode == 0, r.Describe());
        var lines = r.StdoutLines;
        Assert.Contains("Model: \"sequential\"", lines);
        Assert.Contains(lines, l => l.Contains("dense (Dense)") && l.Contains("(None, 512)") && l.Contains("401,920"));
        Assert.Contains(lines, l => l.Contains("dense_1 (Dense)") && l.Contains("(None, 10)") && l.Contains("5,130"));
        Assert.Contains(lines, l => l.StartsWith("Total params: 407,050"));
        Assert.Contains(lines, l => l.StartsWith("Trainable params: 407,050"));
    }

    [Fact]
    public void Evaluate_prints_the_same_test_metrics_as_the_training_run()
    {
        var summary = RunDir.Summary(fx.RunDir);
        Assert.Equal(500, summary.GetProperty("test_samples").GetInt32());
        var loss = summary.GetProperty("test_loss").GetDouble();
        var acc = summary.GetProperty("test_accuracy").GetDouble();

        var text = Cli.Run(["evaluate", "--model", fx.ModelDir, "--data", fx.DataDir]);
        Assert.True(text.ExitCode == 0, text.Describe());
        var m = RunDir.TestLine.Match(text.StdoutLines[^1]);
        Assert.True(m.Success, text.Describe());
        Assert.Equal(Math.Round(loss, 4), double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), 10);
        Assert.Equal(Math.Round(acc, 4), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), 10);

        var json = Cli.Run(["evaluate", "--model", fx.ModelDir, "--data", fx.DataDir, "--json"]);
        Assert.True(json.ExitCode == 0, json.Describe());
        var e = Assert.Single(JsonLines(json));
        Assert.Equal(loss, e.GetProperty("test_loss").GetDouble(), 9);
        Assert.Equal(acc, e.GetProperty("test_accuracy").GetDouble(), 12);
        Assert.Equal(500, e.GetProperty("samples").GetInt32());
        Assert.Equal(fx.DataDir, e.GetProperty("data").GetString());
        using var written = JsonDocument.Parse(File.ReadAllText(Path.Combine(fx.ModelDir, "evaluation.json")));
        Assert.Equal(e.GetProperty("test_loss").GetDouble(), written.RootElement.GetProperty("test_loss").GetDouble());
        Assert.Equal(e.GetProperty("test_accuracy").GetDouble(), written.RootElement.GetProperty("test_accuracy").GetDouble());
    }

    [Fact]
    public void Predict_on_an_idx_file_prints_one_json_line_per_image_matching_the_model()
    {
        const int n = 50;
        var r = Cli.Run(["predict", "--model", fx.ModelDir, "--input", WriteIdx(n)]);
        Assert.True(r.ExitCode == 0, r.Describe());
        var lines = JsonLines(r);
        Assert.Equal(n, lines.Length);
        var model = Sequential.Load(fx.ModelDir);
        var expected = model.PredictArrays(fx.Test.Images[..(n * 784)], 784, 1024);
        var correct = 0;
        for (var i = 0; i < n; i++)
        {
            Assert.Equal(i, lines[i].GetProperty("index").GetInt32());
            var p = Probabilities(lines[i]);
            Assert.Equal(10, p.Length);
            Assert.Equal(1.0, p.Sum(v => (double)v), 1e-5);
            var label = lines[i].GetProperty("label").GetInt32();
            Assert.Equal(Array.IndexOf(p, p.Max()), label);
            for (var j = 0; j < 10; j++) Assert.Equal(expected[i * 10 + j], p[j]);
            if (label == fx.Test.Labels[i]) correct++;
        }
        Assert.True(correct >= n * 3 / 10, $"only {correct}/{n} of the first test digits predicted correctly (chance is 1/10)");
    }

    /// <summary>The first test digit as a 28×28 PNG, as MNIST has it (light on black) or inverted (dark on white).</summary>
    private string DigitPng(string name, bool darkOnLight)
    {
        var png = Path.Combine(fx.Scratch("png"), name);
        using var bmp = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (var r = 0; r < 28; r++)
            for (var c = 0; c < 28; c++)
            {
                var v = fx.Test.Pixels[r * 28 + c];
                if (darkOnLight) v = (byte)(255 - v);
                bmp.SetPixel(c, r, new SKColor(v, v, v, 255));
            }
        using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(png, data.ToArray());
        return png;
    }

    [Fact]
    public void A_run_directory_given_as_the_model_is_refused_pointing_at_its_model()
    {
        var r = Cli.Run(["evaluate", "--model", fx.RunDir]);
        Cli.AssertBadInput(r, $"model directory '{fx.RunDir}' has no config.json (it is a run directory: its model is '{fx.ModelDir}')");
        var empty = fx.Scratch("empty");
        Assert.DoesNotContain("run directory", Cli.AssertBadInput(Cli.Run(["summary", "--model", empty]), "has no config.json"));
    }

    /// <summary>The first test digit as ink of one colour whose alpha is the pixel (a drawing on a transparent background).</summary>
    private string InkPng(string name, byte ink)
    {
        var png = Path.Combine(fx.Scratch("png"), name);
        using var bmp = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var r = 0; r < 28; r++)
            for (var c = 0; c < 28; c++)
                bmp.SetPixel(c, r, new SKColor(ink, ink, ink, fx.Test.Pixels[r * 28 + c]));
        using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(png, data.ToArray());
        return png;
    }

    [Fact]
    public void Predict_on_a_png_drawn_on_a_transparent_background_keeps_its_strokes()
    {
        var b = Probabilities(JsonLines(Cli.Run(["predict", "--model", fx.ModelDir, "--input", WriteIdx(1)]))[0]);
        foreach (var (ink, inverted) in new[] { ((byte)0, true), ((byte)255, false) })
        {
            var r = Cli.Run(["predict", "--model", fx.ModelDir, "--input", InkPng($"ink{ink}.png", ink)]);
            Assert.True(r.ExitCode == 0, r.Describe());
            Assert.Equal(inverted, r.Stderr.Contains("inverted", StringComparison.Ordinal));
            if (inverted) Assert.Contains("has dark ink on a transparent background (composited onto white): inverted", r.Stderr);
            Assert.DoesNotContain("light background", r.Stderr);
            var a = Probabilities(Assert.Single(JsonLines(r)));
            for (var j = 0; j < 10; j++) Assert.Equal(b[j], a[j], 1e-4f);
        }
    }

    [Fact]
    public void Predict_on_a_dark_on_light_png_inverts_it_unless_told_not_to()
    {
        var png = DigitPng("digit0-inverted.png", darkOnLight: true);
        var auto = Cli.Run(["predict", "--model", fx.ModelDir, "--input", png]);
        Assert.True(auto.ExitCode == 0, auto.Describe());
        Assert.Contains("has a light background: inverted", auto.Stderr);
        var fromIdx = JsonLines(Cli.Run(["predict", "--model", fx.ModelDir, "--input", WriteIdx(1)]))[0];
        var a = Probabilities(Assert.Single(JsonLines(auto)));
        var b = Probabilities(fromIdx);
        for (var j = 0; j < 10; j++) Assert.Equal(b[j], a[j], 1e-4f);
        // --invert no: the model sees the light background (other probabilities), and no note
        var kept = Cli.Run(["predict", "--model", fx.ModelDir, "--input", png, "--invert", "no"]);
        Assert.True(kept.ExitCode == 0, kept.Describe());
        Assert.DoesNotContain("inverted", kept.Stderr);
        Assert.Contains(Probabilities(Assert.Single(JsonLines(kept))).Zip(b), p => Math.Abs(p.First - p.Second) > 1e-3);
        // --invert yes on MNIST's own form inverts it as well; a light digit on black is left alone by auto
        var forced = Probabilities(Assert.Single(JsonLines(Cli.Run(["predict", "--model", fx.ModelDir, "--input", DigitPng("digit0.png", false), "--invert", "yes"]))));
        var invertedIdx = Probabilities(JsonLines(Cli.Run(["predict", "--model", fx.ModelDir, "--input", WriteIdx(1), "--invert", "yes"]))[0]);
        Assert.Equal(invertedIdx, forced);   // 1 − v / 255 both ways, bit for bit
        Cli.AssertBadInput(Cli.Run(["predict", "--model", fx.ModelDir, "--input", png, "--invert", "maybe"]), "--invert", "maybe");
    }

    [Fact]
    public void Predict_on_a_png_of_a_test_digit_agrees_with_the_idx_path()
    {
        var png = DigitPng("digit0.png", darkOnLight: false);
        var r = Cli.Run(["predict", "--model", fx.ModelDir, "--input", png]);
        Assert.DoesNotContain("inverted", r.Stderr);
        var fromPng = Assert.Single(JsonLines(r));
        var fromIdx = JsonLines(Cli.Run(["predict", "--model", fx.ModelDir, "--input", WriteIdx(1)]))[0];
        Assert.Equal(fromIdx.GetProperty("label").GetInt32(), fromPng.GetProperty("label").GetInt32());
        // bit for bit: a gray PNG pixel v reaches the model as the IDX byte v does (v / 255)
        Assert.Equal(fromIdx.GetProperty("probabilities").GetRawText(), fromPng.GetProperty("probabilities").GetRawText());
    }

    [Fact]
    public void Export_onnx_runs_in_onnxruntime_and_matches_predict_arrays_on_1000_images()
    {
        const int n = 1000;
        var onnx = Path.Combine(fx.Scratch("onnx"), "model.onnx");
        var r = Cli.Run(["export", "--model", fx.ModelDir, "--format", "onnx", "--output", onnx]);
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Contains(onnx, r.Stdout);

        using var session = new InferenceSession(onnx);
        Assert.Equal("input", Assert.Single(session.InputMetadata).Key);
        var outputName = Assert.Single(session.OutputMetadata).Key;
        Assert.Equal("probabilities", outputName);
        var x = fx.Test.Images[..(n * 784)];
        var input = new DenseTensor<float>(x, [n, 784]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        var got = results.Single(v => v.Name == outputName).AsTensor<float>().ToArray();
        var expected = Sequential.Load(fx.ModelDir).PredictArrays(x, 784, 1024);
        Assert.Equal(expected.Length, got.Length);
        var maxDiff = expected.Zip(got, (e, g) => Math.Abs(e - g)).Max();
        Assert.True(maxDiff < 1e-5f, $"max |onnx - PredictArrays| = {maxDiff}");
        Assert.Equal(Output.TrainingOutputs.Argmax(expected, 10), Output.TrainingOutputs.Argmax(got, 10));
    }

    [Fact]
    public void Export_with_an_unknown_format_exits_2()
    {
        var r = Cli.Run(["export", "--model", fx.ModelDir, "--format", "tflite", "--output", Path.Combine(fx.Scratch("x"), "m.tflite")]);
        Cli.AssertBadInput(r, "--format", "tflite", "onnx");
    }

    [Fact]
    public void Missing_model_directory_exits_2_naming_it()
    {
        var missing = Path.Combine(fx.Scratch("none"), "no-model");
        foreach (var cmd in new[] { "summary", "evaluate" })
            Cli.AssertBadInput(Cli.Run([cmd, "--model", missing]), missing, "does not exist");
        var file = Path.Combine(fx.ModelDir, "config.json");         // the model's file instead of its directory
        Cli.AssertBadInput(Cli.Run(["summary", "--model", file]), file, "is a file", $"(here '{fx.ModelDir}')");
    }

    [Fact]
    public void Missing_predict_input_exits_2_naming_it()
    {
        var missing = Path.Combine(fx.Scratch("none"), "digits.idx");
        Cli.AssertBadInput(Cli.Run(["predict", "--model", fx.ModelDir, "--input", missing]), missing);
    }

    private string CopyModel()
    {
        var dir = Path.Combine(fx.Scratch("copy"), "model");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(fx.ModelDir)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    [Fact]
    public void Truncated_safetensors_exits_2_naming_the_file()
    {
        var dir = CopyModel();
        var weights = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
        Cli.AssertBadInput(Cli.Run(["summary", "--model", dir]), weights);
        Cli.AssertBadInput(Cli.Run(["evaluate", "--model", dir]), weights);
    }

    [Fact]
    public void Config_json_with_a_wrong_layer_shape_exits_2_naming_the_weights_and_shapes()
    {
        var config = EditedConfig("\"units\": 512", "\"units\": 256");
        var dir = Path.GetDirectoryName(config)!;
        Cli.AssertBadInput(Cli.Run(["summary", "--model", dir]), Path.Combine(dir, "model.safetensors"), "dense/kernel", "256");
    }

    [Fact]
    public void Config_json_that_is_not_json_exits_2_naming_it()
    {
        var dir = CopyModel();
        var config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, "{ \"class_name\": \"Sequential\", ");
        Cli.AssertBadInput(Cli.Run(["summary", "--model", dir]), config, "invalid JSON");
    }

    [Fact]
    public void Config_json_with_a_key_written_twice_exits_2_naming_the_file_and_the_key()
    {
        var config = EditedConfig("\"units\": 512", "\"units\": 512, \"units\": 256");
        Cli.AssertBadInput(Cli.Run(["summary", "--model", Path.GetDirectoryName(config)!]), config, "duplicate key 'units'");
    }

    [Fact]
    public void Config_json_with_two_layers_of_one_name_exits_2_naming_the_name()
    {
        var config = EditedConfig("\"name\": \"dense_1\"", "\"name\": \"dense\"");
        Cli.AssertBadInput(Cli.Run(["summary", "--model", Path.GetDirectoryName(config)!]), config, "'dense' is also the name of layers[");
    }

    /// <summary>A copy of the model whose config.json has <paramref name="from"/> (which it must hold) replaced; its path.</summary>
    private string EditedConfig(string from, string to)
    {
        var config = Path.Combine(CopyModel(), "config.json");
        var text = File.ReadAllText(config);
        Assert.Contains(from, text);
        File.WriteAllText(config, text.Replace(from, to));
        return config;
    }
}
