using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ActorTrainer.Kernels;

/// <summary>AVX-512F micro-kernel: 8 rows × two 512-bit vectors (8×32 float32, 8×16 float64); narrow variant 8 × one vector.</summary>
internal unsafe struct Avx512Kernel<T> : IMicroKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int MR => 8;
    public static int NR => 2 * Vector512<T>.Count;
    public static int NRNarrow => Vector512<T>.Count;
    public static bool IsSupported => Avx512F.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma(Vector512<T> x, Vector512<T> y, Vector512<T> z)
    {
        if (typeof(T) == typeof(float)) return Avx512F.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        return Avx512F.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
    }

    /// <summary>dst = alpha·x + beta·dst (dst not read when betaZero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(T* dst, Vector512<T> x, Vector512<T> va, Vector512<T> vb, bool betaZero)
    {
        if (betaZero) Vector512.Store(va * x, dst);
        else Vector512.Store(Fma(va, x, vb * Vector512.Load(dst)), dst);
    }

    /// <summary>row[0..W) = alpha·x0 + beta·row[0..W), row[W..2W) likewise with x1 (two Puts).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutRow(T* row, int w, Vector512<T> x0, Vector512<T> x1, Vector512<T> va, Vector512<T> vb, bool betaZero)
    {
        Put(row, x0, va, vb, betaZero);
        Put(row + w, x1, va, vb, betaZero);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    public static void Wide(int kc, T* a, nint rs, nint cs, T* b, T* c, nint ldc, int mr, int nr,
        T alpha, T beta, bool betaZero)
    {
        int W = Vector512<T>.Count;
        T* dst = c; nint ld = ldc;
        T* tmp = stackalloc T[8 * 2 * W];
        bool partial = mr != 8 || nr != 2 * W;
        if (partial)
        {
            if (!betaZero) TileCopy.Load(tmp, 2 * W, c, ldc, mr, nr);
            dst = tmp; ld = 2 * W;
        }
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        nint o1 = 1 * rs, o2 = 2 * rs, o3 = 3 * rs, o4 = 4 * rs, o5 = 5 * rs, o6 = 6 * rs, o7 = 7 * rs;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + W);
            var a0 = Vector512.Create(a[0]);
            c00 = Fma(a0, b0, c00);
            c01 = Fma(a0, b1, c01);
            var a1 = Vector512.Create(a[o1]);
            c10 = Fma(a1, b0, c10);
            c11 = Fma(a1, b1, c11);
            var a2 = Vector512.Create(a[o2]);
            c20 = Fma(a2, b0, c20);
            c21 = Fma(a2, b1, c21);
            var a3 = Vector512.Create(a[o3]);
            c30 = Fma(a3, b0, c30);
            c31 = Fma(a3, b1, c31);
            var a4 = Vector512.Create(a[o4]);
            c40 = Fma(a4, b0, c40);
            c41 = Fma(a4, b1, c41);
            var a5 = Vector512.Create(a[o5]);
            c50 = Fma(a5, b0, c50);
            c51 = Fma(a5, b1, c51);
            var a6 = Vector512.Create(a[o6]);
            c60 = Fma(a6, b0, c60);
            c61 = Fma(a6, b1, c61);
            var a7 = Vector512.Create(a[o7]);
            c70 = Fma(a7, b0, c70);
            c71 = Fma(a7, b1, c71);
            a += cs;
            b += 2 * W;
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        PutRow(dst + 0 * ld, W, c00, c01, va, vb, betaZero);
        PutRow(dst + 1 * ld, W, c10, c11, va, vb, betaZero);
        PutRow(dst + 2 * ld, W, c20, c21, va, vb, betaZero);
        PutRow(dst + 3 * ld, W, c30, c31, va, vb, betaZero);
        PutRow(dst + 4 * ld, W, c40, c41, va, vb, betaZero);
        PutRow(dst + 5 * ld, W, c50, c51, va, vb, betaZero);
        PutRow(dst + 6 * ld, W, c60, c61, va, vb, betaZero);
        PutRow(dst + 7 * ld, W, c70, c71, va, vb, betaZero);
        if (partial) TileCopy.Store(tmp, 2 * W, c, ldc, mr, nr);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    public static void Narrow(int kc, T* a, nint rs, nint cs, T* b, T* c, nint ldc, int mr, int nr,
        T alpha, T beta, bool betaZero)
    {
        int W = Vector512<T>.Count;
        T* dst = c; nint ld = ldc;
        T* tmp = stackalloc T[8 * 1 * W];
        bool partial = mr != 8 || nr != 1 * W;
        if (partial)
        {
            if (!betaZero) TileCopy.Load(tmp, 1 * W, c, ldc, mr, nr);
            dst = tmp; ld = 1 * W;
        }
        Vector512<T> c00 = default, c10 = default, c20 = default, c30 = default, c40 = default, c50 = default, c60 = default, c70 = default;
        nint o1 = 1 * rs, o2 = 2 * rs, o3 = 3 * rs, o4 = 4 * rs, o5 = 5 * rs, o6 = 6 * rs, o7 = 7 * rs;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var a0 = Vector512.Create(a[0]);
            c00 = Fma(a0, b0, c00);
            var a1 = Vector512.Create(a[o1]);
            c10 = Fma(a1, b0, c10);
            var a2 = Vector512.Create(a[o2]);
            c20 = Fma(a2, b0, c20);
            var a3 = Vector512.Create(a[o3]);
            c30 = Fma(a3, b0, c30);
            var a4 = Vector512.Create(a[o4]);
            c40 = Fma(a4, b0, c40);
            var a5 = Vector512.Create(a[o5]);
            c50 = Fma(a5, b0, c50);
            var a6 = Vector512.Create(a[o6]);
            c60 = Fma(a6, b0, c60);
            var a7 = Vector512.Create(a[o7]);
            c70 = Fma(a7, b0, c70);
            a += cs;
            b += 1 * W;
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        Put(dst + 0 * ld, c00, va, vb, betaZero);
        Put(dst + 1 * ld, c10, va, vb, betaZero);
        Put(dst + 2 * ld, c20, va, vb, betaZero);
        Put(dst + 3 * ld, c30, va, vb, betaZero);
        Put(dst + 4 * ld, c40, va, vb, betaZero);
        Put(dst + 5 * ld, c50, va, vb, betaZero);
        Put(dst + 6 * ld, c60, va, vb, betaZero);
        Put(dst + 7 * ld, c70, va, vb, betaZero);
        if (partial) TileCopy.Store(tmp, 1 * W, c, ldc, mr, nr);
    }

}
