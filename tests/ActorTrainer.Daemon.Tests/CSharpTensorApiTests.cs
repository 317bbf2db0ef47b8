using ActorTrainer.Core;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Autodiff, slicing and element reads called as plain C# (lambdas as Func, int? bounds, params indices).</summary>
public sealed class CSharpTensorApiTests
{
    [Fact]
    public void Autodiff_Grad_takes_a_CSharp_lambda()
    {
        var x = Tensor.FromArray(new[] { 1.0, -2.0, 3.0 });
        var g = Autodiff.Grad(t => (t * t).Sum(), x);                  // d(Σx²)/dx = 2x
        Assert.Equal(new[] { 2.0, -4.0, 6.0 }, g.ToFloat64Array());
        var (y, gv) = Autodiff.ValueAndGrad(t => (t * t).Sum(), x);
        Assert.Equal(14.0, y.ToScalar());
        Assert.Equal(g.ToFloat64Array(), gv.ToFloat64Array());
        var b = Tensor.FromArray(new[] { 10.0, 20.0, 30.0 });
        var gs = Autodiff.GradN(xs => (xs[0] * xs[1]).Sum(), [x, b]);   // d/da = b, d/db = a
        Assert.Equal(b.ToFloat64Array(), gs[0].ToFloat64Array());
        Assert.Equal(x.ToFloat64Array(), gs[1].ToFloat64Array());
        var (v, gn) = Autodiff.ValueAndGradN(xs => (xs[0] * xs[0]).Sum(), [x]);
        Assert.Equal(14.0, v.ToScalar());
        Assert.Equal(g.ToFloat64Array(), gn[0].ToFloat64Array());
        Assert.Throws<ArgumentNullException>(() => Autodiff.Grad(null!, x));
    }

    [Fact]
    public void SliceSpec_factories_take_ints_and_nulls()
    {
        var x = Tensor.FromArray(new[] { 0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 }, [3, 4]);
        var rows = x.Slice([SliceSpec.Between(1, null), SliceSpec.Between(null, null, 2)]);
        Assert.Equal(x.Slice("1:, ::2").ToFloat64Array(), rows.ToFloat64Array());
        Assert.Equal(new[] { 5.0, 4.0 }, x.Slice([SliceSpec.At(1), SliceSpec.Between(1, -5, -1)]).ToFloat64Array());
        Assert.Equal(new[] { 2.0, 6.0, 10.0 }, x.Slice([SliceSpec.All, SliceSpec.At(-2)]).ToFloat64Array());
        Assert.Equal(new[] { 2.0, 6.0, 10.0 }, x.Slice([SliceSpec.Ellipsis, SliceSpec.At(-2)]).ToFloat64Array());
        Assert.Equal(new[] { 2.0, 6.0, 10.0 }, x.Slice("..., -2").ToFloat64Array());
    }

    [Fact]
    public void Get_takes_the_indices_as_params()
    {
        var x = Tensor.FromArray(new[] { 0.0, 1, 2, 3, 4, 5 }, [2, 3]);
        Assert.Equal(5.0, x.Get(1, 2));
        Assert.Equal(3.0, x.Get(-1, 0));
        Assert.Equal(1.0, x.Get(new[] { 0, 1 }));
    }
}
