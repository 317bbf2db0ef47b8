using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ActorTrainer.Kernels;

/// <summary>
/// float32 GEMM with a sparse left operand: C = alpha·op(A)·B + beta·C for row-major B (not transposed), computing
/// only the products of op(A)'s nonzeros (an input layer fed with images that are mostly zero pixels: x·W and
/// xᵀ·dh). Bit-identical to the dense path: every element of C gets the dense path's FMA sequence — per k-block an
/// accumulator from +0 in increasing p, then C = alpha·acc (first block, beta = 0) or fma(alpha, acc, β·C) — with
/// the terms whose A value is ±0 left out, which cannot change an FMA result (acc + (±0) = acc, and acc is never −0).
/// The one difference from dense: a zero in A does not multiply an Inf/NaN in B (as in sparse BLAS). Chosen per call
/// when op(A) has at most <see cref="MaxDensity"/> nonzeros, on every instruction set (the scalar path computes
/// the same sequence), so the choice never depends on the machine.
/// </summary>
internal sealed unsafe partial class SparseGemm : IParallelJob
{
    /// <summary>Largest fraction of nonzeros in op(A) for which the sparse path is used.</summary>
    internal static double MaxDensity = 0.3;

    /// <summary>Calls made on this thread that took the sparse path (tests check that the path they compare was taken).</summary>
    [ThreadStatic] internal static long Taken;

    /// <summary>When set on a thread, its calls take the dense path (tests compare the two paths' bits).</summary>
    [ThreadStatic] internal static bool DenseOnly;

    /// <summary>When set (1 or 2) on a thread, its AVX-512 calls take at most that many 32-column panels per pass, on
    /// every thread the call uses (step-profile measures the kernels side by side; the bits are the same); 0: the
    /// widest pass the shape allows.</summary>
    [ThreadStatic] internal static int PanelLimit;

    /// <summary>Largest op(A) (m·k elements) considered: bounds the per-thread buffer of nonzeros (≤ 40 MB).</summary>
    private const long MaxElements = 1L << 24;

    /// <summary>Columns of C per register tile (four 256-bit vectors).</summary>
    private const int Panel = 32;

    /// <summary>Largest k-block for which the AVX-512 path takes four panels (128 columns) per pass: their packed
    /// copy (kc·128 floats, 32 KB at 64) stays in L1. That is the k = batch-rows shape xᵀ·dh, whose rows have few
    /// entries each (a pixel is nonzero in ~12 of 64 images), so per-row costs (loop exit, stores) are what a wider
    /// pass spreads.</summary>
    private const int FourPanelMaxK = 64;

    /// <summary>Most 32-column panels of B packed in one pass over a long k-block's rows: 16 (512 columns, at most 512 KB
    /// packed) when one thread computes all of C's columns, 4 when several share them. Measured on the reference model's
    /// x·W1 (batch 64, W1 just rewritten by the optimizer), against packing each pass's panels alone: 0.80–0.83× the
    /// time on one thread with 16 (0.88–0.92× with 4), 0.93–0.96× on two threads with 4 (0.96–1.02× with 16), on the
    /// 512- and the 256-bit kernels (bench/RESULTS.md, 2026-12-05).</summary>
    private const int ChunkPanelsAlone = 16, ChunkPanelsShared = 4;

    [ThreadStatic] private static SparseGemm? t_job;
    private GemmProblem<float> _p;
    private SparseRows _rows = null!;
    private int _parts;
    private bool _avx512;
    private int _panels;

