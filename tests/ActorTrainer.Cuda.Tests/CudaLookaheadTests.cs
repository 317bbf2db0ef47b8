using ActorTrainer.Core;

namespace ActorTrainer.Cuda.Tests;

/// <summary>The GPU executor's IStepLookahead (the next batch's step queued before this one's result is read): the
/// fit loop takes it, the weights are bit-identical to a fit that waits for every step, a diverging step stops the
/// step opened behind it too, and nothing may read or write the weights while a step is open ahead.</summary>
[Collection("cpu-device")]
public sealed class CudaLookaheadTests(CpuDevice cpu)
{
    private static readonly ArrayData Train = Data.Clusters(300, 20, 5, seed: 3);

    private static Sequential Model(Optimizer optimizer)
    {
        var m = new Sequential([new Dense(24, "relu"), new Dropout(0.25), new Dense(5, "softmax")], "ahead", [20], seed: 4);
        m.Compile(optimizer, "sparse_categorical_crossentropy", ["accuracy"]);
        m.Build([20]);
        return m;
    }

    private FitOptions Options(IStepRuntime runtime, int epochs = 2) =>
        new() { Epochs = epochs, BatchSize = 32, Seed = 9, ShardsPerBatch = 2, Verbose = 0, Runtime = runtime };

    /// <summary>Counts the loop's NextStepOpeningNext calls on the executors it starts.</summary>
    private sealed class Counting(IStepRuntime inner) : IStepRuntime
    {
        public int OpenedAhead;
        public (StepJob Job, FitCheckpoint Start)? First;
        public string Name => inner.Name;
        public IStepExecutor Start(StepJob job, FitCheckpoint start)
        {
            First ??= (job, start);
            return new CountingExecutor(this, inner.Start(job, start));
        }
    }

    private sealed class CountingExecutor(Counting owner, IStepExecutor e) : IStepExecutor, IStepLookahead
    {
        public int Workers => e.Workers;
        public int WorkersAlive => e.WorkersAlive;
        public bool Asynchronous => e.Asynchronous;
        public long Version => e.Version;
        public long StaleRejected => e.StaleRejected;
        public void BeginEpoch(int epoch, int startStep, long firstGlobalStep) => e.BeginEpoch(epoch, startStep, firstGlobalStep);
        public StepOutcome NextStep() => e.NextStep();
        public StepOutcome NextStepOpeningNext()
        {
            owner.OpenedAhead++;
            return ((IStepLookahead)e).NextStepOpeningNext();
        }
        public StepOutcome[] Drain() => e.Drain();
        public float[][] Weights => e.Weights;
        public void SetWeights(float[][] weights) => e.SetWeights(weights);
        public (long, float[][][]) OptimizerState() => e.OptimizerState();
        public void Dispose() => e.Dispose();
    }

    /// <summary>A batch hook that may touch the model (as far as the loop knows): the loop waits for every step.</summary>
    private sealed class WaitForEachStep : Callback
    {
        public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) { }
    }

    [Fact]
    public void The_loop_opens_steps_ahead_and_the_weights_equal_a_fit_that_waits_for_each_step()
    {
        var counting = new Counting(cpu.Runtime);
        var ahead = Model(new Adam(0.003));
        var ra = ahead.FitWith(Train, Options(counting));
        Assert.True(counting.OpenedAhead >= 2 * 8, $"opened ahead {counting.OpenedAhead} times");   // 10 batches per epoch

        var waiting = Model(new Adam(0.003));
        var rw = waiting.FitWith(Train, Options(cpu.Runtime), [new WaitForEachStep()]);
        Data.BitIdentical(waiting.GetWeights(), ahead.GetWeights());
        Assert.Equal(waiting.Optimizer.Iterations, ahead.Optimizer.Iterations);
        Assert.Equal(rw.Steps, ra.Steps);
        for (int e = 0; e < 2; e++) Assert.Equal(rw.Epochs[e].Loss, ra.Epochs[e].Loss);
    }

    [Fact]
    public void A_diverging_step_also_stops_the_step_opened_behind_it()
    {
        // one sample with a NaN feature: its batch diverges, the batches around it are finite
        var x = Train.X.ToArray();
        x[137 * 20 + 3] = float.NaN;
        var bad = ArrayData.OfLabels(x, 20, Train.Labels.ToArray());

        var waiting = Model(new SGD(0.05));
        var ew = Assert.Throws<TrainingDivergedException>(() => waiting.FitWith(bad, Options(cpu.Runtime, 1), [new WaitForEachStep()]));
        var counting = new Counting(cpu.Runtime);
        var ahead = Model(new SGD(0.05));
        var ea = Assert.Throws<TrainingDivergedException>(() => ahead.FitWith(bad, Options(counting, 1)));
        Assert.True(counting.OpenedAhead > 0);
        Assert.Equal(ew.Step, ea.Step);
        Assert.True(ea.Step < 9, $"diverged at step {ea.Step}: the test needs a batch after it");
        Assert.Equal(ea.Step, ahead.Optimizer.Iterations);
        Data.BitIdentical(waiting.GetWeights(), ahead.GetWeights());
    }

    [Fact]
    public void Reading_or_writing_the_weights_while_a_step_is_open_ahead_is_refused()
    {
        var counting = new Counting(cpu.Runtime);
        Model(new SGD(0.05)).FitWith(Train, Options(counting, 1));
        var (job, start) = counting.First!.Value;      // the fit's job and start, for an executor of our own
        using var exec = cpu.Runtime.Start(job, start);
        exec.BeginEpoch(0, 0, 0L);
        ((IStepLookahead)exec).NextStepOpeningNext();
        var e = Assert.Throws<InvalidOperationException>(() => exec.Weights);
        Assert.Contains("open ahead", e.Message);
        Assert.Throws<InvalidOperationException>(() => exec.OptimizerState());
        Assert.Throws<InvalidOperationException>(() => exec.BeginEpoch(1, 0, 10L));
        Assert.Throws<InvalidOperationException>(() => exec.Drain());
        Assert.Equal(1, exec.NextStep().StepInEpoch);      // the promised NextStep takes the step opened ahead
        Assert.Equal(2L, exec.Version);
        Assert.Equal(job.Weights.Length, exec.Weights.Length);
    }
}
