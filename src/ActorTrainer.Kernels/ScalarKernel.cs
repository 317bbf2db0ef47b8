using System.Numerics;
using System.Runtime.CompilerServices;

namespace ActorTrainer.Kernels;

/// <summary>Portable scalar micro-kernel (4×4 tile, fused multiply-add per element); used without AVX2/AVX-512.</summary>
internal unsafe struct ScalarKernel<T> : IMicroKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int MR => 4;
    public static int NR => 4;
    public static int NRNarrow => 4;
    public static bool IsSupported => true;

    [SkipLocalsInit]
    public static void Wide(int kc, T* a, nint rs, nint cs, T* b, T* c, nint ldc, int mr, int nr,
                            T alpha, T beta, bool betaZero)
    {
        T* acc = stackalloc T[16];
        for (int i = 0; i < 16; i++) acc[i] = T.Zero;
        for (int p = 0; p < kc; p++)
        {
            for (int r = 0; r < 4; r++)
            {
                T ar = a[r * rs];
                for (int j = 0; j < 4; j++)
                    acc[r * 4 + j] = T.FusedMultiplyAdd(ar, b[j], acc[r * 4 + j]);
            }
            a += cs;
            b += 4;
        }
        for (int r = 0; r < mr; r++)
            for (int j = 0; j < nr; j++)
            {
                T* dst = c + r * ldc + j;
                *dst = betaZero ? alpha * acc[r * 4 + j] : T.FusedMultiplyAdd(alpha, acc[r * 4 + j], beta * *dst);
            }
    }

    public static void Narrow(int kc, T* a, nint rs, nint cs, T* b, T* c, nint ldc, int mr, int nr,
                              T alpha, T beta, bool betaZero) =>
        Wide(kc, a, rs, cs, b, c, ldc, mr, nr, alpha, beta, betaZero);
}
