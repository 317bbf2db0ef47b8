using ILGPU;

namespace ActorTrainer.Cuda.Blas;

/// <summary>cublasSgemm's argument rules, shared by every <see cref="IDeviceBlas"/> (so the ILGPU kernel and cuBLAS
/// refuse the same calls with the same messages) and by the row-major <see cref="DeviceGemm"/> façade.</summary>
internal static class SgemmArgs
{
    /// <summary>Elements a stored matrix spans: (lines−1)·ld + lineLength, 0 when empty (a line is a column in
    /// column-major storage, a row in row-major storage).</summary>
    internal static long Required(int lines, int lineLength, int ld) =>
        lines == 0 || lineLength == 0 ? 0 : (long)(lines - 1) * ld + lineLength;

    /// <summary>Throws <see cref="ArgumentException"/> (naming m, n, k, lda, ldb, ldc, a, b or c and its value) unless
    /// the column-major call is well formed for cublasSgemm: sizes ≥ 0, lda ≥ max(1, rows of stored A) (k when transA,
    /// else m), ldb ≥ max(1, rows of stored B) (n when transB, else k), ldc ≥ max(1, m), views long enough.</summary>
    internal static void Validate(bool transA, bool transB, int m, int n, int k, ArrayView<float> a, int lda,
        ArrayView<float> b, int ldb, ArrayView<float> c, int ldc) =>
        Check(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc, rowMajor: false);

    /// <summary>The same rules for the row-major call of <see cref="DeviceGemm.RowMajor"/> (ld ≥ max(1, columns of the
    /// stored matrix)), named in the caller's row-major terms.</summary>
    internal static void ValidateRowMajor(bool transA, bool transB, int m, int n, int k, ArrayView<float> a, int lda,
        ArrayView<float> b, int ldb, ArrayView<float> c, int ldc) =>
        Check(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc, rowMajor: true);

    private static void Check(bool transA, bool transB, int m, int n, int k, long aLength, int lda,
        long bLength, int ldb, long cLength, int ldc, bool rowMajor)
    {
        NonNegative(m, nameof(m), "rows of op(A) and C");
        NonNegative(n, nameof(n), "columns of op(B) and C");
        NonNegative(k, nameof(k), "the inner dimension");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        var layout = rowMajor ? "row-major" : "column-major";
        var line = rowMajor ? "columns" : "rows";
        LeadingDimension(lda, nameof(lda), rowMajor ? aCols : aRows, $"{line} of stored A, {aRows}x{aCols}, transA={transA}, {layout}");
        LeadingDimension(ldb, nameof(ldb), rowMajor ? bCols : bRows, $"{line} of stored B, {bRows}x{bCols}, transB={transB}, {layout}");
        LeadingDimension(ldc, nameof(ldc), rowMajor ? n : m, $"{line} of C, {m}x{n}, {layout}");
        if (m == 0 || n == 0) return; // nothing is read or written
        Length(aLength, "a", $"A ({aRows}x{aCols}, {layout}, lda={lda})", rowMajor ? Required(aRows, aCols, lda) : Required(aCols, aRows, lda));
        Length(bLength, "b", $"B ({bRows}x{bCols}, {layout}, ldb={ldb})", rowMajor ? Required(bRows, bCols, ldb) : Required(bCols, bRows, ldb));
        Length(cLength, "c", $"C ({m}x{n}, {layout}, ldc={ldc})", rowMajor ? Required(m, n, ldc) : Required(n, m, ldc));
    }

    private static void NonNegative(int value, string name, string what)
    {
        if (value < 0)
            throw new ArgumentOutOfRangeException(name, value, $"SGEMM: {name} ({what}) must be >= 0, got {value}.");
    }

    private static void LeadingDimension(int ld, string name, int minimum, string what)
    {
        if (ld < Math.Max(1, minimum))
            throw new ArgumentOutOfRangeException(name, ld, $"SGEMM: {name} must be >= max(1, {minimum}) ({what}), got {ld}.");
    }

    private static void Length(long length, string name, string stored, long need)
    {
        if (length < need)
            throw new ArgumentException($"SGEMM: view {name} has {length} elements but stored {stored} needs {need}.", name);
    }
}
