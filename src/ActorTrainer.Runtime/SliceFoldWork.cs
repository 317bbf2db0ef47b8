using ActorTrainer.Core;
using ActorTrainer.Kernels;

namespace ActorTrainer.Runtime;

/// <summary>A parameter slice's element-wise passes over its ranges, in parts on the kernels' threads
/// (<see cref="KernelThreads"/>): acc += g (<see cref="GradientFold.Add"/>), the same add with the check that the sum is
/// finite (<see cref="GradientFold.AddChecked"/>), or the check alone (<see cref="GradientFold.AllFinite"/>). Part p
/// of n covers the p-th share of every range (<see cref="WeightRange.Part"/>): each element gets the same single add
/// and the finite flags are AND-ed, so the bits and the verdict do not depend on the parts. One per slice (it holds a
/// pass's arguments while it runs); reused across steps.</summary>
internal sealed class SliceFoldWork(WeightRange[] ranges) : IPartitionedWork
{
    private float[][]? _acc, _g;
    private bool _check;
    private int _bad;     // parts that found a value not finite

    /// <summary>acc ← acc + g over the ranges (g null: no add). With `check`: true when every sum (or, g null, every
    /// acc value) in the ranges is finite; without: always true. Runs in `parts` parts (≤ 1: on this thread).</summary>
    public bool Run(float[][] acc, float[][]? g, bool check, int parts)
    {
        if (g is null && !check) return true;
        _acc = acc; _g = g; _check = check; _bad = 0;
        try
        {
            if (parts <= 1) ((IPartitionedWork)this).Run(0, 1);
            else KernelThreads.Run(this, parts);
            return Volatile.Read(ref _bad) == 0;
        }
        finally { _acc = null; _g = null; }
    }

    void IPartitionedWork.Run(int part, int parts)
    {
        bool finite = true;
        foreach (var range in ranges)
        {
            var r = range.Part(part, parts);
            if (r.Count == 0) continue;
            var a = _acc![r.Tensor].AsSpan(r.Offset, r.Count);
            if (_g is null) finite &= GradientFold.AllFinite(a);
            else if (_check) finite &= GradientFold.AddChecked(a, _g[r.Tensor].AsSpan(r.Offset, r.Count));
            else GradientFold.Add(a, _g[r.Tensor].AsSpan(r.Offset, r.Count));
        }
        if (!finite) Interlocked.Increment(ref _bad);
    }
}
