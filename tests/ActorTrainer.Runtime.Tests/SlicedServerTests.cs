namespace ActorTrainer.Runtime.Tests;

/// <summary>The sliced parameter server: the layout covers every parameter once; sync training gives the in-process
/// weights and optimizer state bit for bit for any number of slices, workers and threads, for every optimizer;
/// checkpoints taken with one slice count resume with another; async mode with slices and the staleness policy trains.</summary>
public sealed class SlicedServerTests
{
    [Theory]
    [InlineData(new[] { 25088, 32, 320, 10 }, 1)]
    [InlineData(new[] { 25088, 32, 320, 10 }, 7)]
    [InlineData(new[] { 5, 3 }, 4)]
    [InlineData(new[] { 401408, 512, 5120, 10 }, 16)]
    [InlineData(new[] { 0, 40, 0, 9 }, 64)]
    public void The_layout_covers_each_parameter_once_in_flat_order(int[] sizes, int count)
    {
        var layout = ParameterSlices.Split(sizes, count);
        long total = sizes.Sum(n => (long)n);
        Assert.Equal(total, layout.Total);
        Assert.Equal(Math.Min(count, (int)Math.Max(1, (total + 15) / 16)), layout.Count);
        long flat = 0;
        for (int s = 0; s < layout.Count; s++)
        {
            Assert.Equal(flat, layout.Start(s));
            if (s > 0) Assert.Equal(0, layout.Start(s) % ParameterSlices.Align);
            Assert.True(layout.Length(s) > 0 || total == 0, $"slice {s} is empty");
            foreach (var g in layout[s])
            {
                long tensorStart = sizes.Take(g.Tensor).Sum(n => (long)n);
                Assert.Equal(flat, tensorStart + g.Offset);
                Assert.InRange(g.Offset + g.Count, 1, sizes[g.Tensor]);
                flat += g.Count;
            }
        }
        Assert.Equal(total, flat);
        // balanced: no slice more than one alignment unit longer than another
        var lengths = Enumerable.Range(0, layout.Count).Select(layout.Length).ToArray();
        if (layout.Count > 1) Assert.InRange(lengths[..^1].Max() - lengths[..^1].Min(), 0, ParameterSlices.Align);
    }

    [Fact]
    public void Gather_and_scatter_are_inverse_over_a_slice_that_spans_tensors()
    {
        int[] sizes = [20, 7, 33];
        var layout = ParameterSlices.Split(sizes, 3);
        var w = sizes.Select((n, t) => Enumerable.Range(0, n).Select(i => t * 100f + i).ToArray()).ToArray();
        var copy = sizes.Select(n => new float[n]).ToArray();
        for (int s = 0; s < layout.Count; s++) layout.Scatter(s, layout.Gather(s, w), copy);
        Fixtures.AssertBitIdentical(w, copy);
        Assert.Contains(Enumerable.Range(0, layout.Count), s => layout[s].Length > 1);
        var e = Assert.Throws<ArgumentException>(() => layout.Scatter(0, new float[1], copy));
        Assert.Contains("parameter slice 0: expected", e.Message);
    }

    public static TheoryData<string, int, int, int> Layouts => new()
    {
        { "rmsprop", 1, 1, 0 }, { "rmsprop", 3, 2, 1 }, { "rmsprop", 7, 3, 0 },
        { "rmsprop-centered-momentum", 5, 2, 0 }, { "sgd-nesterov", 4, 2, 1 }, { "sgd", 6, 1, 0 },
        { "adam-amsgrad", 7, 2, 0 }, { "adagrad", 2, 3, 2 },
    };

    internal static Optimizer NewOptimizer(string name) => name switch
    {
        "rmsprop" => new RMSprop(learningRate: 0.01),
        "rmsprop-centered-momentum" => new RMSprop(learningRate: 0.01, momentum: 0.5, centered: true),
        "sgd-nesterov" => new SGD(learningRate: 0.05, momentum: 0.9, nesterov: true),
        "sgd" => new SGD(learningRate: 0.1),
        "adam-amsgrad" => new Adam(learningRate: 0.01, amsgrad: true),
        "adagrad" => new Adagrad(learningRate: 0.05),
        _ => throw new ArgumentException(name),
    };

    private static Sequential Model(string optimizer)
    {
        var m = new Sequential([new Dense(32, "relu"), new Dense(10, "softmax")], "sliced", [784], seed: 5);
        m.Compile(NewOptimizer(optimizer), "sparse_categorical_crossentropy", ["accuracy"]);
        m.Build([784]);
        return m;
    }

