using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>An option given with an empty value (an unset shell variable: <c>--model "$MODEL"</c>) is bad input
/// naming it, never an internal error nor a silent default.</summary>
public sealed partial class ModelCommandTests
{
    [Theory]
    [InlineData("summary", "")]
    [InlineData("evaluate", "")]
    [InlineData("predict", "--input x.idx")]
    [InlineData("export", "--format onnx --output m.onnx")]
    public void An_empty_model_option_exits_2_naming_it(string command, string rest)
    {
        foreach (var model in new[] { "", " " })
            Cli.AssertBadInput(Cli.Run([command, "--model", model, .. rest.Split(' ', StringSplitOptions.RemoveEmptyEntries)]), model.Length == 0 ? $"{command}: --model is empty" : $"{command}: --model '{model}' is blank", "runs/X/model");
    }

    [Fact]
    public void Evaluate_with_an_empty_data_option_exits_2_instead_of_using_the_bundled_set()
    {
        var r = Cli.Run(["evaluate", "--model", fx.ModelDir, "--data", ""]);
        Cli.AssertBadInput(r, "--data is empty", "leave --data out");
        Assert.Equal("", r.Stdout);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    public void Evaluate_checks_its_batch_size_before_reading_the_model(string batch)
    {
        // a model directory that does not exist: the bad option is what is reported, before any file is read
        var r = Cli.Run(["evaluate", "--model", Path.Combine(Path.GetTempPath(), "no-such-model-" + Guid.NewGuid().ToString("N")), "--batch-size", batch]);
        Cli.AssertBadInput(r, "--batch-size must be an integer", $"'{batch}'");
        Assert.Equal("", r.Stdout);
    }
}
