using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ActorTrainer.Kernels;

/// <summary>
/// The parameter server's element-wise passes over shard gradients: acc[i] ← acc[i] + g[i] (one IEEE add per element,
/// so the bits do not depend on the vector width) and the check that every value is finite, fused into one pass where
/// a step needs both (the last shard's fold). The check accumulates v − v, which is 0 for a finite v and NaN for ±∞ or
/// NaN, so it is exact and never overflows.
/// </summary>
public static class GradientFold
{
    /// <summary>acc[i] ← acc[i] + g[i] for every i; acc.Length == g.Length.</summary>
    public static void Add(Span<float> acc, ReadOnlySpan<float> g) => AddCore(acc, g, check: false);

    /// <summary>acc[i] ← acc[i] + g[i] for every i, then true when every acc[i] is finite; acc.Length == g.Length.</summary>
    public static bool AddChecked(Span<float> acc, ReadOnlySpan<float> g) => AddCore(acc, g, check: true);

    /// <summary>True when every a[i] is finite (no NaN, no ±∞).</summary>
    public static bool AllFinite(ReadOnlySpan<float> a)
    {
        ref float pa = ref MemoryMarshal.GetReference(a);
        int n = a.Length, i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            int w = Vector<float>.Count;
            Vector<float> bad0 = Vector<float>.Zero, bad1 = bad0, bad2 = bad0, bad3 = bad0;   // four chains: not latency bound
            for (; i <= n - 4 * w; i += 4 * w)
            {
                var v0 = Vector.LoadUnsafe(ref pa, (nuint)i);
                var v1 = Vector.LoadUnsafe(ref pa, (nuint)(i + w));
                var v2 = Vector.LoadUnsafe(ref pa, (nuint)(i + 2 * w));
                var v3 = Vector.LoadUnsafe(ref pa, (nuint)(i + 3 * w));
                bad0 += v0 - v0; bad1 += v1 - v1; bad2 += v2 - v2; bad3 += v3 - v3;
            }
            for (; i <= n - w; i += w)
            {
                var v = Vector.LoadUnsafe(ref pa, (nuint)i);
                bad0 += v - v;
            }
            if (!Vector.EqualsAll((bad0 + bad1) + (bad2 + bad3), Vector<float>.Zero)) return false;
        }
        for (; i < n; i++) if (!float.IsFinite(Unsafe.Add(ref pa, i))) return false;
        return true;
    }

    private static bool AddCore(Span<float> acc, ReadOnlySpan<float> g, bool check)
    {
        if (acc.Length != g.Length)
            throw new ArgumentException($"GradientFold.Add: acc has {acc.Length} elements, g has {g.Length}", nameof(g));
        ref float pa = ref MemoryMarshal.GetReference(acc);
        ref float pg = ref MemoryMarshal.GetReference(g);
        int n = acc.Length, i = 0;
        bool finite = true;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            int w = Vector<float>.Count;
            Vector<float> bad = Vector<float>.Zero, bad1 = bad;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                var v0 = Vector.LoadUnsafe(ref pa, (nuint)i) + Vector.LoadUnsafe(ref pg, (nuint)i);
                var v1 = Vector.LoadUnsafe(ref pa, (nuint)(i + w)) + Vector.LoadUnsafe(ref pg, (nuint)(i + w));
                v0.StoreUnsafe(ref pa, (nuint)i);
                v1.StoreUnsafe(ref pa, (nuint)(i + w));
                if (check) { bad += v0 - v0; bad1 += v1 - v1; }
            }
            bad += bad1;
            for (; i <= n - w; i += w)
            {
                var v = Vector.LoadUnsafe(ref pa, (nuint)i) + Vector.LoadUnsafe(ref pg, (nuint)i);
                v.StoreUnsafe(ref pa, (nuint)i);
                if (check) bad += v - v;
            }
            finite = Vector.EqualsAll(bad, Vector<float>.Zero);
        }
        for (; i < n; i++)
        {
            float v = Unsafe.Add(ref pa, i) + Unsafe.Add(ref pg, i);
            Unsafe.Add(ref pa, i) = v;
            finite &= !check || float.IsFinite(v);
        }
        return finite;
    }
}
