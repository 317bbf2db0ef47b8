using ActorTrainer.Core;
using ActorTrainer.Cuda.Kernels;
using ActorTrainer.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda;

/// <summary>A Core optimizer's state on the device: one flat buffer per slot (the plan's weights concatenated, as
/// the parameter vector) and one update kernel launch per step. The hyper-parameters and the learning rate are read
/// from the Core optimizer at every step (schedulers and warm-up change them); its Iterations are advanced here.</summary>
internal sealed class DeviceOptimizer : IDisposable
{
    private readonly DeviceContext _dev;
    private readonly DeviceKernels _k;
    private readonly Optimizer _opt;
    private readonly int[] _offsets, _sizes;
    private readonly long _count;
    private readonly MemoryBuffer1D<float, Stride1D.Dense>[] _slots;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _dummy;

    public DeviceOptimizer(DeviceContext dev, DeviceKernels kernels, Optimizer optimizer, int[] offsets, int[] sizes, long count)
    {
        if (optimizer is not (SGD or RMSprop or Adagrad or Adam))
            throw new NotSupportedException($"trainer.backend = cuda runs the SGD, RMSprop, Adagrad and Adam optimizers; '{optimizer.Name}' ({optimizer.GetType().Name}) has no GPU update");
        _dev = dev; _k = kernels; _opt = optimizer; _offsets = offsets; _sizes = sizes; _count = count;
        _slots = optimizer.SlotNames.Select(n => DeviceMemory.Allocate<float>(dev.Accelerator, count, $"the optimizer's '{n}' slots")).ToArray();
        _dummy = DeviceMemory.Allocate<float>(dev.Accelerator, 1, "an absent slot");
        Upload();
    }

    /// <summary>Copies the Core optimizer's slots (GetState; missing ones start at InitialSlotValue) to the device.</summary>
    public void Upload()
    {
        var (_, state) = _opt.GetState();
        var host = new float[_count];
        for (int s = 0; s < _slots.Length; s++)
        {
            Array.Fill(host, _opt.InitialSlotValue);
            for (int i = 0; i < _sizes.Length && i < state.Length; i++)
                if (state[i] is { Length: > 0 } slots) Array.Copy(slots[s], 0, host, _offsets[i], _sizes[i]);
            DeviceMemory.Upload(_slots[s].View, host.AsSpan());
        }
    }

    /// <summary>The slots per weight (GetState's layout: weight → slot → values), copied from the device.</summary>
    public float[][][] Download()
    {
        var host = new float[Math.Max(1, _count)];
        var result = _sizes.Select(n => _slots.Select(_ => new float[n]).ToArray()).ToArray();
        for (int s = 0; s < _slots.Length; s++)
        {
            DeviceMemory.Download(_slots[s].View, host.AsSpan(0, (int)_count));
            for (int i = 0; i < _sizes.Length; i++) Array.Copy(host, _offsets[i], result[i][s], 0, _sizes[i]);
        }
        return result;
    }

    /// <summary>Queues one update w ← rule(w, g, slots) as step Iterations + 1 (skipped on the device when flag ≠ 0)
    /// and advances Iterations; the caller rolls Iterations back if the step turns out to have diverged.</summary>
    public void Apply(ArrayView<float> w, ArrayView<float> g, ArrayView<int> flag)
    {
        _opt.Iterations += 1;
        if (_count == 0) return;
        var a = Args(_opt, (float)_opt.LearningRate, _opt.Iterations);
        var s0 = _slots.Length > 0 ? _slots[0].View : _dummy.View;
        ArrayView<float> s1 = _dummy.View, s2 = _dummy.View;
        if (_opt is RMSprop r)
        {
            if (r.Momentum > 0.0) s1 = _slots[1].View;
            if (r.Centered) s2 = _slots[^1].View;
        }
        else if (_opt is Adam adam)
        {
            s1 = _slots[1].View;
            if (adam.Amsgrad) s2 = _slots[2].View;
        }
        _k.Update((int)_count, a, w, g, s0, s1, s2, flag);
    }

    /// <summary>The kernel's scalars for this optimizer at learning rate lr and 1-based step t (Optimizers.fs' math).</summary>
    internal static OptArgs Args(Optimizer opt, float lr, long t) => opt switch
    {
        SGD s => new OptArgs(OptArgs.Sgd, lr, (float)s.Momentum, 0, 0, 0,
            (s.Momentum != 0.0 ? OptArgs.Momentum : 0) | (s.Nesterov ? OptArgs.Nesterov : 0)),
        RMSprop r => new OptArgs(OptArgs.RmsProp, lr, (float)r.Rho, (float)(1.0 - r.Rho), (float)r.Epsilon, (float)r.Momentum,
            (r.Momentum > 0.0 ? OptArgs.Momentum : 0) | (r.Centered ? OptArgs.Centered : 0)),
        Adagrad g => new OptArgs(OptArgs.Adagrad, lr, 0, 0, (float)g.Epsilon, 0, 0),
        Adam a => AdamArgs(a, lr, t),
        _ => throw new NotSupportedException(opt.Name),
    };

    private static OptArgs AdamArgs(Adam a, float lr, long step)
    {
        float b1 = (float)a.Beta1, b2 = (float)a.Beta2, t = step;
        float alpha = lr * MathF.Sqrt(1f - CanonicalMath.Pow(b2, t)) / (1f - CanonicalMath.Pow(b1, t));
        return new OptArgs(OptArgs.Adam, alpha, (float)(1.0 - a.Beta1), (float)(1.0 - a.Beta2), (float)a.Epsilon, 0, a.Amsgrad ? OptArgs.Amsgrad : 0);
    }

    /// <summary>Frees the slot buffers.</summary>
    public void Dispose()
    {
        foreach (var s in _slots) s.Dispose();
        _dummy.Dispose();
    }
}
