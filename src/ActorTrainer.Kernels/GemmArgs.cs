using System.Runtime.CompilerServices;
namespace ActorTrainer.Kernels;

/// <summary>Argument checks shared by all GEMM providers (BLAS-style row-major conventions).</summary>
internal static class GemmArgs
{
    /// <summary>Minimum span length for a stored rows×cols matrix with row stride ld: (rows−1)·ld + cols, 0 if empty.</summary>
    internal static long Required(int rows, int cols, int ld) =>
        rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;

    /// <summary>Throws ArgumentException (naming m, n, k, a, lda, b, ldb, c or ldc) unless the call is well formed:
    /// sizes ≥ 0, ld ≥ max(1, stored columns), spans long enough for the stored matrices.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Validate(bool transA, bool transB, int m, int n, int k,
                                  int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), m, "GEMM: m (rows of op(A) and C) must be >= 0.");
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "GEMM: n (columns of op(B) and C) must be >= 0.");
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "GEMM: k (inner dimension) must be >= 0.");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        if (lda < Math.Max(1, aCols))
            throw new ArgumentOutOfRangeException(nameof(lda), lda,
                $"GEMM: lda must be >= max(1, {aCols}) (columns of stored A, {aRows}x{aCols}, transA={transA}).");
        if (ldb < Math.Max(1, bCols))
            throw new ArgumentOutOfRangeException(nameof(ldb), ldb,
                $"GEMM: ldb must be >= max(1, {bCols}) (columns of stored B, {bRows}x{bCols}, transB={transB}).");
        if (ldc < Math.Max(1, n))
            throw new ArgumentOutOfRangeException(nameof(ldc), ldc, $"GEMM: ldc must be >= max(1, n={n}) (columns of C).");
        long needA = Required(aRows, aCols, lda);
        if (aLength < needA)
            throw new ArgumentException(
                $"GEMM: span a has length {aLength} but stored A ({aRows}x{aCols}, lda={lda}) needs {needA} elements.", "a");
        long needB = Required(bRows, bCols, ldb);
        if (bLength < needB)
            throw new ArgumentException(
                $"GEMM: span b has length {bLength} but stored B ({bRows}x{bCols}, ldb={ldb}) needs {needB} elements.", "b");
        long needC = Required(m, n, ldc);
        if (cLength < needC)
            throw new ArgumentException(
                $"GEMM: span c has length {cLength} but C ({m}x{n}, ldc={ldc}) needs {needC} elements.", "c");
    }
}
