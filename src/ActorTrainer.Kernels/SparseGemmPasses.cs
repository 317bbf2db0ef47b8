using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ActorTrainer.Kernels;

/// <summary>The sparse kernel's pass over one k-block of B for a run of C's columns: how B's panels are packed (in one
/// pass over a long block's rows, or pass by pass for a short one) and which kernel takes each panel, pair or four
/// panels. Packing order never changes a product or a sum, so the bits are those of the dense path.</summary>
internal sealed unsafe partial class SparseGemm
{
    /// <summary>One k-block (rows pc … pc + kc of B) for columns [j0, j1) of C: per panel, pair or four panels, the
    /// rows with entries in `order`. A long k-block (kc &gt; <see cref="FourPanelMaxK"/>: weights, whose rows lie far
    /// apart) is packed first in one pass over its rows; a short one (a batch's rows) pass by pass, just before use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Chunk(in GemmProblem<float> p, Block block, float* packB, nint stride, int kcb, int pc, int kc, int j0, int j1,
                              int* order, int nonEmpty, bool avx512, bool fourPanels, bool twoPanels)
    {
        int m = p.M;
        bool sweep = kcb > FourPanelMaxK;
        if (sweep) PackBlock(p.B + pc * p.Ldb, p.Ldb, kc, j0, j1, packB, stride, block.Used, pc);
        for (int jc = j0; jc < j1; jc += Panel)
        {
            float* packed = sweep ? packB + (jc - j0) / Panel * stride : packB;   // a short block: one L1-sized place
            if (!sweep)
            {
                int g = fourPanels && j1 - jc >= 4 * Panel ? 4 : twoPanels && j1 - jc >= 2 * Panel ? 2 : 1;
                PackBlock(p.B + pc * p.Ldb, p.Ldb, kc, jc, Math.Min(j1, jc + g * Panel), packed, stride, block.Used, pc);
            }
            if (fourPanels && j1 - jc >= 4 * Panel)
            {
                FourPanels(in p, block, packed, kcb, pc, jc, order, nonEmpty);
                jc += 3 * Panel;
                continue;
            }
            if (twoPanels && j1 - jc >= 2 * Panel)
            {
                TwoPanels(in p, block, packed, kcb, pc, jc, order, nonEmpty);
                jc += Panel;
                continue;
            }
            int nw = Math.Min(Panel, j1 - jc);
            float* bp = packed - (nint)pc * Panel;   // entry offsets are column·32 from column 0
            float* c = p.C + jc;
            int i = 0;
            if (avx512)
                for (; i + 3 < nonEmpty; i += 4)
                    block.Quad512(order[i], order[i + 1], order[i + 2], order[i + 3], bp, c + order[i] * p.Ldc,
                                  c + order[i + 1] * p.Ldc, c + order[i + 2] * p.Ldc, c + order[i + 3] * p.Ldc, nw);
            for (; i + 1 < nonEmpty; i += 2) block.Pair(order[i], order[i + 1], bp, c + order[i] * p.Ldc, c + order[i + 1] * p.Ldc, nw);
            if (i < nonEmpty) block.Single(order[i], bp, c + order[i++] * p.Ldc, nw);
            for (; i < m; i++) block.Empty(c + order[i] * p.Ldc, nw);
        }
    }

    /// <summary>The k-block of B starting at row pc, columns [j0, j1), packed in one pass over its rows (each row read
    /// once, front to back, which the hardware prefetchers follow): panel q (columns j0 + 32q …) at dst + q·stride,
    /// dst[q·stride + p·32 + c] = B[p·ldb + j0 + 32q + c], zero past j1 — for the rows p whose column of op(A) has
    /// entries (used: <see cref="SparseRows.UsedColumns"/>, null = all); the other rows of dst keep what they held (no
    /// entry reads them).</summary>
    private static void PackBlock(float* b, nint ldb, int kc, int j0, int j1, float* dst, nint stride, byte* used, int pc)
    {
        int whole = (j1 - j0) / Panel, rest = (j1 - j0) % Panel;
        for (int pp = 0; pp < kc; pp++)
        {
            if (used != null && (used[(pc + pp) >> 3] & (1 << ((pc + pp) & 7))) == 0) continue;
            float* s = b + pp * ldb + j0, d = dst + pp * Panel;
            int q = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; q < whole; q++, s += Panel, d += stride)
                {
                    Vector256.Store(Vector256.Load(s), d);
                    Vector256.Store(Vector256.Load(s + 8), d + 8);
                    Vector256.Store(Vector256.Load(s + 16), d + 16);
                    Vector256.Store(Vector256.Load(s + 24), d + 24);
                }
            for (; q < whole; q++, s += Panel, d += stride)
                for (int c = 0; c < Panel; c++) d[c] = s[c];
            if (rest == 0) continue;
            for (int c = 0; c < rest; c++) d[c] = s[c];
            for (int c = rest; c < Panel; c++) d[c] = 0f;
        }
    }
}
