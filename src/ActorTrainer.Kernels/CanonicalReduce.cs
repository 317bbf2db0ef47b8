using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ActorTrainer.Kernels;

/// <summary>
/// Sums and dot products in one canonical order, the same bits on the scalar, SSE, AVX2 and AVX-512 paths:
/// L = 64 bytes / sizeof(T) lanes (16 float32, 8 float64); lane l accumulates elements l, l+L, l+2L, … of the
/// whole L-blocks in index order (dot products with a fused multiply-add per element); the lanes are then folded by
/// a fixed halving tree (lane j += lane j + L/2, then j + L/4, …, down to lane 0); the n mod L tail is added last,
/// in index order. The same rule is used by <see cref="DotGemm{T}"/> for narrow GEMMs.
/// </summary>
public static class CanonicalReduce
{
    /// <summary>Canonical lane count for T: 16 for float32, 8 for float64.</summary>
    public static int Lanes<T>() where T : unmanaged => 64 / Unsafe.SizeOf<T>();

    /// <summary>Folds the L lane partials by the halving tree: for h = L/2, L/4, …, 1: lane[j] += lane[j + h].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static T FoldLanes<T>(Span<T> lane) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int h = lane.Length / 2; h >= 1; h /= 2)
            for (int j = 0; j < h; j++) lane[j] += lane[j + h];
        return lane[0];
    }

    /// <summary>Σ x[i] in the canonical order (float32 accumulation).</summary>
    public static float Sum(ReadOnlySpan<float> x) => SumCore(x);

    /// <summary>Σ x[i] in the canonical order (float64 accumulation).</summary>
    public static double Sum(ReadOnlySpan<double> x) => SumCore(x);

    /// <summary>Σ x[i]·y[i] in the canonical order, one fused multiply-add per element; lengths must match.</summary>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => DotCore(x, y);

    /// <summary>Σ x[i]·y[i] in the canonical order (float64).</summary>
    public static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y) => DotCore(x, y);

    /// <summary>Σ x[i] in the canonical order, for generic float32/float64 kernels.</summary>
    internal static T SumOf<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> => SumCore(x);

    private static T SumCore<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Lanes<T>(), main = x.Length - x.Length % lanes;
        Span<T> lane = stackalloc T[lanes];
        lane.Clear();
        int w = Vector256<T>.Count;
        if (Vector256.IsHardwareAccelerated && main > 0)
        {
            Span<Vector256<T>> acc = stackalloc Vector256<T>[lanes / w];
            for (int i = 0; i < main; i += lanes)
                for (int v = 0; v < acc.Length; v++) acc[v] += Vector256.Create(x.Slice(i + v * w, w));
            for (int v = 0; v < acc.Length; v++) acc[v].CopyTo(lane.Slice(v * w));
        }
        else
            for (int i = 0; i < main; i += lanes)
                for (int l = 0; l < lanes; l++) lane[l] += x[i + l];
        T s = FoldLanes(lane);
        for (int i = main; i < x.Length; i++) s += x[i];
        return s;
    }

    private static T DotCore<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Length != y.Length) throw new ArgumentException($"CanonicalReduce.Dot: lengths {x.Length} and {y.Length} differ.");
        int lanes = Lanes<T>(), main = x.Length - x.Length % lanes;
        Span<T> lane = stackalloc T[lanes];
        lane.Clear();
        int w = Vector256<T>.Count;
        if (Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported && main > 0)
        {
            Span<Vector256<T>> acc = stackalloc Vector256<T>[lanes / w];
            for (int i = 0; i < main; i += lanes)
                for (int v = 0; v < acc.Length; v++)
                    acc[v] = Fma256(Vector256.Create(x.Slice(i + v * w, w)), Vector256.Create(y.Slice(i + v * w, w)), acc[v]);
            for (int v = 0; v < acc.Length; v++) acc[v].CopyTo(lane.Slice(v * w));
        }
        else
            for (int i = 0; i < main; i += lanes)
                for (int l = 0; l < lanes; l++) lane[l] = T.FusedMultiplyAdd(x[i + l], y[i + l], lane[l]);
        T s = FoldLanes(lane);
        for (int i = main; i < x.Length; i++) s = T.FusedMultiplyAdd(x[i], y[i], s);
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<T> Fma256<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }
}
