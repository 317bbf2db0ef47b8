using ActorTrainer.Core;
using ActorTrainer.Cuda.Blas;
using ActorTrainer.Cuda.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda;

/// <summary>Forward and backward passes of a ModelPlan on the device for up to maxRows rows, over a flat parameter
/// vector (the plan's weights concatenated in plan order) — the GPU twin of Core's GradientEngine, with the same
/// layer order, loss forms and dropout masks. Kernels are queued on the device's stream; nothing here waits.</summary>
internal sealed class DeviceModel : IDisposable
{
    private readonly DeviceContext _dev;
    private readonly DeviceKernels _k;
    private readonly PlanLayer[] _layers;
    private readonly int[] _widths;
    private readonly int[] _weightIndex;
    private readonly MemoryBuffer1D<float, Stride1D.Dense>[] _outs;
    private readonly MemoryBuffer1D<float, Stride1D.Dense>?[] _masks;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _zLast, _gA, _gB, _dummy;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _stats;
    private MemoryBuffer1D<long, Stride1D.Dense>? _shardSeeds;
    private readonly bool _lastDense, _lastAct;
    private readonly Activation _finalAct;
    private readonly int _lossCode;

    public DeviceModel(DeviceContext dev, DeviceKernels kernels, ModelPlan plan, int maxRows)
    {
        if (maxRows < 1) throw new ArgumentOutOfRangeException(nameof(maxRows), maxRows, "maxRows must be >= 1");
        if (plan.Layers.FirstOrDefault(l => l.IsCustom) is PlanLayer.Custom c)
            throw new NotSupportedException($"the GPU backend runs the built-in layers only; {c.Item} runs on the CPU engine (compute cpu)");
        _dev = dev;
        _k = kernels;
        Plan = plan;
        MaxRows = maxRows;
        _layers = plan.Layers;
        _widths = PlanLayout.Widths(plan);
        _weightIndex = PlanLayout.WeightIndex(plan);
        (Offsets, Sizes) = PlanLayout.Offsets(plan);
        ParameterCount = Offsets.Length == 0 ? 0 : Offsets[^1] + Sizes[^1];
        var n = _layers.Length;
        var acc = dev.Accelerator;
        _outs = _widths.Select((w, i) => DeviceMemory.Allocate<float>(acc, (long)maxRows * w, $"layer {i}'s outputs ({maxRows} × {w})")).ToArray();
        _masks = _layers.Select((l, i) => l.IsDropout ? DeviceMemory.Allocate<float>(acc, (long)maxRows * _widths[i], $"layer {i}'s dropout mask") : null).ToArray();
        var maxWidth = _widths.Append(plan.InputDim).Max();
        _zLast = DeviceMemory.Allocate<float>(acc, (long)maxRows * OutputDim, "the last layer's pre-activations");
        _gA = DeviceMemory.Allocate<float>(acc, (long)maxRows * maxWidth, "activation gradients");
        _gB = DeviceMemory.Allocate<float>(acc, (long)maxRows * maxWidth, "activation gradients");
        _stats = DeviceMemory.Allocate<int>(acc, 1 + 2L * maxRows, "the divergence flag and per-sample losses");
        _dummy = DeviceMemory.Allocate<float>(acc, 1, "an empty bias");
        _lastDense = n > 0 && _layers[n - 1].IsDense;
        _lastAct = n > 0 && _layers[n - 1].IsActivation;
        _finalAct = n == 0 ? Activation.Linear : _layers[n - 1] switch
        {
            PlanLayer.Dense d => d.activation,
            PlanLayer.Activation a => a.Item,
            _ => Activation.Linear,
        };
        _lossCode = LossCode.Of(plan.Loss, _finalAct);
    }

    public ModelPlan Plan { get; }
    public int MaxRows { get; }
    /// <summary>Width of the model output.</summary>
    public int OutputDim => _widths.Length == 0 ? Plan.InputDim : _widths[^1];
    /// <summary>Offset and length of each weight (plan.WeightShapes order) in the flat parameter vector.</summary>
    public int[] Offsets { get; }
    public int[] Sizes { get; }
    public long ParameterCount { get; }
    /// <summary>One buffer, so that a step needs one copy back: [flag | loss of rows 0..MaxRows) | hits of rows
    /// 0..MaxRows)], the float32 values stored as their bits (<see cref="ReadStats"/> reads it).</summary>
    public ArrayView<int> Stats => _stats.View;
    /// <summary>The same buffer as a dense view (for asynchronous copies to page-locked memory).</summary>
    public ArrayView1D<int, Stride1D.Dense> StatsView => _stats.View;
    /// <summary>flag[0]: bit 1 = a non-finite loss, bit 2 = a non-finite gradient (set by the loss and the check), bit 4
    /// (carried, see Gradients) = the step queued before this one diverged.</summary>
    public ArrayView<int> Flag => _stats.View.SubView(0, 1);
    private ArrayView<float> RowLoss => ((ArrayView<int>)_stats.View).SubView(1, MaxRows).Cast<float>();
    private ArrayView<float> RowHit => ((ArrayView<int>)_stats.View).SubView(1 + MaxRows, MaxRows).Cast<float>();

