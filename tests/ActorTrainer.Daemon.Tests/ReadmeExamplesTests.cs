using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>The README's C# example, as written, with its claims asserted.</summary>
public class ReadmeExamplesTests
{
    [Fact]
    public void CSharpTapeExampleGivesTheChaptersGradients()
    {
        var w = new Variable(Tensor.RandomUniform(new[] { 2, 2 }, 0.0, 1.0, seed: 1));
        var b = new Variable(Tensor.Zeros(new[] { 2 }));
        var xs = Tensor.FromArray(new[] { 1f, 2f, 3f, 4f }, new[] { 2, 2 });
        Tensor[] grads;
        using (var tape = new GradientTape())
        {
            var y = Tensor.Dot(xs, w.Value) + b.Value;
            grads = tape.Gradient(y, new[] { w, b });   // dy/db = [2, 2]
        }
        Assert.Equal(new[] { 2f, 2f }, grads[1].ToFloat32Array());
        // dy/dW[k, j] = Σ_i x[i, k]: rows [4, 4] and [6, 6]
        Assert.Equal(new[] { 4f, 4f, 6f, 6f }, grads[0].ToFloat32Array());
    }

    [Fact]
    public void CSharpModelExampleTrains()
    {
        var (train, test) = Mnist.LoadBundled();
        train = train.Take(1000);
        var model = new Sequential(new Layer[] { new Dense(512, "relu"), new Dense(10, "softmax") });
        model.Compile(new RMSprop(), "sparse_categorical_crossentropy", new[] { "accuracy" });
        var history = model.FitArrays(ArrayData.OfLabels(train.Images, 784, train.Labels), epochs: 2, batchSize: 128, verbose: 0);
        Assert.Equal(2, history["loss"].Length);
        Assert.True(history["loss"][1] < history["loss"][0]);
        var scores = model.EvaluateArrays(ArrayData.OfLabels(test.Images, 784, test.Labels));
        Assert.InRange(scores["accuracy"], 0.7, 1.0);
    }
}
