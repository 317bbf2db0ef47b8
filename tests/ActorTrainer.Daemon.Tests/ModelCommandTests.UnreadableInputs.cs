using System.Runtime.Versioning;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A model or --input file that exists but cannot be read is bad input naming the option (exit 2), not an I/O
/// error writing outputs (exit 74) with .NET's bare message.</summary>
public sealed partial class ModelCommandTests
{
    private string CopyModel(TempDir t)
    {
        var copy = Directory.CreateDirectory(t["model"]).FullName;
        foreach (var f in Directory.GetFiles(fx.ModelDir)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        return copy;
    }

    [ProcMemFact]
    public void An_unreadable_model_file_exits_2_naming_model()
    {
        using var t = new TempDir();
        var model = CopyModel(t);
        Unreadable.Link(Path.Combine(model, "config.json"));
        foreach (var cmd in new[] { "evaluate", "summary" })
            Cli.AssertBadInput(Cli.Run([cmd, "--model", model]), $"{cmd}: --model '{model}': cannot be read", "config.json", "make the model's files readable");
    }

    [ProcMemFact]
    public void An_unreadable_predict_input_exits_2_naming_input()
    {
        using var t = new TempDir();
        var input = t["digits.idx3-ubyte"];
        Unreadable.Link(input);
        var r = Cli.Run(["predict", "--model", fx.ModelDir, "--input", input]);
        Cli.AssertBadInput(r, $"predict: --input '{input}': cannot be read", "make it readable");
        Assert.Equal("", r.Stdout);
    }

    [NonRootUnixFact]
    [UnsupportedOSPlatform("windows")]
    public void A_mode_000_model_safetensors_exits_2_naming_model()
    {
        using var t = new TempDir();
        var model = CopyModel(t);
        File.SetUnixFileMode(Path.Combine(model, "model.safetensors"), UnixFileMode.None);
        Cli.AssertBadInput(Cli.Run(["evaluate", "--model", model]), $"evaluate: --model '{model}': cannot be read", "model.safetensors");
    }
}