    /// <summary>Copies the flag and the last Loss' per-row statistics back (one copy, which waits for the queued work)
    /// and sums them in row order (loss in float64; binary losses' hits per output as the sample's mean).</summary>
    public ShardStats ReadStats(int[] host, int rows, out int flag)
    {
        DeviceMemory.Download(_stats.View, host.AsSpan());
        return SumStats(host, rows, out flag);
    }

    /// <summary>The statistics of `rows` rows in a host copy of <see cref="Stats"/>, summed in row order.</summary>
    public ShardStats SumStats(ReadOnlySpan<int> host, int rows, out int flag)
    {
        flag = host[0];
        double loss = 0, hits = 0;
        bool binary = Plan.Loss.IsBinaryCrossentropy;
        for (int r = 0; r < rows; r++)
        {
            loss += BitConverter.Int32BitsToSingle(host[1 + r]);
            float h = BitConverter.Int32BitsToSingle(host[1 + MaxRows + r]);
            hits += binary ? h / (double)OutputDim : h;
        }
        return new ShardStats(loss, hits, rows);
    }

    /// <summary>A host buffer for <see cref="ReadStats"/>.</summary>
    public int[] NewStatsBuffer() => new int[1 + 2 * MaxRows];

    private ArrayView<float> Input(ArrayView<float> x, int i, int rows) =>
        i == 0 ? x.SubView(0, (long)rows * Plan.InputDim) : _outs[i - 1].View.SubView(0, (long)rows * _widths[i - 1]);

    private ArrayView<float> Weight(ArrayView<float> w, int k) => w.SubView(Offsets[k], Sizes[k]);

    /// <summary>y = model(x) for rows ≤ MaxRows, x (rows × InputDim); training applies dropout with shardSeeds
    /// (Batching.dropoutSeed of each of the batch's shards). Returns the output view (rows × OutputDim).</summary>
    public ArrayView<float> Forward(ArrayView<float> w, ArrayView<float> x, int rows, bool training, long[]? shardSeeds)
    {
        if (training && shardSeeds is not null) UploadSeeds(shardSeeds);
        for (int i = 0; i < _layers.Length; i++)
        {
            var inp = Input(x, i, rows);
            int width = _widths[i];
            var outV = _outs[i].View.SubView(0, (long)rows * width);
            switch (_layers[i])
            {
                case PlanLayer.Dense d:
                    bool keepZ = i == _layers.Length - 1 && !d.activation.IsLinear;
                    var z = keepZ ? _zLast.View.SubView(0, (long)rows * d.units) : outV;
                    int k = _weightIndex[i];
                    DeviceGemm.RowMajor(_dev.Blas, false, false, rows, d.units, d.inDim, 1f, inp, d.inDim, Weight(w, k), d.units, 0f, z, d.units);
                    ActivateForward(z, d.useBias ? Weight(w, k + 1) : _dummy.View, d.useBias, d.activation, outV, !keepZ, rows, d.units);
                    break;
                case PlanLayer.Activation a:
                    ActivateForward(inp, _dummy.View, false, a.Item, outV, false, rows, width);
                    break;
                case PlanLayer.Dropout dr:
                    if (training && dr.rate > 0.0)
                    {
                        var mask = _masks[i]!.View.SubView(0, (long)rows * width);
                        _k.DropoutMask((int)outV.Length, _shardSeeds!.View, rows, shardSeeds?.Length ?? 1, width, i, dr.rate, (float)(1.0 / (1.0 - dr.rate)), mask);
                        _k.Multiply((int)outV.Length, inp, mask, outV);
                    }
                    else if (outV.Length > 0) _k.Copy((int)outV.Length, inp, outV);
                    break;
            }
        }
        return _layers.Length == 0 ? x.SubView(0, (long)rows * Plan.InputDim) : _outs[^1].View.SubView(0, (long)rows * OutputDim);
    }

    /// <summary>z += b, y = act(z); inPlace when z and y are the same view (then linear without bias is nothing to do).</summary>
    private void ActivateForward(ArrayView<float> z, ArrayView<float> bias, bool hasBias, Activation act, ArrayView<float> y, bool inPlace, int rows, int width)
    {
        if (rows == 0 || width == 0) return;
        if (act.IsSoftmax) _k.BiasSoftmaxRows(rows, z, bias, hasBias ? 1 : 0, width, y);
        else if (hasBias || !act.IsLinear || !inPlace)
            _k.BiasActivation(rows * width, z, bias, hasBias ? 1 : 0, width, ActCode.Of(act), y);
    }

