using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ActorTrainer.Kernels;

/// <summary>
/// GEMM for row-major A and narrow C (n ≤ L, the canonical lane count of <see cref="CanonicalReduce"/>: 16 float32,
/// 8 float64; k ≥ 4·L): each C(i,j) is a dot product of A row i with column j of op(B), both contiguous in p, so
/// every lane does useful work where the panel kernel would use only n of its lanes. The arithmetic is
/// <see cref="CanonicalReduce"/>'s, whatever the instruction set: lane l accumulates p ≡ l (mod L) over the whole
/// L-blocks with FMAs, the lanes fold by the halving tree, the k mod L tail is added by scalar FMAs, then
/// C = alpha·s + beta·C. AVX-512 holds the L lanes in one register, AVX2 in two, the scalar path in L variables —
/// the same bits on every path, so which path runs depends on the problem's shape only.
/// </summary>
internal static unsafe class DotGemm<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static int Lanes => 64 / sizeof(T);

    /// <summary>Whether the problem takes this path (shape only): A not transposed, n ≤ L, k ≥ 4·L.</summary>
    internal static bool Applies(in GemmProblem<T> p) => !p.TransA && p.N <= Lanes && p.K >= 4 * Lanes;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma(Vector512<T> x, Vector512<T> y, Vector512<T> z)
    {
        if (typeof(T) == typeof(float)) return Avx512F.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        return Avx512F.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
    }

    /// <summary>op(B)ᵀ, row j = column j of op(B), with row stride ldbt: B itself when transposed, else B packed into
    /// the calling thread's buffer (valid until that thread packs again; a parallel call packs once and shares it).</summary>
    internal static T* PackedB(in GemmProblem<T> p, out nint ldbt)
    {
        int n = p.N, k = p.K;
        if (p.TransB) { ldbt = p.Ldb; return p.B; }
        T* bt = PackBuffer<T>.Get(n * k);                  // bt[j·k + p] = b[p·ldb + j]
        ldbt = k;
        for (int pp = 0; pp < k; pp++)
        {
            T* src = p.B + pp * p.Ldb;
            for (int j = 0; j < n; j++) bt[(nint)j * k + pp] = src[j];
        }
        return bt;
    }

    /// <summary>Rows [i0,i1) of C (all n columns) from op(B)ᵀ as <see cref="PackedB"/> gives it, with the widest path
    /// <paramref name="level"/> allows.</summary>
    internal static void Rows(in GemmProblem<T> p, int i0, int i1, SimdLevel level, T* bt, nint ldbt)
    {
        int n = p.N;
        if (level == SimdLevel.Avx512 && Avx512F.IsSupported && typeof(T) == typeof(float))
            DotGemmAvx512.Run(in Unsafe.As<GemmProblem<T>, GemmProblem<float>>(ref Unsafe.AsRef(in p)), i0, i1, (float*)bt, ldbt);
        else if (level == SimdLevel.Avx512 && Avx512F.IsSupported) RunAvx512(in p, i0, i1, bt, ldbt);
        else if (level != SimdLevel.Scalar && Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported) DotGemmAvx2<T>.Run(in p, i0, i1, bt, ldbt);
        else
            for (int i = i0; i < i1; i++)
                for (int j = 0; j < n; j++) OneScalar(in p, i, j, bt, ldbt);
    }

    private static void RunAvx512(in GemmProblem<T> p, int i0, int i1, T* bt, nint ldbt)
    {
        int n = p.N;
        int i = i0;
        for (; i + 4 <= i1; i += 4)
        {
            int j = 0;
            for (; j + 5 <= n; j += 5) Tile4x5(in p, i, j, bt, ldbt);
            for (; j < n; j++)
                for (int r = 0; r < 4; r++) One(in p, i + r, j, bt, ldbt);
        }
        for (; i < i1; i++)
            for (int j = 0; j < n; j++) One(in p, i, j, bt, ldbt);
    }

    /// <summary>C(i,j) from its L lane partials: fold, scalar FMA tail, then alpha·s + beta·C (C not read when beta = 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Finish(in GemmProblem<T> p, int i, int j, Span<T> lane, T* aRow, T* bCol) =>
        Finish(in p, i, j, CanonicalReduce.FoldLanes(lane), aRow, bCol);

    /// <summary>C(i,j) from its folded lanes s: scalar FMA tail, then alpha·s + beta·C (C not read when beta = 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Finish(in GemmProblem<T> p, int i, int j, T s, T* aRow, T* bCol)
    {
        int kMain = p.K - p.K % Lanes;
        for (int pp = kMain; pp < p.K; pp++) s = T.FusedMultiplyAdd(aRow[pp], bCol[pp], s);
        T* c = p.C + i * p.Ldc + j;
        *c = p.Beta == T.Zero ? p.Alpha * s : T.FusedMultiplyAdd(p.Alpha, s, p.Beta * *c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(in GemmProblem<T> p, int i, int j, Vector512<T> acc, T* aRow, T* bCol)
    {
        Span<T> lane = stackalloc T[Vector512<T>.Count];
        acc.CopyTo(lane);
        Finish(in p, i, j, lane, aRow, bCol);
    }

    /// <summary>Portable path: L scalar lanes.</summary>
    private static void OneScalar(in GemmProblem<T> p, int i, int j, T* bt, nint ldbt)
    {
        int w = Lanes, kMain = p.K - p.K % w;
        T* a = p.A + i * p.Lda;
        T* b = bt + j * ldbt;
        Span<T> lane = stackalloc T[w];
        lane.Clear();
        for (int pp = 0; pp < kMain; pp += w)
            for (int l = 0; l < w; l++) lane[l] = T.FusedMultiplyAdd(a[pp + l], b[pp + l], lane[l]);
        Finish(in p, i, j, lane, a, b);
    }

    private static void One(in GemmProblem<T> p, int i, int j, T* bt, nint ldbt)
    {
        int w = Vector512<T>.Count, kMain = p.K - p.K % w;
        T* a = p.A + i * p.Lda;
        T* b = bt + j * ldbt;
        var acc = Vector512<T>.Zero;
        for (int pp = 0; pp < kMain; pp += w) acc = Fma(Vector512.Load(a + pp), Vector512.Load(b + pp), acc);
        Finish(in p, i, j, acc, a, b);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x5(in GemmProblem<T> p, int i, int j, T* bt, nint ldbt)
    {
        int w = Vector512<T>.Count, kMain = p.K - p.K % w;
        T* a0 = p.A + i * p.Lda, a1 = a0 + p.Lda, a2 = a1 + p.Lda, a3 = a2 + p.Lda;
        T* b0 = bt + j * ldbt, b1 = b0 + ldbt, b2 = b1 + ldbt, b3 = b2 + ldbt, b4 = b3 + ldbt;
        Vector512<T> c00 = default, c01 = default, c02 = default, c03 = default, c04 = default;
        Vector512<T> c10 = default, c11 = default, c12 = default, c13 = default, c14 = default;
        Vector512<T> c20 = default, c21 = default, c22 = default, c23 = default, c24 = default;
        Vector512<T> c30 = default, c31 = default, c32 = default, c33 = default, c34 = default;
        for (int pp = 0; pp < kMain; pp += w)
        {
            var x0 = Vector512.Load(a0 + pp); var x1 = Vector512.Load(a1 + pp);
            var x2 = Vector512.Load(a2 + pp); var x3 = Vector512.Load(a3 + pp);
            var y = Vector512.Load(b0 + pp);
            c00 = Fma(x0, y, c00); c10 = Fma(x1, y, c10); c20 = Fma(x2, y, c20); c30 = Fma(x3, y, c30);
            y = Vector512.Load(b1 + pp);
            c01 = Fma(x0, y, c01); c11 = Fma(x1, y, c11); c21 = Fma(x2, y, c21); c31 = Fma(x3, y, c31);
            y = Vector512.Load(b2 + pp);
            c02 = Fma(x0, y, c02); c12 = Fma(x1, y, c12); c22 = Fma(x2, y, c22); c32 = Fma(x3, y, c32);
            y = Vector512.Load(b3 + pp);
            c03 = Fma(x0, y, c03); c13 = Fma(x1, y, c13); c23 = Fma(x2, y, c23); c33 = Fma(x3, y, c33);
            y = Vector512.Load(b4 + pp);
            c04 = Fma(x0, y, c04); c14 = Fma(x1, y, c14); c24 = Fma(x2, y, c24); c34 = Fma(x3, y, c34);
        }
        Finish(in p, i, j, c00, a0, b0); Finish(in p, i, j + 1, c01, a0, b1); Finish(in p, i, j + 2, c02, a0, b2);
        Finish(in p, i, j + 3, c03, a0, b3); Finish(in p, i, j + 4, c04, a0, b4);
        Finish(in p, i + 1, j, c10, a1, b0); Finish(in p, i + 1, j + 1, c11, a1, b1); Finish(in p, i + 1, j + 2, c12, a1, b2);
        Finish(in p, i + 1, j + 3, c13, a1, b3); Finish(in p, i + 1, j + 4, c14, a1, b4);
        Finish(in p, i + 2, j, c20, a2, b0); Finish(in p, i + 2, j + 1, c21, a2, b1); Finish(in p, i + 2, j + 2, c22, a2, b2);
        Finish(in p, i + 2, j + 3, c23, a2, b3); Finish(in p, i + 2, j + 4, c24, a2, b4);
        Finish(in p, i + 3, j, c30, a3, b0); Finish(in p, i + 3, j + 1, c31, a3, b1); Finish(in p, i + 3, j + 2, c32, a3, b2);
        Finish(in p, i + 3, j + 3, c33, a3, b3); Finish(in p, i + 3, j + 4, c34, a3, b4);
    }
}
