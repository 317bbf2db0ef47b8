using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ActorTrainer.Kernels;

/// <summary>The AVX-512 form of the sparse kernel: the passes over two and four panels, and four rows at a time, each
/// row's 32 columns in two 512-bit accumulators (eight FMA chains in flight, as the AVX2 pair kernel keeps with 256-bit
/// ones, at twice the width). Every element still gets its row's entries in increasing p, one FMA each — the same bits
/// as the AVX2 and scalar forms.</summary>
internal sealed unsafe partial class SparseGemm
{
    /// <summary>Two whole 32-column panels of C at jc (AVX-512; packed at packB and packB + kcb·32), rows in pairs over all 64 columns —
    /// each entry's offset and value loaded once for four 512-bit FMAs (the one-panel kernels load them for two, and
    /// are bound by loads); the same FMA chain for every element, so the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TwoPanels(in GemmProblem<float> p, Block block, float* packB, int kcb, int pc, int jc, int* order, int nonEmpty)
    {
        float* packB2 = packB + (nint)kcb * Panel;
        float* bp = packB - (nint)pc * Panel, bq = packB2 - (nint)pc * Panel;
        float* c = p.C + jc;
        int i = 0;
        for (; i + 1 < nonEmpty; i += 2) block.Pair64(order[i], order[i + 1], bp, bq, c + order[i] * p.Ldc, c + order[i + 1] * p.Ldc);
        if (i < nonEmpty) block.Single64(order[i], bp, bq, c + order[i++] * p.Ldc);
        for (; i < p.M; i++)
        {
            block.Empty(c + order[i] * p.Ldc, Panel);
            block.Empty(c + order[i] * p.Ldc + Panel, Panel);
        }
    }

    /// <summary>Four whole 32-column panels of C at jc (AVX-512, kc ≤ <see cref="FourPanelMaxK"/>; packed at packB +
    /// q·kcb·32), each row with entries alone over 128 columns — eight 512-bit FMA chains, enough to keep both FMA ports
    /// busy without pairing rows, and one loop per row instead of a pair's three; the same FMA chain for every
    /// element, so the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FourPanels(in GemmProblem<float> p, Block block, float* packB, int kcb, int pc, int jc, int* order, int nonEmpty)
    {
        float* b0 = packB - (nint)pc * Panel;
        nint stride = (nint)kcb * Panel;
        float* c = p.C + jc;
        int i = 0;
        for (; i < nonEmpty; i++) block.Single128(order[i], b0, b0 + stride, b0 + 2 * stride, b0 + 3 * stride, c + order[i] * p.Ldc);
        for (; i < p.M; i++)
            for (int q = 0; q < 4; q++) block.Empty(c + order[i] * p.Ldc + q * Panel, Panel);
    }

    private readonly partial struct Block
    {
        /// <summary>Rows ra, rb, rc, rd (entry counts in this k-block not increasing), 32 columns: the four chains
        /// interleaved while all four rows have entries, then ra and rb interleaved, then each row's rest.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
        public void Quad512(int ra, int rb, int rc, int rd, float* bp, float* ca, float* cb, float* cc, float* cd, int nw)
        {
            int ea = cur[ra], eb = cur[rb], ec = cur[rc], ed = cur[rd], sd = end[rd];
            SparseRows.Entry* en = this.en;
            Vector512<float> a0 = default, a1 = default, b0 = default, b1 = default;
            Vector512<float> c0 = default, c1 = default, d0 = default, d1 = default;
            for (; ed < sd; ea++, eb++, ec++, ed++)
            {
                var va = Vector512.Create(en[ea].Value); float* pa = bp + en[ea].Offset;
                var vb = Vector512.Create(en[eb].Value); float* pb = bp + en[eb].Offset;
                var vc = Vector512.Create(en[ec].Value); float* pc = bp + en[ec].Offset;
                var vd = Vector512.Create(en[ed].Value); float* pd = bp + en[ed].Offset;
                a0 = Avx512F.FusedMultiplyAdd(va, Vector512.Load(pa), a0);
                b0 = Avx512F.FusedMultiplyAdd(vb, Vector512.Load(pb), b0);
                c0 = Avx512F.FusedMultiplyAdd(vc, Vector512.Load(pc), c0);
                d0 = Avx512F.FusedMultiplyAdd(vd, Vector512.Load(pd), d0);
                a1 = Avx512F.FusedMultiplyAdd(va, Vector512.Load(pa + 16), a1);
                b1 = Avx512F.FusedMultiplyAdd(vb, Vector512.Load(pb + 16), b1);
                c1 = Avx512F.FusedMultiplyAdd(vc, Vector512.Load(pc + 16), c1);
                d1 = Avx512F.FusedMultiplyAdd(vd, Vector512.Load(pd + 16), d1);
            }
            int sa = end[ra], sb = end[rb];
            for (; ea < sa && eb < sb; ea++, eb++)
            {
                var va = Vector512.Create(en[ea].Value); float* pa = bp + en[ea].Offset;
                var vb = Vector512.Create(en[eb].Value); float* pb = bp + en[eb].Offset;
                a0 = Avx512F.FusedMultiplyAdd(va, Vector512.Load(pa), a0);
                b0 = Avx512F.FusedMultiplyAdd(vb, Vector512.Load(pb), b0);
                a1 = Avx512F.FusedMultiplyAdd(va, Vector512.Load(pa + 16), a1);
                b1 = Avx512F.FusedMultiplyAdd(vb, Vector512.Load(pb + 16), b1);
            }
            Chain512(en, ea, sa, bp, ref a0, ref a1);
            Chain512(en, eb, sb, bp, ref b0, ref b1);
            Chain512(en, ec, end[rc], bp, ref c0, ref c1);
            Put512(ca, nw, a0, a1); Put512(cb, nw, b0, b1); Put512(cc, nw, c0, c1); Put512(cd, nw, d0, d1);
        }

        /// <summary>Rows ra and rb (entry counts not increasing), 64 columns in two packed panels bp and bq: four
        /// 512-bit accumulators per row, the two chains interleaved while both rows have entries.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
        public void Pair64(int ra, int rb, float* bp, float* bq, float* ca, float* cb)
        {
            int ea = cur[ra], sa = end[ra], eb = cur[rb], sb = end[rb];
            SparseRows.Entry* en = this.en;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
            for (; ea < sa && eb < sb; ea++, eb++)
            {
                var va = Vector512.Create(en[ea].Value); int oa = en[ea].Offset;
                var vb = Vector512.Create(en[eb].Value); int ob = en[eb].Offset;
                a0 = Avx512F.FusedMultiplyAdd(va, Vector512.Load(bp + oa), a0);
                b0 = Avx512F.FusedMultiplyAdd(vb, Vector512.Load(bp + ob), b0);
                a1 = Avx512F.FusedMultiplyAdd(va, Vector512.Load(bp + oa + 16), a1);
                b1 = Avx512F.FusedMultiplyAdd(vb, Vector512.Load(bp + ob + 16), b1);
                a2 = Avx512F.FusedMultiplyAdd(va, Vector512.Load(bq + oa), a2);
                b2 = Avx512F.FusedMultiplyAdd(vb, Vector512.Load(bq + ob), b2);
                a3 = Avx512F.FusedMultiplyAdd(va, Vector512.Load(bq + oa + 16), a3);
                b3 = Avx512F.FusedMultiplyAdd(vb, Vector512.Load(bq + ob + 16), b3);
            }
            Chain64(en, ea, sa, bp, bq, ref a0, ref a1, ref a2, ref a3);
            Chain64(en, eb, sb, bp, bq, ref b0, ref b1, ref b2, ref b3);
            Put512(ca, Panel, a0, a1); Put512(ca + Panel, Panel, a2, a3);
            Put512(cb, Panel, b0, b1); Put512(cb + Panel, Panel, b2, b3);
        }

        /// <summary>Row r alone over the two panels (the last of an odd number of rows with entries).</summary>
        public void Single64(int r, float* bp, float* bq, float* c)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Chain64(en, cur[r], end[r], bp, bq, ref a0, ref a1, ref a2, ref a3);
            Put512(c, Panel, a0, a1); Put512(c + Panel, Panel, a2, a3);
        }

