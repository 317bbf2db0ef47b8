using ActorTrainer.Core;
using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda;

/// <summary>Runs fit's steps on the device (sync data-parallel semantics of the in-process executor, on one device):
/// per step the batch is gathered from the device-resident training set by the epoch's permutation, the forward and
/// backward passes and the optimizer update are queued on the stream, and the batch's per-row losses, hits and
/// divergence flag are copied back (the step's one synchronisation). With IStepLookahead the next batch's step is
/// queued before this one's statistics are waited for, so the device runs it while the host takes this one's result
/// (the weights are the same: the stream runs the steps in order). A non-finite loss or gradient applies nothing (nor
/// does the step opened behind it) and throws TrainingDivergedException. The whole batch is one pass; shards-per-batch only keys the dropout masks, as on
/// the CPU. The weights' home (start.Weights) is brought up to date when Weights is read (checkpoints, end of fit).</summary>
internal sealed class CudaStepExecutor : IStepExecutor, IStepLookahead, IStepEvaluator
{
    private readonly StepJob _job;
    private readonly float[][] _home;
    private readonly DeviceModel _model;
    private readonly DeviceOptimizer _opt;
    private readonly DeviceDataset _train;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _w, _g, _xb, _tb;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _order, _yb;
    private readonly StepReadback _readback;
    private readonly bool _hasDropout;
    private DeviceDataset? _validation;
    private int _epoch, _next;
    private int _aheadRows = -1;       // rows of the step queued ahead (batch _next), or -1 when none is
    private long _globalStep, _version, _hostVersion;

    private readonly DeviceContext _dev;
    private readonly List<IDisposable> _owned = [];

    private CudaStepExecutor(DeviceContext dev, StepJob job, FitCheckpoint start)
    {
        _dev = dev;
        _job = job;
        _home = start.Weights;
        var acc = dev.Accelerator;
        var plan = job.Plan;
        dev.Enter();
        try
        {
            _model = Own(new DeviceModel(dev, dev.Kernels, plan, Math.Max(1, Math.Min(job.BatchSize, job.Train.Count))));
            _train = Own(new DeviceDataset(dev, plan, job.Train, "the training set"));
            _w = Own(CudaInference.UploadWeights(dev, _model, _home));
            _g = Own(DeviceMemory.Allocate<float>(acc, _model.ParameterCount, "the gradients"));
            _opt = Own(new DeviceOptimizer(dev, dev.Kernels, job.Optimizer, _model.Offsets, _model.Sizes, _model.ParameterCount));
            int rows = _model.MaxRows, ow = plan.OutputDim;
            _xb = Own(DeviceMemory.Allocate<float>(acc, (long)rows * plan.InputDim, $"a batch of inputs ({rows} × {plan.InputDim})"));
            _yb = Own(DeviceMemory.Allocate<int>(acc, rows, "a batch of labels"));
            _tb = Own(DeviceMemory.Allocate<float>(acc, plan.Loss.SparseTargets ? 0 : (long)rows * ow, "a batch of targets"));
            _order = Own(DeviceMemory.Allocate<int>(acc, job.Train.Count, "the epoch's sample order"));
            _readback = Own(new StepReadback(dev, _model));
            _hasDropout = plan.Layers.Any(l => l is PlanLayer.Dropout d && d.rate > 0.0);
        }
        catch
        {
            FreeOwned();
            throw;
        }
    }

    private T Own<T>(T resource) where T : IDisposable
    {
        _owned.Add(resource);
        return resource;
    }

    private void FreeOwned()
    {
        _validation?.Dispose();
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        _owned.Clear();
    }

    /// <summary>Starts an executor for the job at the start position (weights uploaded, optimizer state too).</summary>
    public static IStepExecutor Create(DeviceContext dev, StepJob job, FitCheckpoint start)
    {
        if (job.ShardsPerBatch < 1)
            throw new ArgumentOutOfRangeException("shards", job.ShardsPerBatch, "trainer.shards-per-batch must be >= 1");
        return new CudaStepExecutor(dev, job, start);
    }

    private Kernels.DeviceKernels Kernels => _dev.Kernels;

    public int Workers => 1;
    public int WorkersAlive => 1;
    public bool Asynchronous => false;
    public long Version => _version;
    public long StaleRejected => 0;

    public void BeginEpoch(int epoch, int startStep, long firstGlobalStep)
    {
        RefuseWhileAhead(nameof(BeginEpoch));
        _dev.Enter();
        var order = Batching.permutation(_job.Seed, epoch, _job.Train.Count, _job.Shuffle);
        DeviceMemory.Upload(_order.View, order.AsSpan());
        _epoch = epoch;
        _next = startStep;
        _globalStep = firstGlobalStep;
    }

    public StepOutcome NextStep() => Next(false);

    /// <summary>NextStep, with the following batch's step queued behind this one before its result is waited for.</summary>
    public StepOutcome NextStepOpeningNext() => Next(true);

