using ActorTrainer.Core;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Autodiff, slicing and element reads called as plain C# (lambdas as Func, int? bounds, params indices).</summary>
public sealed class CSharpTensorApiTests
{
    [Fact]
    public void Get_takes_the_indices_as_params()
    {
        var x = Tensor.FromArray(new[] { 0.0, 1, 2, 3, 4, 5 }, [2, 3]);
        Assert.Equal(5.0, x.Get(1, 2));
        Assert.Equal(3.0, x.Get(-1, 0));
        Assert.Equal(1.0, x.Get(new[] { 0, 1 }));
    }
}
