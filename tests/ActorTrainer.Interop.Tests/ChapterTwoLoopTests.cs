using ActorTrainer.Core;
using Xunit;

namespace ActorTrainer.Interop.Tests;

/// <summary>
/// The book's chapter 2 low-level loop as a C# user writes it: <c>Losses.SparseCategoricalCrossentropy(labels,
/// predictions)</c> (Keras' default <c>from_logits=False</c>), its mean under a <see cref="GradientTape"/>, and
/// <c>ApplyGradients</c>; plus the texts and errors such a user meets.
/// </summary>
public sealed class ChapterTwoLoopTests
{
    private const int Rows = 32, Features = 6, Classes = 3;

    private static Tensor X() =>
        Tensor.FromArray(Enumerable.Range(0, Rows * Features).Select(i => (float)Math.Sin(i * 0.37)).ToArray(), new[] { Rows, Features });

    private static Tensor Y() => Tensor.FromArray(Enumerable.Range(0, Rows).Select(r => (r * 5 + 2) % Classes).ToArray());

    [Fact]
    public void The_mean_sparse_crossentropy_of_the_predictions_is_the_evaluated_loss_and_trains_under_the_tape()
    {
        var model = new Sequential(new Layer[] { new Dense(8, "relu"), new Dense(Classes, "softmax") }, inputShape: new[] { Features }, seed: 4);
        model.Compile(new SGD(0.1), "sparse_categorical_crossentropy");
        var (x, y) = (X(), Y());
        var reported = model.Evaluate(x, y)["loss"];

        Tensor perSample = Losses.SparseCategoricalCrossentropy(y, model.Call(x));
        Assert.Equal(new[] { Rows }, perSample.Shape);
        var mean = perSample.Mean().ToScalar();
        Assert.True(Math.Abs(mean - reported) <= 1e-6 * reported, $"reduce_mean {mean:R}, evaluate {reported:R}");

        var optimizer = new SGD(0.1);
        for (var step = 0; step < 20; step++)
        {
            using var tape = new GradientTape();
            var loss = Losses.SparseCategoricalCrossentropy(y, model.Call(x)).Mean();
            var grads = tape.Gradient(loss, model.TrainableVariables);
            optimizer.ApplyGradients(grads.Zip(model.TrainableVariables));
        }
        Assert.True(model.Evaluate(x, y)["loss"] < reported, "twenty tape steps on the public loss lower the loss");
    }

    [Fact]
    public void Calling_an_unbuilt_Dense_names_the_layer_and_how_to_build_it()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new Dense(4, "relu").Call(Tensor.Ones(new[] { 2, 3 }), false));
        Assert.Contains("Call: layer Dense (unnamed) is not built", e.Message);
        Assert.Contains("Build(inputShape, seed)", e.Message);
    }

    [Fact]
    public void A_dtype_interpolates_as_its_NumPy_name()
    {
        var t = Tensor.Zeros(new[] { 2 });
        Assert.Equal("float32", $"{t.DType}");
        Assert.Equal("float64 int32 bool", $"{DType.Float64} {DType.Int32} {DType.Bool}");
    }
}
