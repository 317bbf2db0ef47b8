using System.Text.Json;
using ActorTrainer.Core;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>What evaluate and predict print when their side outputs or their numbers are out of the ordinary.</summary>
public sealed partial class ModelCommandTests
{
    [Fact]
    public void Evaluate_prints_its_result_when_evaluation_json_cannot_be_written()
    {
        var dir = CopyModel();
        var side = Path.Combine(dir, "evaluation.json");
        Directory.CreateDirectory(Path.Combine(side, "in-the-way"));     // a directory where the file would go
        var r = Cli.Run(["evaluate", "--model", dir, "--data", fx.DataDir]);
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Matches(RunDir.TestLine, r.StdoutLines[^1]);
        Assert.Contains($"warning: could not write {side}", r.Stderr);
    }

    [Fact]
    public void Evaluate_on_a_data_file_instead_of_a_directory_says_so()
    {
        var file = Path.Combine(fx.DataDir, "t10k-labels-idx1-ubyte");
        Cli.AssertBadInput(Cli.Run(["evaluate", "--model", fx.ModelDir, "--data", file]), $"'{file}' is a file, not an MNIST directory");
    }

    [Fact]
    public void Predict_writes_an_infinite_output_as_null_listed_in_non_finite_without_a_label()
    {
        var model = new Sequential([new Dense(2)]);
        model.Build([784]);
        model.SetWeights([Enumerable.Repeat(3e38f, 784 * 2).ToArray(), [0f, 0f]]);   // any ink overflows float32
        var dir = Path.Combine(fx.Scratch("huge"), "model");
        model.Save(dir);
        var r = Cli.Run(["predict", "--model", dir, "--input", WriteIdx(2)]);
        Assert.True(r.ExitCode == 0, r.Describe());
        var lines = JsonLines(r);
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l =>
        {
            Assert.Equal(JsonValueKind.Null, l.GetProperty("label").ValueKind);
            Assert.All(l.GetProperty("probabilities").EnumerateArray(), p => Assert.Equal(JsonValueKind.Null, p.ValueKind));
            Assert.Equal(["probabilities[0]=Infinity", "probabilities[1]=Infinity"],
                         l.GetProperty("non_finite").EnumerateArray().Select(e => e.GetString()!).ToArray());
        });
    }

    [Fact]
    public void Export_refuses_an_empty_output_and_the_models_own_files_and_reports_an_unwritable_one_as_io()
    {
        var dir = CopyModel();
        Cli.AssertBadInput(Cli.Run(["export", "--model", dir, "--format", "onnx", "--output", ""]), "--output is empty");
        var config = File.ReadAllBytes(Path.Combine(dir, "config.json"));
        Cli.AssertBadInput(Cli.Run(["export", "--model", dir, "--format", "onnx", "--output", Path.Combine(dir, "config.json")]),
                           "a file of the model being exported");
        Assert.Equal(config, File.ReadAllBytes(Path.Combine(dir, "config.json")));
        var blocked = Path.Combine(fx.Scratch("blocked"), "a-file");
        File.WriteAllText(blocked, "");            // a file where the output's folder should be: a wrong path, bad input
        Cli.AssertBadInput(Cli.Run(["export", "--model", dir, "--format", "onnx", "--output", Path.Combine(blocked, "m.onnx")]),
                           $"the folder of --output '{Path.Combine(blocked, "m.onnx")}', '{blocked}', is a file");
        if (!OperatingSystem.IsLinux()) return;
        var r = Cli.Run(["export", "--model", dir, "--format", "onnx", "--output", "/proc/m.onnx"]);   // a folder that exists but takes no file (even for root)
        Assert.True(r.ExitCode == 74, r.Describe());
        Assert.Contains("cannot write --output '/proc/m.onnx'", r.Stderr);
    }
}
