using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ActorTrainer.Kernels;

/// <summary>
/// AVX-512 float32 form of <see cref="DotGemm{T}"/>: 4×4 and 8×2 tiles of C, each C(i,j)'s 16 canonical lanes in one register,
/// and the 16 lane folds of a tile done together by a shuffle network (<see cref="Fold16"/>) that adds exactly the
/// pairs <see cref="CanonicalReduce"/>'s halving tree adds (lane j + lane j+8, then j+4, j+2, j+1) — the same bits as
/// the scalar and AVX2 forms, at a sixteenth of the folding instructions.
/// </summary>
internal static unsafe class DotGemmAvx512
{
    /// <summary>Rows [i0,i1) of C, 8 at a time: 4×4 tiles over groups of 3–4 columns, an 8×2 tile for the last 1–2
    /// (every tile keeps 16 accumulators busy); bt holds op(B)ᵀ (row j = column j of op(B)) with row stride ldbt.</summary>
    internal static void Run(in GemmProblem<float> p, int i0, int i1, float* bt, nint ldbt)
    {
        int n = p.N;
        for (int i = i0; i < i1; i += 8)
        {
            int rows = Math.Min(8, i1 - i), j = 0;
            for (; n - j >= 3; j += 4)
            {
                Tile4x4(in p, i, j, Math.Min(4, rows), Math.Min(4, n - j), bt, ldbt);
                if (rows > 4) Tile4x4(in p, i + 4, j, rows - 4, Math.Min(4, n - j), bt, ldbt);
            }
            if (j < n) Tile8x2(in p, i, j, rows, n - j, bt, ldbt);
        }
    }

    /// <summary>An rows×cols (≤ 4×4) tile; absent rows/columns reuse row/column 0 and are not stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x4(in GemmProblem<float> p, int i, int j, int rows, int cols, float* bt, nint ldbt)
    {
        int kMain = p.K - p.K % 16;
        float** a = stackalloc float*[4];
        float** b = stackalloc float*[4];
        Rows(in p, i, rows, a, 4);
        Columns(bt, ldbt, j, cols, b, 4);
        float* a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        for (int pp = 0; pp < kMain; pp += 16)
        {
            var x0 = Vector512.Load(a0 + pp); var x1 = Vector512.Load(a1 + pp);
            var x2 = Vector512.Load(a2 + pp); var x3 = Vector512.Load(a3 + pp);
            var y = Vector512.Load(b0 + pp);
            c00 = Avx512F.FusedMultiplyAdd(x0, y, c00); c10 = Avx512F.FusedMultiplyAdd(x1, y, c10);
            c20 = Avx512F.FusedMultiplyAdd(x2, y, c20); c30 = Avx512F.FusedMultiplyAdd(x3, y, c30);
            y = Vector512.Load(b1 + pp);
            c01 = Avx512F.FusedMultiplyAdd(x0, y, c01); c11 = Avx512F.FusedMultiplyAdd(x1, y, c11);
            c21 = Avx512F.FusedMultiplyAdd(x2, y, c21); c31 = Avx512F.FusedMultiplyAdd(x3, y, c31);
            y = Vector512.Load(b2 + pp);
            c02 = Avx512F.FusedMultiplyAdd(x0, y, c02); c12 = Avx512F.FusedMultiplyAdd(x1, y, c12);
            c22 = Avx512F.FusedMultiplyAdd(x2, y, c22); c32 = Avx512F.FusedMultiplyAdd(x3, y, c32);
            y = Vector512.Load(b3 + pp);
            c03 = Avx512F.FusedMultiplyAdd(x0, y, c03); c13 = Avx512F.FusedMultiplyAdd(x1, y, c13);
            c23 = Avx512F.FusedMultiplyAdd(x2, y, c23); c33 = Avx512F.FusedMultiplyAdd(x3, y, c33);
        }
        // argument m = 4c + r, so Fold16's element 4·(m mod 4) + m / 4 = 4r + c: C(i+r, j+c), row-major
        var sums = Fold16(c00, c10, c20, c30, c01, c11, c21, c31, c02, c12, c22, c32, c03, c13, c23, c33);
        Store(in p, i, j, rows, cols, 4, sums, a, b);
    }

