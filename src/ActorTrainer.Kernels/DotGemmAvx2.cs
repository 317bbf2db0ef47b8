using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ActorTrainer.Kernels;

/// <summary>
/// AVX2+FMA form of <see cref="DotGemm{T}"/>: the L canonical lanes of each C(i,j) live in two 256-bit registers
/// (lanes 0..L/2−1 and L/2..L−1), 2×2 tiles of C at a time; the same bits as the AVX-512 and scalar forms.
/// </summary>
internal static unsafe class DotGemmAvx2<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Rows [i0,i1) of C; bt holds op(B)ᵀ (row j = column j of op(B)) with row stride ldbt.</summary>
    internal static void Run(in GemmProblem<T> p, int i0, int i1, T* bt, nint ldbt)
    {
        int n = p.N, i = i0;
        for (; i + 2 <= i1; i += 2)
        {
            int j = 0;
            for (; j + 2 <= n; j += 2) Tile(in p, i, j, 2, 2, bt, ldbt);
            if (j < n) Tile(in p, i, j, 2, 1, bt, ldbt);
        }
        if (i < i1)
        {
            int j = 0;
            for (; j + 2 <= n; j += 2) Tile(in p, i, j, 1, 2, bt, ldbt);
            if (j < n) Tile(in p, i, j, 1, 1, bt, ldbt);
        }
    }

    /// <summary>An rows×cols (≤ 2×2) tile; absent rows/columns reuse row/column 0 and are not stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile(in GemmProblem<T> p, int i, int j, int rows, int cols, T* bt, nint ldbt)
    {
        int w = Vector256<T>.Count, lanes = 2 * w, kMain = p.K - p.K % lanes;
        T* a0 = p.A + i * p.Lda, a1 = rows > 1 ? a0 + p.Lda : a0;
        T* b0 = bt + j * ldbt, b1 = cols > 1 ? b0 + ldbt : b0;
        Vector256<T> c00l = default, c00h = default, c01l = default, c01h = default;
        Vector256<T> c10l = default, c10h = default, c11l = default, c11h = default;
        for (int pp = 0; pp < kMain; pp += lanes)
        {
            var x0l = Vector256.Load(a0 + pp); var x0h = Vector256.Load(a0 + pp + w);
            var x1l = Vector256.Load(a1 + pp); var x1h = Vector256.Load(a1 + pp + w);
            var yl = Vector256.Load(b0 + pp); var yh = Vector256.Load(b0 + pp + w);
            c00l = CanonicalReduce.Fma256(x0l, yl, c00l); c00h = CanonicalReduce.Fma256(x0h, yh, c00h);
            c10l = CanonicalReduce.Fma256(x1l, yl, c10l); c10h = CanonicalReduce.Fma256(x1h, yh, c10h);
            yl = Vector256.Load(b1 + pp); yh = Vector256.Load(b1 + pp + w);
            c01l = CanonicalReduce.Fma256(x0l, yl, c01l); c01h = CanonicalReduce.Fma256(x0h, yh, c01h);
            c11l = CanonicalReduce.Fma256(x1l, yl, c11l); c11h = CanonicalReduce.Fma256(x1h, yh, c11h);
        }
        Span<T> lane = stackalloc T[lanes];
        Store(in p, i, j, c00l, c00h, lane, a0, b0);
        if (cols > 1) Store(in p, i, j + 1, c01l, c01h, lane, a0, b1);
        if (rows > 1) Store(in p, i + 1, j, c10l, c10h, lane, a1, b0);
        if (rows > 1 && cols > 1) Store(in p, i + 1, j + 1, c11l, c11h, lane, a1, b1);
    }

    private static void Store(in GemmProblem<T> p, int i, int j, Vector256<T> lo, Vector256<T> hi, Span<T> lane, T* a, T* b)
    {
        lo.CopyTo(lane);
        hi.CopyTo(lane.Slice(Vector256<T>.Count));
        DotGemm<T>.Finish(in p, i, j, lane, a, b);
    }
}
