using ActorTrainer.Core;
using Xunit;

namespace ActorTrainer.Interop.Tests;

/// <summary>
/// Chapter 2 of Deep Learning with Python written in C#: the NumPy/TF spellings a reader types compile and mean what
/// they mean there (a number beside a tensor, arithmetic on a Variable, a list of variables, an optimizer by name).
/// </summary>
public sealed class TensorErgonomicsTests
{
    [Fact]
    public void MaximumAndMinimumTakeADoubleOnEitherSide()
    {
        var z = Tensor.FromArray(new[] { -2.0, 0.5, 3.0 });       // float64: Tensor.Scalar(0) (float32) would not do
        Assert.Equal(new[] { 0.0, 0.5, 3.0 }, Tensor.Maximum(z, 0.0).ToFloat64Array());
        Assert.Equal(new[] { 0.0, 0.5, 3.0 }, Tensor.Maximum(0, z).ToFloat64Array());
        Assert.Equal(new[] { -2.0, 0.5, 1.0 }, Tensor.Minimum(z, 1.0).ToFloat64Array());
        Assert.Equal(new[] { -2.0, 0.5, 1.0 }, Tensor.Minimum(1, z).ToFloat64Array());
        Assert.Equal(DType.Float64, Tensor.Maximum(z, 0.0).DType);
        var cond = Tensor.Greater(z, Tensor.Scalar(0.0, DType.Float64));
        Assert.Equal(new[] { 0.0, 0.5, 3.0 }, Tensor.Where(cond, z, 0.0).ToFloat64Array());
        Assert.Equal(new[] { 7.0, 0.5, 3.0 }, Tensor.Where(Tensor.LessEqual(z, Tensor.Scalar(0.0, DType.Float64)), 7.0, z).ToFloat64Array());
        var e = Assert.Throws<ArgumentException>(() => Tensor.Maximum(Tensor.FromArray(new[] { 1, 2 }), 0.5));
        Assert.Contains("0.5", e.Message);
    }

    [Fact]
    public void MaximumWithZeroIsReluUnderTheTape()
    {
        var x = Tensor.FromArray(new[] { -1.0, 2.0 });
        using var tape = new GradientTape(persistent: true);
        tape.Watch(x);
        var g = tape.Gradient(Tensor.Maximum(x, 0.0).Sum(), x);
        Assert.Equal(tape.Gradient(Tensor.Relu(x).Sum(), x).ToFloat64Array(), g.ToFloat64Array());
    }

    [Fact]
    public void VariableArithmeticRecordsAsItsValueDoes()
    {
        var x = new Variable(Tensor.FromArray(new[] { 1f, 2f }));
        var w = new Variable(Tensor.FromArray(new[] { 3f, 4f }));
        var t = Tensor.FromArray(new[] { 10f, 20f });
        using var tape = new GradientTape(persistent: true);
        var y = 2 * x + 3;
        var yv = 2 * x.Value + 3;
        Assert.Equal(new[] { 5f, 7f }, y.ToFloat32Array());
        Assert.Equal(tape.Gradient(yv, x).ToFloat32Array(), tape.Gradient(y, x).ToFloat32Array());
        Assert.Equal(new[] { 2f, 2f }, tape.Gradient(y, x).ToFloat32Array());
        var u = x * w - t / x + -x + (t - w) / 2 - 1 / w + (x + t) + (t + w);
        var uv = x.Value * w.Value - t / x.Value + -x.Value + (t - w.Value) / 2 - 1 / w.Value + (x.Value + t) + (t + w.Value);
        Assert.Equal(uv.ToFloat32Array(), u.ToFloat32Array());
        var g = tape.Gradient(u, new[] { x, w });
        var gv = tape.Gradient(uv, new[] { x, w });
        Assert.Equal(gv[0].ToFloat32Array(), g[0].ToFloat32Array());
        Assert.Equal(gv[1].ToFloat32Array(), g[1].ToFloat32Array());
    }

    [Fact]
    public void GradientTakesAListOfVariables()
    {
        var W = new Variable(Tensor.FromArray(new[] { 2f }));
        var b = new Variable(Tensor.FromArray(new[] { 1f }));
        using var tape = new GradientTape(persistent: true);
        var y = W * 3 + b;
        var g = tape.Gradient(y, new List<Variable> { W, b });
        Assert.Equal(new[] { 3f }, g[0].ToFloat32Array());
        Assert.Equal(new[] { 1f }, g[1].ToFloat32Array());
        IReadOnlyList<Variable> ro = new[] { W, b };
        Assert.Equal(new[] { 6f }, tape.Gradient(y, ro, Tensor.FromArray(new[] { 2f }))[0].ToFloat32Array());
        Tensor[] viaCollectionExpression = tape.Gradient(y, [W, b]);      // still the array overload, no ambiguity
        Assert.Equal(new[] { 1f }, viaCollectionExpression[1].ToFloat32Array());
    }

    [Fact]
    public void CompileTakesAnOptimizerName()
    {
        var model = new Sequential([new Dense(10, "softmax")]);
        model.Compile("rmsprop", "sparse_categorical_crossentropy", new[] { "accuracy" });
        var rms = Assert.IsType<RMSprop>(model.Optimizer);
        Assert.Equal(0.001, rms.LearningRate, 12);
        model.Compile("sgd", "mse");
        Assert.Equal(0.01, Assert.IsType<SGD>(model.Optimizer).LearningRate, 12);
        var e = Assert.Throws<ArgumentException>(() => model.Compile("rmsprob", "mse"));
        Assert.Contains("'rmsprob'", e.Message);
        Assert.Contains("rmsprop, adagrad, adam", e.Message);
    }

    [Fact]
    public void ShapesAsSeparateNumbersRangeIndexerAndFlatArgMax()
    {
        Assert.Equal(new[] { 300, 20 }, Tensor.Zeros(300, 20).Shape);
        Assert.Equal(new[] { 2, 3 }, Tensor.Ones(2, 3).Shape);
        var z = Tensor.Arange(6);
        Assert.Equal(new[] { 6, 1 }, z.Reshape(6, 1).Shape);
        Assert.Equal(new[] { 3, 2 }, Tensor.Reshape(z, 3, -1).Shape);
        var images = Tensor.Arange(400).Reshape(200, 2);
        Assert.Equal(images.Slice("10:100").ToFloat32Array(), images[10..100].ToFloat32Array());
        Assert.Equal(new[] { 90, 2 }, images[10..100].Shape);
        Assert.Equal(images.Slice("-5:").ToFloat32Array(), images[^5..].ToFloat32Array());
        Assert.Equal(images.Slice(":3").ToFloat32Array(), images[..3].ToFloat32Array());
        Assert.Equal(new[] { 0, 2 }, images[^0..].Shape);
        Assert.Equal(new[] { 2f, 3f }, images[1].ToFloat32Array());       // the int indexer is unchanged
        var scores = Tensor.FromArray(new[] { 0.1f, 0.7f, 0.2f, 0.9f }, new[] { 2, 2 });
        Assert.Equal(3, (int)scores.ArgMax().ToScalar());
        Assert.Equal(0, Tensor.ArgMin(scores).NDim);
        Assert.Equal(new[] { 1, 1 }, scores.ArgMax(1).ToInt32Array());
    }
}