    /// <summary>An rows×cols (≤ 8×2) tile, for the last one or two columns; absent rows/columns reuse row/column 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile8x2(in GemmProblem<float> p, int i, int j, int rows, int cols, float* bt, nint ldbt)
    {
        int kMain = p.K - p.K % 16;
        float** a = stackalloc float*[8];
        float** b = stackalloc float*[2];
        Rows(in p, i, rows, a, 8);
        Columns(bt, ldbt, j, cols, b, 2);
        float* a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4], a5 = a[5], a6 = a[6], a7 = a[7], b0 = b[0], b1 = b[1];
        Vector512<float> c00 = default, c10 = default, c20 = default, c30 = default, c40 = default, c50 = default, c60 = default, c70 = default;
        Vector512<float> c01 = default, c11 = default, c21 = default, c31 = default, c41 = default, c51 = default, c61 = default, c71 = default;
        for (int pp = 0; pp < kMain; pp += 16)
        {
            var y0 = Vector512.Load(b0 + pp); var y1 = Vector512.Load(b1 + pp);
            var x = Vector512.Load(a0 + pp); c00 = Avx512F.FusedMultiplyAdd(x, y0, c00); c01 = Avx512F.FusedMultiplyAdd(x, y1, c01);
            x = Vector512.Load(a1 + pp); c10 = Avx512F.FusedMultiplyAdd(x, y0, c10); c11 = Avx512F.FusedMultiplyAdd(x, y1, c11);
            x = Vector512.Load(a2 + pp); c20 = Avx512F.FusedMultiplyAdd(x, y0, c20); c21 = Avx512F.FusedMultiplyAdd(x, y1, c21);
            x = Vector512.Load(a3 + pp); c30 = Avx512F.FusedMultiplyAdd(x, y0, c30); c31 = Avx512F.FusedMultiplyAdd(x, y1, c31);
            x = Vector512.Load(a4 + pp); c40 = Avx512F.FusedMultiplyAdd(x, y0, c40); c41 = Avx512F.FusedMultiplyAdd(x, y1, c41);
            x = Vector512.Load(a5 + pp); c50 = Avx512F.FusedMultiplyAdd(x, y0, c50); c51 = Avx512F.FusedMultiplyAdd(x, y1, c51);
            x = Vector512.Load(a6 + pp); c60 = Avx512F.FusedMultiplyAdd(x, y0, c60); c61 = Avx512F.FusedMultiplyAdd(x, y1, c61);
            x = Vector512.Load(a7 + pp); c70 = Avx512F.FusedMultiplyAdd(x, y0, c70); c71 = Avx512F.FusedMultiplyAdd(x, y1, c71);
        }
        // argument m = 8(r mod 2) + 4c + r/2, so Fold16's element 4·(m mod 4) + m / 4 = 2r + c: row-major 8×2
        var sums = Fold16(c00, c20, c40, c60, c01, c21, c41, c61, c10, c30, c50, c70, c11, c31, c51, c71);
        Store(in p, i, j, rows, cols, 2, sums, a, b);
    }

    /// <summary>a[r] = row i + r of A for r &lt; rows, row i for the rest (computed, not stored).</summary>
    private static void Rows(in GemmProblem<float> p, int i, int rows, float** a, int count)
    {
        for (int r = 0; r < count; r++) a[r] = p.A + (i + (r < rows ? r : 0)) * p.Lda;
    }

    /// <summary>b[c] = column j + c of op(B) (row of bt) for c &lt; cols, column j for the rest.</summary>
    private static void Columns(float* bt, nint ldbt, int j, int cols, float** b, int count)
    {
        for (int c = 0; c < count; c++) b[c] = bt + (j + (c < cols ? c : 0)) * ldbt;
    }

    /// <summary>C(i+r, j+c) for r &lt; rows, c &lt; cols from sums[r·width + c]: alpha·s straight from the vector when
    /// there is no k tail and beta = 0 (the common case), otherwise <see cref="DotGemm{T}.Finish(in GemmProblem{T}, int, int, T, T*, T*)"/>
    /// per element; the same operations either way.</summary>
    private static void Store(in GemmProblem<float> p, int i, int j, int rows, int cols, int width, Vector512<float> sums, float** a, float** b)
    {
        float* s = stackalloc float[16];
        if (p.K % 16 == 0 && p.Beta == 0f)
        {
            (sums * p.Alpha).Store(s);
            for (int r = 0; r < rows; r++)
            {
                float* c = p.C + (i + r) * p.Ldc + j;
                for (int q = 0; q < cols; q++) c[q] = s[r * width + q];
            }
            return;
        }
        sums.Store(s);
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < cols; q++) DotGemm<float>.Finish(in p, i + r, j + q, s[r * width + q], a[r], b[q]);
    }

    /// <summary>The canonical folds of 16 lane vectors v0..v15 at once: element 4q + t of the result is
    /// FoldLanes(v[4t + q]). Level 1 adds lanes j and j+8 (two vectors per register), level 2 j and j+4, level 3 j and
    /// j+2, level 4 j and j+1 — each the same two values the scalar tree adds, so the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Fold16(
        Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7,
        Vector512<float> v8, Vector512<float> v9, Vector512<float> v10, Vector512<float> v11,
        Vector512<float> v12, Vector512<float> v13, Vector512<float> v14, Vector512<float> v15)
    {
        // level 1: [v(2k) lanes 0..7 | v(2k+1) lanes 0..7] + the same of lanes 8..15
        var s0 = Halves(v0, v1); var s1 = Halves(v2, v3); var s2 = Halves(v4, v5); var s3 = Halves(v6, v7);
        var s4 = Halves(v8, v9); var s5 = Halves(v10, v11); var s6 = Halves(v12, v13); var s7 = Halves(v14, v15);
        // level 2: 128-bit block b of t(m) holds v(4m + b) lanes 0..3 (+ lanes 4..7)
        var t0 = Quarters(s0, s1); var t1 = Quarters(s2, s3); var t2 = Quarters(s4, s5); var t3 = Quarters(s6, s7);
        // level 3: block b of u0 = [v(b) 0..1 | v(4+b) 0..1], of u1 = [v(8+b) | v(12+b)] (+ lanes 2..3)
        var u0 = Pairs(t0, t1); var u1 = Pairs(t2, t3);
        // level 4: block b = [v(b), v(4+b), v(8+b), v(12+b)] (lane 0 + lane 1)
        return Avx512F.Shuffle(u0, u1, 0x88) + Avx512F.Shuffle(u0, u1, 0xDD);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Halves(Vector512<float> x, Vector512<float> y) =>
        Avx512F.Shuffle4x128(x, y, 0x44) + Avx512F.Shuffle4x128(x, y, 0xEE);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Quarters(Vector512<float> x, Vector512<float> y) =>
        Avx512F.Shuffle4x128(x, y, 0x88) + Avx512F.Shuffle4x128(x, y, 0xDD);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pairs(Vector512<float> x, Vector512<float> y) =>
        Avx512F.UnpackLow(x.AsDouble(), y.AsDouble()).AsSingle() + Avx512F.UnpackHigh(x.AsDouble(), y.AsDouble()).AsSingle();
}