    private void ActivateBackward(Activation act, ArrayView<float> y, ArrayView<float> g, int rows, int width)
    {
        if (rows == 0 || width == 0 || act.IsLinear) return;
        if (act.IsSoftmax) _k.SoftmaxBackwardRows(rows, y, g, width);
        else _k.ActivationBackward(rows * width, y, g, ActCode.Of(act));
    }

    private void UploadSeeds(long[] seeds)
    {
        if (_shardSeeds is null || _shardSeeds.Length < seeds.Length)
        {
            _shardSeeds?.Dispose();
            _shardSeeds = DeviceMemory.Allocate<long>(_dev.Accelerator, seeds.Length, "dropout seeds");
        }
        DeviceMemory.Upload(_shardSeeds.View, seeds.AsSpan());
    }

    /// <summary>Per-row loss and hits of the last Forward into Stats (flag bit 1 on a non-finite loss); with a
    /// gradient, also dz = ∂(Σ loss / batchSize)/∂(last pre-activation) into the backward buffer.</summary>
    public void Loss(ArrayView<float> x, int rows, int batchSize, ArrayView<int> labels, ArrayView<float> targets, bool withGradient)
    {
        if (rows == 0) return;
        int n = _layers.Length, ow = OutputDim;
        var y = _layers.Length == 0 ? throw new InvalidOperationException("a model without layers has no loss") : _outs[^1].View;
        var z = _lastDense && !_finalAct.IsLinear ? _zLast.View : _lastAct ? Input(x, n - 1, rows) : y;
        var args = new LossArgs(_lossCode, ow, 1f / batchSize, withGradient ? 1 : 0);
        _k.LossRows(rows, args, z, y, labels, targets, _gA.View, RowLoss, RowHit, Flag);
        if (withGradient && LossCode.IsProbabilityForm(_lossCode))
            ActivateBackward(_finalAct, y, _gA.View, rows, ow);
    }

    /// <summary>Gradients g (flat, plan order) = ∂(Σ loss / batchSize)/∂w of the last Forward(training) + Loss(withGradient).</summary>
    public void Backward(ArrayView<float> w, ArrayView<float> x, int rows, ArrayView<float> g)
    {
        var ga = _gA.View;
        var gb = _gB.View;
        bool preAct = _lastDense;
        for (int i = _lastAct ? _layers.Length - 2 : _layers.Length - 1; i >= 0; i--)
        {
            int width = _widths[i];
            switch (_layers[i])
            {
                case PlanLayer.Dense d:
                    if (!preAct) ActivateBackward(d.activation, _outs[i].View, ga, rows, width);
                    int k = _weightIndex[i];
                    var inp = Input(x, i, rows);
                    DeviceGemm.RowMajor(_dev.Blas, true, false, d.inDim, d.units, rows, 1f, inp, d.inDim, ga, d.units, 0f, Weight(g, k), d.units);
                    if (d.useBias) _k.ColumnSum(d.units, ga, rows, d.units, Weight(g, k + 1));
                    if (i > 0)
                    {
                        DeviceGemm.RowMajor(_dev.Blas, false, true, rows, d.inDim, d.units, 1f, ga, d.units, Weight(w, k), d.units, 0f, gb, d.inDim);
                        (ga, gb) = (gb, ga);
                    }
                    break;
                case PlanLayer.Activation a:
                    if (i > 0) ActivateBackward(a.Item, _outs[i].View, ga, rows, width);
                    break;
                case PlanLayer.Dropout dr:
                    if (i > 0 && dr.rate > 0.0) _k.Multiply(rows * width, ga, _masks[i]!.View, ga);
                    break;
            }
            preAct = false;
        }
    }

    /// <summary>One training pass, queued: flag reset, Forward(training), Loss with gradient, Backward into g — what a
    /// step (the executor) and a shard (a GPU worker) both compute: g = ∂(Σ_rows loss / batchRows)/∂w. carryFlag: the
    /// previous step is still unread (queued ahead): the flag starts as 4 when that step's flag was set, else 0.</summary>
    public void Gradients(ArrayView<float> w, ArrayView<float> x, int rows, int batchRows, ArrayView<int> labels,
                          ArrayView<float> targets, long[]? shardSeeds, ArrayView<float> g, bool carryFlag = false)
    {
        if (carryFlag) _k.CarryFlag(1, Flag);
        else Flag.MemSetToZero();
        Forward(w, x, rows, true, shardSeeds);
        Loss(x, rows, batchRows, labels, targets, true);
        Backward(w, x, rows, g);
    }

    /// <summary>Frees the buffers.</summary>
    public void Dispose()
    {
        foreach (var b in _outs) b.Dispose();
        foreach (var b in _masks) b?.Dispose();
        _zLast.Dispose(); _gA.Dispose(); _gB.Dispose(); _stats.Dispose(); _dummy.Dispose();
        _shardSeeds?.Dispose();
    }
}
