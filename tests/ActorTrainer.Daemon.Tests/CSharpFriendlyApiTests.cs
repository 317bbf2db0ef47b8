using ActorTrainer.Core;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>The C# spellings of members whose F# form takes F# tuples (ActorTrainer.Core.FSharp): value tuples and
/// parallel arrays give the same results.</summary>
public sealed class CSharpFriendlyApiTests
{
    private static Variable V(string name) => new(Tensor.FromArray(new[] { 1f, 2f, 3f }, [3]), name);

    [Fact]
    public void ApplyGradients_takes_Zip_value_tuples_and_parallel_arrays_with_the_same_result()
    {
        var g = Tensor.FromArray(new[] { 0.5f, -1f, 2f }, [3]);
        var h = Tensor.FromArray(new[] { -0.25f, 0.75f, 1f }, [3]);
        float[][] Run(Action<Optimizer, Variable[]> apply)
        {
            var vars = new[] { V("a"), V("b") };
            var opt = new Adam(0.1);
            for (var step = 0; step < 3; step++) apply(opt, vars);
            Assert.Equal(3, opt.Iterations);
            return vars.Select(v => v.Value.ToFloat32Array()).ToArray();
        }
        var tuples = Run((o, v) => o.ApplyGradients([(g, v[0]), (h, v[1])]));
        var zipped = Run((o, v) => o.ApplyGradients(new[] { g, h }.Zip(v)));
        var arrays = Run((o, v) => o.ApplyGradients([g, h], v));
        Assert.Equal(tuples, zipped);
        Assert.Equal(tuples, arrays);
        Assert.NotEqual(new[] { 1f, 2f, 3f }, tuples[0]);
        var e = Assert.Throws<ArgumentException>(() => new SGD().ApplyGradients([g, h], [V("c")]));
        Assert.Contains("SGD.apply_gradients: 2 gradients given for 1 variables", e.Message);
    }
}