    private StepOutcome Next(bool openNext)
    {
        _dev.Enter();
        int b = _next;
        int rows = _aheadRows >= 0 ? _aheadRows : Queue(b, _globalStep, carryFlag: false);
        _aheadRows = -1;
        bool opened = openNext && (b + 1) * (long)_job.BatchSize < _job.Train.Count;
        if (opened) _aheadRows = Queue(b + 1, _globalStep + 1, carryFlag: true);
        var stats = _readback.Wait((int)(_globalStep & 1), rows, out var flag);
        if (flag != 0)
        {
            _job.Optimizer.Iterations -= opened ? 2 : 1;     // the step opened behind it applied nothing either
            if (opened) _readback.Forget((int)((_globalStep + 1) & 1));
            _aheadRows = -1;
            var what = (flag & 1) != 0 ? $"loss sum is {stats.LossSum}" : "gradients contain NaN or Inf";
            throw new TrainingDivergedException(_epoch, _globalStep, b, what);
        }
        _next = b + 1;
        _globalStep++;
        _version++;
        return new StepOutcome(b, stats);
    }

    /// <summary>Queues batch b's step (global step `step`) and the copy of its statistics; returns its rows.</summary>
    private int Queue(int b, long step, bool carryFlag)
    {
        int rows = Math.Min(_job.BatchSize, _job.Train.Count - b * _job.BatchSize);
        Gather(b * _job.BatchSize, rows);
        _model.Gradients(_w.View, _xb.View, rows, rows, _yb.View, _tb.View, _hasDropout ? ShardSeeds(step) : null, _g.View, carryFlag);
        if (_model.ParameterCount > 0) Kernels.CheckFinite((int)_model.ParameterCount, _g.View, _model.Flag);
        _opt.Apply(_w.View, _g.View, _model.Flag);
        _readback.Queue((int)(step & 1));
        return rows;
    }

    /// <summary>Between NextStepOpeningNext and the next step only NextStep may come (IStepLookahead's promise).</summary>
    private void RefuseWhileAhead(string call)
    {
        if (_aheadRows >= 0)
            throw new InvalidOperationException($"cuda step executor: {call} called while batch {_next} is open ahead (NextStepOpeningNext promised NextStep next)");
    }

    private void Gather(int start, int rows)
    {
        var plan = _job.Plan;
        if (rows <= 0) return;
        Kernels.GatherRows(rows * plan.InputDim, _train.X, _order.View, start, plan.InputDim, _xb.View);
        if (plan.Loss.SparseTargets) Kernels.GatherInts(rows, _train.Labels, _order.View, start, _yb.View);
        else Kernels.GatherRows(rows * plan.OutputDim, _train.Targets, _order.View, start, plan.OutputDim, _tb.View);
    }

    private long[] ShardSeeds(long step)
    {
        var seeds = new long[_job.ShardsPerBatch];
        for (int s = 0; s < seeds.Length; s++) seeds[s] = Batching.dropoutSeed(_job.Seed, step, s);
        return seeds;
    }

    public StepOutcome[] Drain()
    {
        RefuseWhileAhead(nameof(Drain));
        return [];
    }

    public float[][] Weights
    {
        get
        {
            RefuseWhileAhead(nameof(Weights));
            if (_hostVersion != _version)
            {
                _dev.Enter();
                var flat = new float[_model.ParameterCount];
                DeviceMemory.Download(_w.View, flat.AsSpan());
                for (int i = 0; i < _home.Length; i++) Array.Copy(flat, _model.Offsets[i], _home[i], 0, _model.Sizes[i]);
                _hostVersion = _version;
            }
            return _home;
        }
    }

    public void SetWeights(float[][] weights)
    {
        RefuseWhileAhead(nameof(SetWeights));
        _dev.Enter();
        var flat = CudaInference.Flatten(_model, weights, "set_weights");
        ActorTrainer.Core.Weights.checkedCopyInto("set_weights", weights, _home);
        DeviceMemory.Upload(_w.View, flat.AsSpan());
        _hostVersion = _version;
    }

    public (long, float[][][]) OptimizerState()
    {
        RefuseWhileAhead(nameof(OptimizerState));
        _dev.Enter();
        return (_job.Optimizer.Iterations, _opt.Download());
    }

    public ShardStats Evaluate(ArrayData data)
    {
        RefuseWhileAhead(nameof(Evaluate));
        _dev.Enter();
        if (_validation is null || !ReferenceEquals(_validation.Source, data))
        {
            _validation?.Dispose();
            _validation = null;
            _validation = new DeviceDataset(_dev, _job.Plan, data, "the validation set");
        }
        return CudaInference.Run(_model, _w.View, _validation);
    }

    /// <summary>Leaves the optimizer's state in the Core optimizer (as the CPU executors do) and frees the device buffers.</summary>
    public void Dispose()
    {
        if (_owned.Count == 0) return;
        _dev.Enter();
        try { _job.Optimizer.LoadState(_job.Optimizer.Iterations, _opt.Download()); }
        finally { FreeOwned(); }
    }
}
