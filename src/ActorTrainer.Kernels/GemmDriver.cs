using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace ActorTrainer.Kernels;

/// <summary>One GEMM call with pinned operands: C = alpha·op(A)·op(B) + beta·C, row-major, m×n×k.</summary>
internal unsafe struct GemmProblem<T> where T : unmanaged
{
    public T* A, B, C;
    public int M, N, K;
    public nint Lda, Ldb, Ldc;
    public bool TransA, TransB;
    public T Alpha, Beta;
}

/// <summary>Cache-blocking sizes (elements). k-blocking depends on k only, so results never depend on threading.</summary>
internal static class GemmBlocking
{
    /// <summary>Largest k-block (the B micro-panel kc×NR is meant to stay in L1). Part of the cross-machine
    /// determinism contract: every instruction set uses this one value, and changing it changes results (only the
    /// bench's tune mode does, for speed sweeps).</summary>
    internal static int KcMax = 256;
    /// <summary>Rows of A per L2 block (rounded up to whole MR-row panels: 132 for the AVX2 kernel's MR = 6, so that a
    /// batch of 128 rows is one block and its B panels are packed once into one buffer).</summary>
    internal static int McMax = 128;
    /// <summary>Columns of B packed per block.</summary>
    internal static int NcMax = 512;

    /// <summary>Balanced k-block: k split into ceil(k/KcMax) near-equal blocks; a function of k alone.</summary>
    internal static int KBlock(int k)
    {
        int blocks = (k + KcMax - 1) / KcMax;
        return (k + blocks - 1) / blocks;
    }
}

/// <summary>Per-thread, 64-byte aligned packing buffer on the pinned object heap (no per-call allocation).</summary>
internal static unsafe class PackBuffer<T> where T : unmanaged
{
    [ThreadStatic] private static T[]? s_array;
    [ThreadStatic] private static nint s_aligned;

    /// <summary>Pointer to at least <paramref name="length"/> elements, valid for the calling thread.</summary>
    internal static T* Get(int length)
    {
        T[]? arr = s_array;
        if (arr is null || arr.Length < length + 64 / sizeof(T))
        {
            arr = GC.AllocateUninitializedArray<T>(length + 64 / sizeof(T), pinned: true);
            nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(arr));
            s_aligned = (p + 63) & ~(nint)63;
            s_array = arr;
        }
        return (T*)s_aligned;
    }
}

