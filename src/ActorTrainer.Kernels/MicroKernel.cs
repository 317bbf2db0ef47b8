using System.Numerics;

namespace ActorTrainer.Kernels;

/// <summary>
/// A register-blocked GEMM micro-kernel: for an MR×w tile, acc = Σ_p A(r,p)·Bp[p,c] over kc steps, then
/// C(r,c) = alpha·acc + beta·C(r,c) (C not read when betaZero) for r &lt; mr, c &lt; nr.
/// A(r,p) is read at a[r·rs + p·cs]; B is a packed panel, row p at b[p·w] (w = NR or NRNarrow, zero padded).
/// Every lane performs the same FMA sequence, so results do not depend on where a tile sits.
/// </summary>
internal unsafe interface IMicroKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Rows per register tile.</summary>
    static abstract int MR { get; }
    /// <summary>Columns per (wide) packed B panel.</summary>
    static abstract int NR { get; }
    /// <summary>Width of the last B panel when the remaining columns fit in it (≤ NR).</summary>
    static abstract int NRNarrow { get; }
    /// <summary>Whether the CPU supports the instructions this kernel uses.</summary>
    static abstract bool IsSupported { get; }

    /// <summary>MR×NR tile (B panel stride NR).</summary>
    static abstract void Wide(int kc, T* a, nint rs, nint cs, T* b, T* c, nint ldc, int mr, int nr,
                              T alpha, T beta, bool betaZero);

    /// <summary>MR×NRNarrow tile (B panel stride NRNarrow).</summary>
    static abstract void Narrow(int kc, T* a, nint rs, nint cs, T* b, T* c, nint ldc, int mr, int nr,
                                T alpha, T beta, bool betaZero);
}

/// <summary>Helpers for the partial-tile path: copy the valid part of C into a dense temporary tile and back.</summary>
internal static unsafe class TileCopy
{
    /// <summary>tmp[r·w + j] = c[r·ldc + j] for r &lt; mr, j &lt; nr.</summary>
    internal static void Load<T>(T* tmp, int w, T* c, nint ldc, int mr, int nr) where T : unmanaged
    {
        for (int r = 0; r < mr; r++)
            for (int j = 0; j < nr; j++)
                tmp[r * w + j] = c[r * ldc + j];
    }

    /// <summary>c[r·ldc + j] = tmp[r·w + j] for r &lt; mr, j &lt; nr.</summary>
    internal static void Store<T>(T* tmp, int w, T* c, nint ldc, int mr, int nr) where T : unmanaged
    {
        for (int r = 0; r < mr; r++)
            for (int j = 0; j < nr; j++)
                c[r * ldc + j] = tmp[r * w + j];
    }
}