    /// <summary>Runs the problem on the sparse path and returns true, or returns false (nothing written) when the
    /// shape does not suit it or op(A) is too dense. Called only with m, n, k ≥ 1 and alpha ≠ 0; avx512 selects the
    /// 512-bit kernel (the caller's instruction-set level; the bits are the same either way).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool TryRun(in GemmProblem<float> p, int dop, bool avx512)
    {
        if (!KernelSettings.SparseOperands || DenseOnly || p.TransB || p.N < Panel || (long)p.M * p.K > MaxElements
            || (long)p.K * Panel > int.MaxValue || DotGemm<float>.Applies(in p)) return false;
        var rows = SparseRows.TryBuild(p.A, p.Lda, p.TransA, p.M, p.K, MaxDensity, Panel);
        if (rows is null) return false;
        Taken++;
        long nnz = rows.RowStart[p.M];
        int parts = (int)Math.Clamp(nnz * p.N / 65536, 1, Math.Min(Math.Min(dop, GemmWorkers.MaxParts), (p.N + Panel - 1) / Panel));
        var job = t_job ??= new SparseGemm();
        avx512 &= Avx512F.IsSupported;
        int panels = !avx512 ? 1 : PanelLimit is 1 or 2 ? PanelLimit : 4;   // read on the calling thread: the parts may run on others
        job._p = p; job._rows = rows; job._parts = parts; job._avx512 = avx512; job._panels = panels;
        bool ran = GemmWorkers.TryRun(job, parts);
        job._p = default; job._rows = null!;
        if (!ran) Columns(in p, rows, 0, p.N, avx512, panels, ChunkPanelsAlone);
        return true;
    }

    /// <summary>Part i of parts: a contiguous run of whole 32-column panels of C, all rows (each part packs only its
    /// own columns of B; the split never changes any element's computation).</summary>
    public void Run(int part)
    {
        int panels = (_p.N + Panel - 1) / Panel;
        int q0 = (int)((long)part * panels / _parts), q1 = (int)((long)(part + 1) * panels / _parts);
        Columns(in _p, _rows, q0 * Panel, Math.Min(_p.N, q1 * Panel), _avx512, _panels, _parts == 1 ? ChunkPanelsAlone : ChunkPanelsShared);
    }

    /// <summary>Columns [j0, j1) of C (j0 a multiple of 32), all rows: per k-block, per 32-column panel of B (packed,
    /// zero padded), rows in fours (avx512) and pairs of similar entry counts — or, with panels ≥ 2 (AVX-512), per
    /// pair of whole panels, rows in pairs over 64 columns (<see cref="TwoPanels"/>), and with panels = 4 for short
    /// k-blocks per four panels, one row at a time over 128 columns (<see cref="FourPanels"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns(in GemmProblem<float> p, SparseRows sr, int j0, int j1, bool avx512, int panels, int chunkPanels)
    {
        int m = p.M, kcb = GemmBlocking.KBlock(p.K);
        bool twoPanels = panels >= 2, fourPanels = panels >= 4 && kcb <= FourPanelMaxK;
        nint stride = (nint)kcb * Panel;   // floats per packed panel
        float* packB = PackBuffer<float>.Get(Math.Min((j1 - j0 + Panel - 1) / Panel, chunkPanels) * (int)stride);
        int[] cursor = Cursor(3 * m + kcb + 1);
        fixed (SparseRows.Entry* en = sr.Entries) fixed (int* start = sr.RowStart) fixed (int* cur = cursor) fixed (byte* used = sr.UsedColumns)
        {
            int* end = cur + m, order = cur + 2 * m, count = cur + 3 * m;
            for (int r = 0; r < m; r++) cur[r] = start[r];
            for (int pc = 0; pc < p.K; pc += kcb)
            {
                int kc = Math.Min(kcb, p.K - pc);
                for (int r = 0; r < m; r++)
                {
                    int e = cur[r], stop = start[r + 1];
                    while (e < stop && en[e].Offset < (pc + kc) * Panel) e++;
                    end[r] = e;
                }
                int nonEmpty = ByLength(cur, end, m, kc, order, count);
                bool first = pc == 0;
                var block = new Block(en, cur, end, first ? p.Beta : 1f, first && p.Beta == 0f, p.Alpha, used);
                for (int cj = j0; cj < j1; cj += chunkPanels * Panel)
                    Chunk(in p, block, packB, stride, kcb, pc, kc, cj, Math.Min(j1, cj + chunkPanels * Panel), order, nonEmpty, avx512, fourPanels, twoPanels);
                for (int r = 0; r < m; r++) cur[r] = end[r];
            }
        }
    }

