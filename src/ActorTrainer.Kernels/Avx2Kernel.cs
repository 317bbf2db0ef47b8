using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ActorTrainer.Kernels;

/// <summary>AVX2+FMA micro-kernel: 6 rows × two 256-bit vectors (6×16 float32, 6×8 float64); narrow variant 6 × one vector.</summary>
internal unsafe struct Avx2Kernel<T> : IMicroKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int MR => 6;
    public static int NR => 2 * Vector256<T>.Count;
    public static int NRNarrow => Vector256<T>.Count;
    public static bool IsSupported => Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Fma(Vector256<T> x, Vector256<T> y, Vector256<T> z)
    {
        if (typeof(T) == typeof(float)) return System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        return System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
    }

    /// <summary>dst = alpha·x + beta·dst (dst not read when betaZero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(T* dst, Vector256<T> x, Vector256<T> va, Vector256<T> vb, bool betaZero)
    {
        if (betaZero) Vector256.Store(va * x, dst);
        else Vector256.Store(Fma(va, x, vb * Vector256.Load(dst)), dst);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    public static void Wide(int kc, T* a, nint rs, nint cs, T* b, T* c, nint ldc, int mr, int nr,
        T alpha, T beta, bool betaZero)
    {
        int W = Vector256<T>.Count;
        T* dst = c; nint ld = ldc;
        T* tmp = stackalloc T[6 * 2 * W];
        bool partial = mr != 6 || nr != 2 * W;
        if (partial)
        {
            if (!betaZero) TileCopy.Load(tmp, 2 * W, c, ldc, mr, nr);
            dst = tmp; ld = 2 * W;
        }
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        nint o1 = 1 * rs, o2 = 2 * rs, o3 = 3 * rs, o4 = 4 * rs, o5 = 5 * rs;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + W);
            var a0 = Vector256.Create(a[0]);
            c00 = Fma(a0, b0, c00);
            c01 = Fma(a0, b1, c01);
            var a1 = Vector256.Create(a[o1]);
            c10 = Fma(a1, b0, c10);
            c11 = Fma(a1, b1, c11);
            var a2 = Vector256.Create(a[o2]);
            c20 = Fma(a2, b0, c20);
            c21 = Fma(a2, b1, c21);
            var a3 = Vector256.Create(a[o3]);
            c30 = Fma(a3, b0, c30);
            c31 = Fma(a3, b1, c31);
            var a4 = Vector256.Create(a[o4]);
            c40 = Fma(a4, b0, c40);
            c41 = Fma(a4, b1, c41);
            var a5 = Vector256.Create(a[o5]);
            c50 = Fma(a5, b0, c50);
            c51 = Fma(a5, b1, c51);
            a += cs;
            b += 2 * W;
        }
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        Put(dst + 0 * ld, c00, va, vb, betaZero);
        Put(dst + 0 * ld + W, c01, va, vb, betaZero);
        Put(dst + 1 * ld, c10, va, vb, betaZero);
        Put(dst + 1 * ld + W, c11, va, vb, betaZero);
        Put(dst + 2 * ld, c20, va, vb, betaZero);
        Put(dst + 2 * ld + W, c21, va, vb, betaZero);
        Put(dst + 3 * ld, c30, va, vb, betaZero);
        Put(dst + 3 * ld + W, c31, va, vb, betaZero);
        Put(dst + 4 * ld, c40, va, vb, betaZero);
        Put(dst + 4 * ld + W, c41, va, vb, betaZero);
        Put(dst + 5 * ld, c50, va, vb, betaZero);
        Put(dst + 5 * ld + W, c51, va, vb, betaZero);
        if (partial) TileCopy.Store(tmp, 2 * W, c, ldc, mr, nr);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    public static void Narrow(int kc, T* a, nint rs, nint cs, T* b, T* c, nint ldc, int mr, int nr,
        T alpha, T beta, bool betaZero)
    {
        int W = Vector256<T>.Count;
        T* dst = c; nint ld = ldc;
        T* tmp = stackalloc T[6 * 1 * W];
        bool partial = mr != 6 || nr != 1 * W;
        if (partial)
        {
            if (!betaZero) TileCopy.Load(tmp, 1 * W, c, ldc, mr, nr);
            dst = tmp; ld = 1 * W;
        }
        Vector256<T> c00 = default, c10 = default, c20 = default, c30 = default, c40 = default, c50 = default;
        nint o1 = 1 * rs, o2 = 2 * rs, o3 = 3 * rs, o4 = 4 * rs, o5 = 5 * rs;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var a0 = Vector256.Create(a[0]);
            c00 = Fma(a0, b0, c00);
            var a1 = Vector256.Create(a[o1]);
            c10 = Fma(a1, b0, c10);
            var a2 = Vector256.Create(a[o2]);
            c20 = Fma(a2, b0, c20);
            var a3 = Vector256.Create(a[o3]);
            c30 = Fma(a3, b0, c30);
            var a4 = Vector256.Create(a[o4]);
            c40 = Fma(a4, b0, c40);
            var a5 = Vector256.Create(a[o5]);
            c50 = Fma(a5, b0, c50);
            a += cs;
            b += 1 * W;
        }
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        Put(dst + 0 * ld, c00, va, vb, betaZero);
        Put(dst + 1 * ld, c10, va, vb, betaZero);
        Put(dst + 2 * ld, c20, va, vb, betaZero);
        Put(dst + 3 * ld, c30, va, vb, betaZero);
        Put(dst + 4 * ld, c40, va, vb, betaZero);
        Put(dst + 5 * ld, c50, va, vb, betaZero);
        if (partial) TileCopy.Store(tmp, 1 * W, c, ldc, mr, nr);
    }

}