    private static FitOptions Options(IStepRuntime runtime, int epochs = 2) => new()
    {
        Epochs = epochs, BatchSize = 64, Seed = 11, ShardsPerBatch = 3, Verbose = 0, Runtime = runtime,
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Sync_training_is_bit_identical_to_in_process_for_any_slices_workers_and_threads(string optimizer, int slices,
        int workers, int threads)
    {
        var reference = Model(optimizer);
        reference.FitWith(Fixtures.Train(512), Options(InProcessRuntime.Instance));
        var sliced = Model(optimizer);
        var runtime = new ActorStepRuntime(new RuntimeOptions(Workers: workers, ShardsPerBatch: 3, PsSlices: slices, ThreadsPerWorker: threads));
        sliced.FitWith(Fixtures.Train(512), Options(runtime));
        Fixtures.AssertBitIdentical(reference.GetWeights(), sliced.GetWeights());
        var (it0, slots0) = reference.Optimizer.GetState();
        var (it1, slots1) = sliced.Optimizer.GetState();
        Assert.Equal(16, it0);
        Assert.Equal(it0, it1);
        Assert.Equal(slots0.Length, slots1.Length);
        for (int i = 0; i < slots0.Length; i++) Fixtures.AssertBitIdentical(slots0[i], slots1[i]);
    }

    [Theory]
    [InlineData("rmsprop", 1)]
    [InlineData("adam-amsgrad", 2)]
    public void Slices_updating_in_parts_on_the_workers_threads_give_the_in_process_bits(string optimizer, int slices)
    {
        // 784·192 + 192 + 192·10 + 10 = 152 650 parameters: each of one or two slices is long enough to update in parts
        static Sequential Wide(string optimizer)
        {
            var m = new Sequential([new Dense(192, "relu"), new Dense(10, "softmax")], "wide", [784], seed: 5);
            m.Compile(NewOptimizer(optimizer), "sparse_categorical_crossentropy", ["accuracy"]);
            m.Build([784]);
            return m;
        }
        var options = new RuntimeOptions(Workers: 1, ShardsPerBatch: 3, PsSlices: slices, ThreadsPerWorker: 2);
        var sizes = Wide(optimizer).GetWeights().Select(w => w.Length).ToArray();
        Assert.Equal(2, Optimizer.UpdateParts(options.SliceLayout(sizes).Length(0), options.SliceUpdateThreads));
        var reference = Wide(optimizer);
        reference.FitWith(Fixtures.Train(512), Options(InProcessRuntime.Instance));
        var sliced = Wide(optimizer);
        sliced.FitWith(Fixtures.Train(512), Options(new ActorStepRuntime(options)));
        Fixtures.AssertBitIdentical(reference.GetWeights(), sliced.GetWeights());
        var (_, slots0) = reference.Optimizer.GetState();
        var (_, slots1) = sliced.Optimizer.GetState();
        for (int i = 0; i < slots0.Length; i++) Fixtures.AssertBitIdentical(slots0[i], slots1[i]);
    }

    [Fact]
    public void A_checkpoint_taken_with_five_slices_resumes_with_two_and_gives_the_uninterrupted_weights()
    {
        var full = Model("adam-amsgrad");
        full.FitWith(Fixtures.Train(512), Options(InProcessRuntime.Instance, 3));
        var dir = Fixtures.TempDir();
        try
        {
            using var cts = new CancellationTokenSource();
            var cut = Model("adam-amsgrad");
            var o = Options(new ActorStepRuntime(new RuntimeOptions(Workers: 2, ShardsPerBatch: 3, PsSlices: 5)), 3);
            o.Checkpoints = new CheckpointSink(dir, 2, "sliced", "sync");
            o.Cancellation = cts.Token;
            Assert.True(cut.FitWith(Fixtures.Train(512), o, [new RecordingObserver(cts, cancelEpoch: 1, cancelStep: 3)]).Interrupted);
            var state = CheckpointStore.LoadLatest(dir)!;
            // the checkpoint's optimizer state was assembled from the slices: it matches the model's optimizer
            var (iterations, slots) = cut.Optimizer.GetState();
            Assert.Equal(iterations, state.OptimizerIterations);
            for (int i = 0; i < slots.Length; i++) Fixtures.AssertBitIdentical(slots[i], state.OptimizerSlots[i]);

            var resumed = Model("adam-amsgrad");
            var o2 = Options(new ActorStepRuntime(new RuntimeOptions(Workers: 1, ShardsPerBatch: 3, PsSlices: 2)), 3);
            o2.Resume = CheckpointSink.ToFit(state);
            Assert.False(resumed.FitWith(Fixtures.Train(512), o2).Interrupted);
            Fixtures.AssertBitIdentical(full.GetWeights(), resumed.GetWeights());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData(StalenessPolicy.None)]
    [InlineData(StalenessPolicy.Inverse)]
    public async Task Async_training_with_slices_resolves_every_batch_and_learns(StalenessPolicy policy)
    {
        var job = Fixtures.Job(1024, new RuntimeOptions(Workers: 4, Mode: "async", PsSlices: 3, Staleness: policy), epochs: 2,
            validation: Fixtures.Validation(256));
        var r = await ActorTrainingRunner.RunAsync(job, null, CancellationToken.None);
        Assert.Equal(32, r.Steps);
        Assert.True(r.History[1].Loss < r.History[0].Loss, $"loss {r.History[0].Loss} → {r.History[1].Loss}");
        Assert.InRange(r.History[1].ValAccuracy!.Value, 0.5f, 1f);
    }

    [Fact]
    public async Task Async_workers_pulling_as_they_start_always_reach_the_slices()
    {
        // regression: the server learned its slices after the workers started, so an early pull was lost and the run hung
        for (int run = 0; run < 8; run++)
        {
            var job = Fixtures.Job(512, new RuntimeOptions(Workers: 8, Mode: "async", PsSlices: 2, ThreadsPerWorker: 1), epochs: 1);
            var r = await ActorTrainingRunner.RunAsync(job, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(8, r.Steps);
        }
    }

    [Theory]
    [InlineData(StalenessPolicy.None, 0, 1f)]
    [InlineData(StalenessPolicy.None, 9, 1f)]
    [InlineData(StalenessPolicy.Inverse, 0, 1f)]
    [InlineData(StalenessPolicy.Inverse, 1, 1f)]
    [InlineData(StalenessPolicy.Inverse, 4, 0.25f)]
    public void The_staleness_policy_scales_the_learning_rate(StalenessPolicy policy, long staleness, float scale) =>
        Assert.Equal(scale, policy.LearningRateScale(staleness));
}