/// <summary>
/// Goto/BLIS-style blocked GEMM over a rectangle [i0,i1)×[j0,j1) of C (all of k): B packed into NR-wide panels per
/// (k-block, column block), each panel packed just before its first use (it is still in L1 when the micro-kernel reads
/// it; with a single block of rows every panel is used once, so one panel buffer serves them all: one thread x·W1
/// 1.02–1.04×, dh·W1T 1.06×, xT·dh unchanged, bench/RESULTS.md 2026-12-05); full MR-row panels of A read in place
/// (strided), except transposed A reused by more than two B panels, which is packed into MR-row panels; partial tiles
/// go through the same micro-kernel with zero padding, so every element of C sees the same FMA sequence wherever its tile lies.
/// </summary>
internal static unsafe class GemmDriver<T, K>
    where T : unmanaged, IFloatingPointIeee754<T>
    where K : struct, IMicroKernel<T>
{
    /// <summary>Computes rows [i0,i1) and columns [j0,j1) of C; i0 is a multiple of MR, j0 of NR.</summary>
    internal static void Run(in GemmProblem<T> p, int i0, int i1, int j0, int j1)
    {
        int mrK = K.MR, nrK = K.NR, nnK = K.NRNarrow;
        int kcMax = GemmBlocking.KcMax;
        int ncMax = Math.Max(nrK, GemmBlocking.NcMax / nrK * nrK);
        int mcMax = (GemmBlocking.McMax + mrK - 1) / mrK * mrK;   // rounded up: 128 rows are one block for MR = 6 too
        T* packB = PackBuffer<T>.Get(kcMax * ncMax + mcMax * kcMax + mrK * kcMax);
        T* packA = packB + kcMax * ncMax;
        T* edgeA = packA + mcMax * kcMax;
        int k = p.K, n = p.N;
        int kcb = GemmBlocking.KBlock(k);
        bool oneRowBlock = i1 - i0 <= mcMax;

        for (int jc = j0; jc < j1; jc += ncMax)
        {
            int jEnd = Math.Min(j1, jc + ncMax);
            for (int pc = 0; pc < k; pc += kcb)
            {
                int kc = Math.Min(kcb, k - pc);
                bool first = pc == 0;
                T betaEff = first ? p.Beta : T.One;
                bool betaZero = first && p.Beta == T.Zero;
                for (int ic = i0; ic < i1; ic += mcMax)
                {
                    int mc = Math.Min(mcMax, i1 - ic);
                    // Transposed A is packed when many B panels reuse it; otherwise (and always for row-major A)
                    // full MR-row panels are read in place and only a partial last panel is packed.
                    bool packedA = p.TransA && jEnd - jc > 2 * nrK;
                    if (packedA) PackATrans(in p, ic, mc, pc, kc, packA);
                    else if (mc % mrK != 0) PackAEdge(in p, ic + mc / mrK * mrK, mc % mrK, pc, kc, edgeA);
                    T* bp = packB;
                    for (int j = jc; j < jEnd;)
                    {
                        int w = n - j <= nnK ? nnK : nrK;
                        int nw = Math.Min(w, jEnd - j);
                        if (ic == i0) PackBPanel(in p, pc, kc, j, w, nw, bp);   // packed just before its first use (hot in L1)
                        for (int ir = 0; ir < mc; ir += mrK)
                        {
                            int mr = Math.Min(mrK, mc - ir);
                            T* ap; nint rs, cs;
                            if (packedA) { ap = packA + (nint)ir * kc; rs = 1; cs = mrK; }
                            else if (mr == mrK && p.TransA) { ap = p.A + pc * p.Lda + ic + ir; rs = 1; cs = p.Lda; }
                            else if (mr == mrK) { ap = p.A + (ic + ir) * p.Lda + pc; rs = p.Lda; cs = 1; }
                            else { ap = edgeA; rs = 1; cs = mrK; }
                            T* cp = p.C + (ic + ir) * p.Ldc + j;
                            if (w == nrK) K.Wide(kc, ap, rs, cs, bp, cp, p.Ldc, mr, nw, p.Alpha, betaEff, betaZero);
                            else K.Narrow(kc, ap, rs, cs, bp, cp, p.Ldc, mr, nw, p.Alpha, betaEff, betaZero);
                        }
                        if (!oneRowBlock) bp += (nint)w * kc;   // one row block: each panel is used once, so one buffer serves all
                        j += w;
                    }
                }
            }
        }
    }

    /// <summary>d[0..n) = src[0..n), d[n..width) = 0 (one row of a packed panel, zero padded).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPadded(T* src, T* d, int n, int width)
    {
        int c = 0;
        for (; c + Vector<T>.Count <= n; c += Vector<T>.Count)
            Vector.Store(Vector.Load(src + c), d + c);
        for (; c < n; c++) d[c] = src[c];
        for (; c < width; c++) d[c] = T.Zero;
    }

    /// <summary>Packs op(B)[pc..pc+kc, j..j+nw) into one w-wide panel (row p at p·w), zero padded to w columns.</summary>
    private static void PackBPanel(in GemmProblem<T> p, int pc, int kc, int j, int w, int nw, T* dst)
    {
        if (!p.TransB)
        {
            for (int pp = 0; pp < kc; pp++)
                CopyPadded(p.B + (pc + pp) * p.Ldb + j, dst + (nint)pp * w, nw, w);
        }
        else if (typeof(T) == typeof(float) && Avx.IsSupported && nw == w && w % 8 == 0)
            PackBTransFloat((float*)(p.B + j * p.Ldb + pc), p.Ldb, kc, w, (float*)dst);
        else
        {
            for (int c = 0; c < nw; c++)
            {
                T* src = p.B + (j + c) * p.Ldb + pc;
                T* d = dst + c;
                for (int pp = 0; pp < kc; pp++) d[(nint)pp * w] = src[pp];
            }
            for (int c = nw; c < w; c++)
                for (int pp = 0; pp < kc; pp++) dst[(nint)pp * w + c] = T.Zero;
        }
    }

    /// <summary>Full float panel from Bᵀ storage: dst[p·w + c] = src[c·ldb + p] (c &lt; w, p &lt; kc), 8×8 AVX transposes.</summary>
    private static void PackBTransFloat(float* src, nint ldb, int kc, int w, float* dst)
    {
        int pp = 0;
        for (; pp + 8 <= kc; pp += 8)
        {
            for (int c = 0; c < w; c += 8)
            {
                float* s = src + c * ldb + pp;
                var r0 = Avx.LoadVector256(s); var r1 = Avx.LoadVector256(s + ldb);
                var r2 = Avx.LoadVector256(s + 2 * ldb); var r3 = Avx.LoadVector256(s + 3 * ldb);
                var r4 = Avx.LoadVector256(s + 4 * ldb); var r5 = Avx.LoadVector256(s + 5 * ldb);
                var r6 = Avx.LoadVector256(s + 6 * ldb); var r7 = Avx.LoadVector256(s + 7 * ldb);
                var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
                var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
                var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
                var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
                var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
                var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
                var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
                var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
                float* d = dst + (nint)pp * w + c;
                Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
                Avx.Store(d + w, Avx.Permute2x128(u1, u5, 0x20));
                Avx.Store(d + 2 * w, Avx.Permute2x128(u2, u6, 0x20));
                Avx.Store(d + 3 * w, Avx.Permute2x128(u3, u7, 0x20));
                Avx.Store(d + 4 * w, Avx.Permute2x128(u0, u4, 0x31));
                Avx.Store(d + 5 * w, Avx.Permute2x128(u1, u5, 0x31));
                Avx.Store(d + 6 * w, Avx.Permute2x128(u2, u6, 0x31));
                Avx.Store(d + 7 * w, Avx.Permute2x128(u3, u7, 0x31));
            }
        }
        for (; pp < kc; pp++)
            for (int c = 0; c < w; c++) dst[(nint)pp * w + c] = src[c * ldb + pp];
    }

    /// <summary>Packs op(A)[ic..ic+mc, pc..pc+kc) from A stored k×m (transA) into MR-row panels (p·MR + r), zero padded.</summary>
    private static void PackATrans(in GemmProblem<T> p, int ic, int mc, int pc, int kc, T* dst)
    {
        int mrK = K.MR;
        for (int ir = 0; ir < mc; ir += mrK)
        {
            int mr = Math.Min(mrK, mc - ir);
            T* panel = dst + (nint)ir * kc;
            for (int pp = 0; pp < kc; pp++)
                CopyPadded(p.A + (pc + pp) * p.Lda + ic + ir, panel + (nint)pp * mrK, mr, mrK);
        }
    }

    /// <summary>Packs the last, partial row panel (mr &lt; MR rows of op(A) from row i) into p·MR + r order, zero padded.</summary>
    private static void PackAEdge(in GemmProblem<T> p, int i, int mr, int pc, int kc, T* dst)
    {
        int mrK = K.MR;
        nint rs = p.TransA ? 1 : p.Lda, cs = p.TransA ? p.Lda : 1;
        T* src = p.TransA ? p.A + pc * p.Lda + i : p.A + i * p.Lda + pc;
        for (int pp = 0; pp < kc; pp++)
        {
            T* d = dst + (nint)pp * mrK;
            for (int r = 0; r < mr; r++) d[r] = src[r * rs + pp * cs];
            for (int r = mr; r < mrK; r++) d[r] = T.Zero;
        }
    }
}
