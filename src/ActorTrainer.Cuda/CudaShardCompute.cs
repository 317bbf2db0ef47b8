using ActorTrainer.Core;
using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda;

/// <summary>A GPU gradient worker's computation (the actor runtime's IShardCompute): uploads the weights once per
/// weights key and each shard's rows, runs the device model's forward and backward passes and copies the shard's
/// gradient and statistics back — the large copies through page-locked host buffers kept for the worker's life (DMA
/// at the bus' speed, no allocation per step). The math is the CPU engine's; the bits are the GPU's (run-to-run identical on one
/// device, not equal to a CPU worker's). One per device: the device's stream is not shared between threads.</summary>
public sealed class CudaShardCompute : IShardCompute
{
    private readonly DeviceContext _dev;
    private readonly DeviceModel _model;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _w, _g, _x, _t;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _y;
    private readonly PageLockedArray1D<float>? _wHost, _gHost, _xHost, _tHost;
    private readonly PageLockedArray1D<int>? _yHost;
    private readonly int[] _stats;
    private long _key = long.MinValue;
    private Action? _onDispose;

    /// <summary>A worker for shards of up to maxRows rows of `plan` on the runtime's device.</summary>
    public CudaShardCompute(CudaRuntime runtime, ModelPlan plan, int maxRows)
    {
        _dev = runtime.Device;
        Where = "GPU " + runtime.DeviceName;
        var acc = _dev.Accelerator;
        _dev.Enter();
        _model = new DeviceModel(_dev, _dev.Kernels, plan, maxRows);
        try
        {
            _w = DeviceMemory.Allocate<float>(acc, _model.ParameterCount, "the weights");
            _g = DeviceMemory.Allocate<float>(acc, _model.ParameterCount, "the gradients");
            _x = DeviceMemory.Allocate<float>(acc, (long)maxRows * plan.InputDim, "a shard of inputs");
            _y = DeviceMemory.Allocate<int>(acc, maxRows, "a shard of labels");
            _t = DeviceMemory.Allocate<float>(acc, plan.Loss.SparseTargets ? 0 : (long)maxRows * plan.OutputDim, "a shard of targets");
            _wHost = acc.AllocatePageLocked1D<float>(_w.Length);
            _gHost = acc.AllocatePageLocked1D<float>(_g.Length);
            _xHost = acc.AllocatePageLocked1D<float>(_x.Length);
            _yHost = acc.AllocatePageLocked1D<int>(_y.Length);
            _tHost = acc.AllocatePageLocked1D<float>(_t.Length);
        }
        catch
        {
            Dispose();
            throw;
        }
        _stats = _model.NewStatsBuffer();
    }

    /// <summary>The factory of a worker node with a GPU (`worker` with worker.backend = cuda): one computation on the
    /// device at a time — a second coordinator connection while the first is served is refused naming the reason (the
    /// device's stream is not shared between threads).</summary>
    public static ShardComputeFactory Exclusive(CudaRuntime runtime)
    {
        var busy = new SemaphoreSlim(1, 1);
        return new((_, plan, maxRows, _) =>
        {
            if (!busy.Wait(0))
                throw new ShardComputeBusyException($"this node's GPU ({runtime.DeviceName}) is already serving a coordinator connection");
            try { return new CudaShardCompute(runtime, plan, maxRows) { _onDispose = () => busy.Release() }; }
            catch { busy.Release(); throw; }
        });
    }

    /// <summary>The factory the actor runtime calls for each local worker (RuntimeOptions.LocalCompute): worker 0 (the
    /// first started, and its restarts) computes on the runtime's device, later workers on this machine's CPU cores
    /// (the CPU engine with their GEMM threads), so one process offers its GPU and its cores.</summary>
    public static ShardComputeFactory Factory(CudaRuntime runtime) =>
        new((worker, plan, maxRows, threads) => worker == 0 ? new CudaShardCompute(runtime, plan, maxRows) : new LocalShardCompute(plan, maxRows, threads));

    /// <inheritdoc/>
    public string Where { get; }

    /// <inheritdoc/>
    public void Open() { }

    /// <inheritdoc/>
    public ShardStats Compute(float[][] weights, long weightsKey, ReadOnlyMemory<float> x, ReadOnlyMemory<int> labels,
        ReadOnlyMemory<float> targets, int rows, int batchRows, long dropoutSeed, float[][] grads)
    {
        var plan = _model.Plan;
        _dev.Enter();                                           // actors run on pool threads
        if (rows < 0 || rows > _model.MaxRows) throw new ArgumentOutOfRangeException(nameof(rows), rows, $"rows must be in [0, {_model.MaxRows}] for this worker");
        var stream = _dev.Accelerator.DefaultStream;
        if (weightsKey != _key || weightsKey < 0)
        {
            CudaInference.FlattenInto(_model, weights, _wHost!.Span, "GPU worker weights");
            _w.View.CopyFromPageLockedAsync(stream, _wHost);
            _key = weightsKey;
        }
        if (rows == 0)
        {
            foreach (var g in grads) Array.Clear(g);
            return new ShardStats(0, 0, 0);
        }
        Stage(_x, _xHost!, x.Span, (long)rows * plan.InputDim, "x");
        if (plan.Loss.SparseTargets) Stage(_y, _yHost!, labels.Span, rows, "labels");
        else Stage(_t, _tHost!, targets.Span, (long)rows * plan.OutputDim, "targets");
        _model.Gradients(_w.View, _x.View, rows, batchRows, _y.View, _t.View, [dropoutSeed], _g.View);
        _g.View.CopyToPageLockedAsync(stream, _gHost!);
        var stats = _model.ReadStats(_stats, rows, out _);         // waits for the stream: the gradient is back too
        var flat = _gHost!.Span;
        for (int i = 0; i < grads.Length; i++) flat.Slice(_model.Offsets[i], _model.Sizes[i]).CopyTo(grads[i]);
        return stats;
    }

    /// <summary>Queues dest ← src[..count] through the page-locked host buffer (the whole buffer goes: rows past count
    /// are left over from earlier shards and never read).</summary>
    private void Stage<T>(MemoryBuffer1D<T, Stride1D.Dense> dest, PageLockedArray1D<T> host, ReadOnlySpan<T> src, long count, string what)
        where T : unmanaged
    {
        if (src.Length < count) throw new ArgumentException($"GPU worker: {what} has {src.Length} values but the shard needs {count}");
        src[..(int)count].CopyTo(host.Span);
        dest.View.CopyFromPageLockedAsync(_dev.Accelerator.DefaultStream, host);
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        _dev.Enter();
        _w?.Dispose(); _g?.Dispose(); _x?.Dispose(); _y?.Dispose(); _t?.Dispose();
        _wHost?.Dispose(); _gHost?.Dispose(); _xHost?.Dispose(); _yHost?.Dispose(); _tHost?.Dispose();
        _model.Dispose();
        Interlocked.Exchange(ref _onDispose, null)?.Invoke();
    }
}