        /// <summary>Row r alone over four packed panels (128 columns): eight 512-bit accumulators, one chain each.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
        public void Single128(int r, float* b0, float* b1, float* b2, float* b3, float* c)
        {
            int e = cur[r], stop = end[r];
            SparseRows.Entry* en = this.en;
            Vector512<float> x0 = default, x1 = default, x2 = default, x3 = default;
            Vector512<float> x4 = default, x5 = default, x6 = default, x7 = default;
            for (; e < stop; e++)
            {
                var v = Vector512.Create(en[e].Value);
                int o = en[e].Offset;
                Fma64(v, o, b0, b1, ref x0, ref x1, ref x2, ref x3);
                Fma64(v, o, b2, b3, ref x4, ref x5, ref x6, ref x7);
            }
            Put512(c, Panel, x0, x1); Put512(c + Panel, Panel, x2, x3);
            Put512(c + 2 * Panel, Panel, x4, x5); Put512(c + 3 * Panel, Panel, x6, x7);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Chain64(SparseRows.Entry* en, int e, int stop, float* bp, float* bq, ref Vector512<float> x0,
                                    ref Vector512<float> x1, ref Vector512<float> x2, ref Vector512<float> x3)
        {
            for (; e < stop; e++) Fma64(Vector512.Create(en[e].Value), en[e].Offset, bp, bq, ref x0, ref x1, ref x2, ref x3);
        }

        /// <summary>One entry (value v, offset o) into 64 columns: x0, x1 += v·bp[o..o+32); x2, x3 += v·bq[o..o+32).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Fma64(Vector512<float> v, int o, float* bp, float* bq, ref Vector512<float> x0,
                                  ref Vector512<float> x1, ref Vector512<float> x2, ref Vector512<float> x3)
        {
            x0 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(bp + o), x0);
            x1 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(bp + o + 16), x1);
            x2 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(bq + o), x2);
            x3 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(bq + o + 16), x3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Chain512(SparseRows.Entry* en, int e, int stop, float* bp, ref Vector512<float> x0, ref Vector512<float> x1)
        {
            for (; e < stop; e++)
            {
                var v = Vector512.Create(en[e].Value);
                float* pb = bp + en[e].Offset;
                x0 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(pb), x0);
                x1 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(pb + 16), x1);
            }
        }

        /// <summary>C[0..nw) = alpha·acc (betaZero) or fma(alpha, acc, beta·C), as <see cref="Put"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Put512(float* c, int nw, Vector512<float> x0, Vector512<float> x1)
        {
            if (nw != Panel)
            {
                PutPartial(c, nw, x0.GetLower(), x0.GetUpper(), x1.GetLower(), x1.GetUpper());
                return;
            }
            var va = Vector512.Create(alpha);
            if (betaZero)
            {
                Vector512.Store(va * x0, c);
                Vector512.Store(va * x1, c + 16);
                return;
            }
            var vb = Vector512.Create(beta);
            Vector512.Store(Avx512F.FusedMultiplyAdd(va, x0, vb * Vector512.Load(c)), c);
            Vector512.Store(Avx512F.FusedMultiplyAdd(va, x1, vb * Vector512.Load(c + 16)), c + 16);
        }
    }
}
