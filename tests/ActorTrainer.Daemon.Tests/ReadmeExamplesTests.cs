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
        var dsq = Autodiff.Grad(t => (t * t).Sum(), xs);    // 2·xs
        Assert.Equal(new[] { 2f, 4f, 6f, 8f }, dsq.ToFloat32Array());
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
        var images = Tensor.FromArray(test.Images[..(128 * 784)], new[] { 128, 784 });
        var labels = Tensor.FromArray(test.Labels[..128]);
        var evaluated = model.Evaluate(images, labels)["loss"];
        var before = model.WeightsSha256();
        using (var tape = new GradientTape())                  // the book's low-level step, with Keras' loss function
        {
            var loss = Losses.SparseCategoricalCrossentropy(labels, model.Call(images)).Mean();   // tf.reduce_mean(...)
            Assert.True(Math.Abs(loss.ToScalar() - evaluated) <= 1e-6 * evaluated, $"tape loss {loss.ToScalar():R}, evaluate {evaluated:R}");
            var vars = model.TrainableVariables;
            model.Optimizer.ApplyGradients(tape.Gradient(loss, vars).Zip(vars));
        }
        Assert.NotEqual(before, model.WeightsSha256());
        using var temp = new TempDir();
        model.Save(temp["mnist-model"]);                    // extension members from ActorTrainer.Interop
        var loaded = Sequential.Load(temp["mnist-model"]);
        Assert.Equal(model.WeightsSha256(), loaded.WeightsSha256());
    }

    [Fact]
    public void CSharpFitWithExampleCheckpointsCancelsAndResumesBitIdentically()
    {
        var (train, test) = Mnist.LoadBundled();
        train = train.Take(1024);
        test = test.Take(256);
        Sequential NewModel()
        {
            var m = new Sequential(new Layer[] { new Dense(64, "relu"), new Dense(10, "softmax") });
            m.Compile(new RMSprop(), "sparse_categorical_crossentropy", new[] { "accuracy" });
            return m;
        }
        var reference = NewModel();
        reference.FitWith(ArrayData.OfLabels(train.Images, 784, train.Labels), new FitOptions { Epochs = 2, BatchSize = 128, Verbose = 0 });

        var ckpt = Path.Combine(Path.GetTempPath(), "readme-fitwith-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var cts = new CancellationTokenSource();
            var model = NewModel();
            var options = new FitOptions
            {
                Epochs = 2, BatchSize = 128, Verbose = 0, Validation = ArrayData.OfLabels(test.Images, 784, test.Labels),
                Runtime = new ActorTrainer.Runtime.ActorStepRuntime(new ActorTrainer.Runtime.RuntimeOptions(Workers: 2)),
                Checkpoints = new ActorTrainer.Runtime.CheckpointSink(ckpt, keep: 3, configText: "", mode: "sync"),
                Cancellation = cts.Token,
            };
            var result = model.FitWith(ArrayData.OfLabels(train.Images, 784, train.Labels), options, new ICallback[] { new CancelAt(cts, epoch: 1, batch: 2) });
            Assert.True(result.Interrupted);
            options.Resume = ActorTrainer.Runtime.CheckpointSink.ToFit(ActorTrainer.Runtime.CheckpointStore.LoadLatest(ckpt)!);
            options.Cancellation = CancellationToken.None;
            var resumed = NewModel();
            var done = resumed.FitWith(ArrayData.OfLabels(train.Images, 784, train.Labels), options);
            Assert.False(done.Interrupted);
            Assert.Equal(2, done.Epochs.Length);
            Assert.Equal(reference.WeightsSha256(), resumed.WeightsSha256());
        }
        finally
        {
            if (Directory.Exists(ckpt)) Directory.Delete(ckpt, true);
        }
    }

    private sealed class CancelAt(CancellationTokenSource cts, int epoch, int batch) : Callback
    {
        private int _epoch;
        public override void OnEpochBegin(int e, int steps) => _epoch = e;
        public override void OnTrainBatchEnd(int b, IReadOnlyDictionary<string, double> logs)
        {
            if (_epoch == epoch && b == batch) cts.Cancel();
        }
    }
}
