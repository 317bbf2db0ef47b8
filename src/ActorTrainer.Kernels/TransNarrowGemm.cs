using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ActorTrainer.Kernels;

/// <summary>
/// AVX-512 float32 GEMM for transposed A and narrow C (n ≤ 16, the weight gradient hᵀ·g of a small output layer):
/// the panel kernels vectorise over C's n columns and use n of 16 lanes; here the lanes run over 16 rows of C, which
/// are contiguous in stored A (k×m), and up to five columns of op(B) are broadcast. Each element gets exactly the panel
/// path's arithmetic — per k-block (<see cref="GemmBlocking.KBlock"/>) an accumulator from +0 with one FMA per p in
/// increasing p, then C = alpha·acc (first block, beta = 0) or fma(alpha, acc, β·C) with β = beta for the first block
/// and 1 after — so the bits equal the panel path's on every instruction set. Rows past the last whole 32-row tile
/// go to the panel path itself.
/// </summary>
internal static unsafe class TransNarrowGemm
{
    private const int Tile = 32, Group = 5;

    /// <summary>Whether this kernel takes the problem: float32 at the AVX-512 level, A transposed, 1 ≤ n ≤ 16, m ≥ 32.</summary>
    internal static bool Applies<T>(in GemmProblem<T> p, SimdLevel level) where T : unmanaged =>
        typeof(T) == typeof(float) && level == SimdLevel.Avx512 && Avx512F.IsSupported && p.TransA && p.N <= 16 && p.M >= Tile;

    /// <summary>Rows [i0, i0 + 32·t) of C for the whole tiles in [i0, i1); returns the first row not computed.</summary>
    internal static int Rows(in GemmProblem<float> p, int i0, int i1)
    {
        int kcb = GemmBlocking.KBlock(p.K), i = i0;
        float* acc = stackalloc float[Group * Tile];
        for (; i + Tile <= i1; i += Tile)
            for (int j = 0; j < p.N; j += Group)
            {
                int cols = Math.Min(Group, p.N - j);
                for (int pc = 0; pc < p.K; pc += kcb)
                {
                    Block(in p, i, j, cols, pc, Math.Min(kcb, p.K - pc), acc);
                    Put(in p, i, j, cols, acc, pc == 0 ? p.Beta : 1f, pc == 0 && p.Beta == 0f);
                }
            }
        return i;
    }

    /// <summary>acc[c·32 + r] = Σ_{p in [pc, pc+kc)} A(p, i+r)·op(B)(p, j+c), one FMA per p from +0 (absent columns, c ≥ cols,
    /// repeat column j and are not stored).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    private static void Block(in GemmProblem<float> p, int i, int j, int cols, int pc, int kc, float* acc)
    {
        nint bStep = p.TransB ? 1 : p.Ldb, bCol = p.TransB ? p.Ldb : 1;       // op(B)(p, j) at B + p·bStep + j·bCol
        float* b = p.B + pc * bStep + j * bCol;
        nint o1 = cols > 1 ? bCol : 0, o2 = cols > 2 ? 2 * bCol : 0, o3 = cols > 3 ? 3 * bCol : 0, o4 = cols > 4 ? 4 * bCol : 0;
        float* a = p.A + pc * p.Lda + i;
        Vector512<float> x00 = default, x01 = default, x02 = default, x03 = default, x04 = default;
        Vector512<float> x10 = default, x11 = default, x12 = default, x13 = default, x14 = default;
        for (int q = 0; q < kc; q++)
        {
            var lo = Vector512.Load(a); var hi = Vector512.Load(a + 16);
            var y = Vector512.Create(b[0]);
            x00 = Avx512F.FusedMultiplyAdd(lo, y, x00); x10 = Avx512F.FusedMultiplyAdd(hi, y, x10);
            y = Vector512.Create(b[o1]);
            x01 = Avx512F.FusedMultiplyAdd(lo, y, x01); x11 = Avx512F.FusedMultiplyAdd(hi, y, x11);
            y = Vector512.Create(b[o2]);
            x02 = Avx512F.FusedMultiplyAdd(lo, y, x02); x12 = Avx512F.FusedMultiplyAdd(hi, y, x12);
            y = Vector512.Create(b[o3]);
            x03 = Avx512F.FusedMultiplyAdd(lo, y, x03); x13 = Avx512F.FusedMultiplyAdd(hi, y, x13);
            y = Vector512.Create(b[o4]);
            x04 = Avx512F.FusedMultiplyAdd(lo, y, x04); x14 = Avx512F.FusedMultiplyAdd(hi, y, x14);
            a += p.Lda;
            b += bStep;
        }
        x00.Store(acc); x10.Store(acc + 16); x01.Store(acc + 32); x11.Store(acc + 48); x02.Store(acc + 64);
        x12.Store(acc + 80); x03.Store(acc + 96); x13.Store(acc + 112); x04.Store(acc + 128); x14.Store(acc + 144);
    }

    /// <summary>C(i+r, j+c) = alpha·acc (betaZero) or fma(alpha, acc, beta·C), the micro-kernels' Put, per element.</summary>
    private static void Put(in GemmProblem<float> p, int i, int j, int cols, float* acc, float beta, bool betaZero)
    {
        float alpha = p.Alpha;
        if (betaZero && cols == Group)                  // the common case, unrolled
        {
            for (int r = 0; r < Tile; r++)
            {
                float* c = p.C + (i + r) * p.Ldc + j;
                c[0] = alpha * acc[r]; c[1] = alpha * acc[Tile + r]; c[2] = alpha * acc[2 * Tile + r];
                c[3] = alpha * acc[3 * Tile + r]; c[4] = alpha * acc[4 * Tile + r];
            }
            return;
        }
        for (int r = 0; r < Tile; r++)
        {
            float* c = p.C + (i + r) * p.Ldc + j;
            for (int q = 0; q < cols; q++)
            {
                float s = acc[q * Tile + r];
                c[q] = betaZero ? alpha * s : MathF.FusedMultiplyAdd(alpha, s, beta * c[q]);
            }
        }
    }
}