    /// <summary>order = the rows sorted by their entry count in this k-block (end − cur, 0 … kc), longest first
    /// (a stable counting sort), so that the two rows of a pair have about as many entries — the pair kernel's
    /// interleaved loop runs to the shorter one's end; returns how many rows have entries. count: kc + 1 ints of
    /// scratch.</summary>
    private static int ByLength(int* cur, int* end, int m, int kc, int* order, int* count)
    {
        new Span<int>(count, kc + 1).Clear();
        for (int r = 0; r < m; r++) count[kc - (end[r] - cur[r])]++;
        int empty = count[kc];
        for (int key = 0, at = 0; key <= kc; key++) { int n = count[key]; count[key] = at; at += n; }
        for (int r = 0; r < m; r++) order[count[kc - (end[r] - cur[r])]++] = r;
        return m - empty;
    }

    [ThreadStatic] private static int[]? t_cursor;
    private static int[] Cursor(int n) => t_cursor is { } c && c.Length >= n ? c : t_cursor = new int[n];

    /// <summary>One k-block's entries of every row (cur[r] ≤ e &lt; end[r]) and how a block's sums enter C.</summary>
    private readonly partial struct Block
    {
        private readonly SparseRows.Entry* en;
        private readonly int* cur, end;
        private readonly float beta, alpha;
        private readonly bool betaZero;

        /// <summary>The columns of op(A) with entries (<see cref="SparseRows.UsedColumns"/>; null = all).</summary>
        public readonly byte* Used;

        public Block(SparseRows.Entry* en, int* cur, int* end, float beta, bool betaZero, float alpha, byte* used)
        {
            Used = used;
            this.en = en; this.cur = cur; this.end = end;
            this.beta = beta; this.betaZero = betaZero; this.alpha = alpha;
        }

        /// <summary>Rows ra and rb, 32 columns: two FMA chains interleaved (8 accumulators in flight) while both have
        /// entries, then each row's rest (with rows sorted by length, rb's rest is empty: the JIT keeps ra's tail in
        /// registers but not rb's).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
        public void Pair(int ra, int rb, float* bp, float* c0, float* c1, int nw)
        {
            if (!Fma.IsSupported) { Scalar(ra, bp, c0, nw); Scalar(rb, bp, c1, nw); return; }
            int ea = cur[ra], sa = end[ra], eb = cur[rb], sb = end[rb];
            SparseRows.Entry* en = this.en;   // a local: enregistered in the loop
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
            for (; ea < sa && eb < sb; ea++, eb++)
            {
                var va = Vector256.Create(en[ea].Value);
                float* pa = bp + en[ea].Offset;
                var vb = Vector256.Create(en[eb].Value);
                float* pb = bp + en[eb].Offset;
                a0 = Fma.MultiplyAdd(va, Vector256.Load(pa), a0);
                b0 = Fma.MultiplyAdd(vb, Vector256.Load(pb), b0);
                a1 = Fma.MultiplyAdd(va, Vector256.Load(pa + 8), a1);
                b1 = Fma.MultiplyAdd(vb, Vector256.Load(pb + 8), b1);
                a2 = Fma.MultiplyAdd(va, Vector256.Load(pa + 16), a2);
                b2 = Fma.MultiplyAdd(vb, Vector256.Load(pb + 16), b2);
                a3 = Fma.MultiplyAdd(va, Vector256.Load(pa + 24), a3);
                b3 = Fma.MultiplyAdd(vb, Vector256.Load(pb + 24), b3);
            }
            Chain(en, ea, sa, bp, ref a0, ref a1, ref a2, ref a3);
            Chain(en, eb, sb, bp, ref b0, ref b1, ref b2, ref b3);
            Put(c0, nw, a0, a1, a2, a3);
            Put(c1, nw, b0, b1, b2, b3);
        }

        /// <summary>A row without entries in this k-block: its accumulator is +0. Fully optimized from its first call
        /// (as its callers are): at tier 0 Put and its vector stores were calls (~1 % of a training run's CPU).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
        public void Empty(float* c, int nw)
        {
            if (!Fma.IsSupported)
            {
                float* t = stackalloc float[Panel];
                new Span<float>(t, Panel).Clear();
                PutScalar(c, nw, t);
                return;
            }
            var z = Vector256<float>.Zero;
            Put(c, nw, z, z, z, z);
        }

        /// <summary>Row r alone (the last of an odd number of rows with entries); fully optimized from its first call.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Single(int r, float* bp, float* c, int nw)
        {
            if (!Fma.IsSupported) { Scalar(r, bp, c, nw); return; }
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Chain(en, cur[r], end[r], bp, ref a0, ref a1, ref a2, ref a3);
            Put(c, nw, a0, a1, a2, a3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Chain(SparseRows.Entry* en, int e, int stop, float* bp, ref Vector256<float> a0, ref Vector256<float> a1,
                           ref Vector256<float> a2, ref Vector256<float> a3)
        {
            for (; e < stop; e++)
            {
                var v = Vector256.Create(en[e].Value);
                float* pb = bp + en[e].Offset;
                a0 = Fma.MultiplyAdd(v, Vector256.Load(pb), a0);
                a1 = Fma.MultiplyAdd(v, Vector256.Load(pb + 8), a1);
                a2 = Fma.MultiplyAdd(v, Vector256.Load(pb + 16), a2);
                a3 = Fma.MultiplyAdd(v, Vector256.Load(pb + 24), a3);
            }
        }

        /// <summary>C[0..nw) = alpha·acc (betaZero) or fma(alpha, acc, beta·C), the dense micro-kernels' formula.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Put(float* c, int nw, Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3)
        {
            if (nw == Panel)
            {
                var va = Vector256.Create(alpha);
                if (betaZero)
                {
                    Vector256.Store(va * x0, c); Vector256.Store(va * x1, c + 8);
                    Vector256.Store(va * x2, c + 16); Vector256.Store(va * x3, c + 24);
                }
                else
                {
                    var vb = Vector256.Create(beta);
                    Vector256.Store(Fma.MultiplyAdd(va, x0, vb * Vector256.Load(c)), c);
                    Vector256.Store(Fma.MultiplyAdd(va, x1, vb * Vector256.Load(c + 8)), c + 8);
                    Vector256.Store(Fma.MultiplyAdd(va, x2, vb * Vector256.Load(c + 16)), c + 16);
                    Vector256.Store(Fma.MultiplyAdd(va, x3, vb * Vector256.Load(c + 24)), c + 24);
                }
                return;
            }
            PutPartial(c, nw, x0, x1, x2, x3);
        }

        [SkipLocalsInit]
        private void PutPartial(float* c, int nw, Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3)
        {
            float* t = stackalloc float[Panel];
            Vector256.Store(x0, t); Vector256.Store(x1, t + 8); Vector256.Store(x2, t + 16); Vector256.Store(x3, t + 24);
            PutScalar(c, nw, t);
        }

        private void PutScalar(float* c, int nw, float* acc)
        {
            var va = Vector256.Create(alpha);
            int j = 0;
            if (Fma.IsSupported)
            {
                var vb = Vector256.Create(beta);
                for (; j + 8 <= nw; j += 8)
                {
                    var x = Vector256.Load(acc + j);
                    Vector256.Store(betaZero ? va * x : Fma.MultiplyAdd(va, x, vb * Vector256.Load(c + j)), c + j);
                }
            }
            for (; j < nw; j++) c[j] = betaZero ? alpha * acc[j] : MathF.FusedMultiplyAdd(alpha, acc[j], beta * c[j]);
        }

        /// <summary>Without FMA instructions: the same sequence, one element at a time.</summary>
        private void Scalar(int r, float* bp, float* c, int nw)
        {
            float* acc = stackalloc float[Panel];
            for (int j = 0; j < Panel; j++) acc[j] = 0f;
            for (int e = cur[r]; e < end[r]; e++)
            {
                float v = en[e].Value;
                float* pb = bp + en[e].Offset;
                for (int j = 0; j < nw; j++) acc[j] = MathF.FusedMultiplyAdd(v, pb[j], acc[j]);
            }
            PutScalar(c, nw, acc);
        }
    }
}
