namespace ActorTrainer.Kernels;

/// <summary>
/// A general matrix multiply provider: C = alpha·op(A)·op(B) + beta·C, all matrices row-major.
/// op(A) is m×k (A stored k×m when <c>transA</c>), op(B) is k×n (B stored n×k when <c>transB</c>);
/// lda/ldb/ldc are the row strides (elements) of the stored matrices.
/// Contract: results are bit-identical for any degree of parallelism (work is split over rows/columns of C,
/// never over k), so training is reproducible on any number of cores. When beta == 0, C is not read
/// (NaN/garbage in C does not propagate). m, n or k may be 0.
/// </summary>
public interface IGemm
{
    /// <summary>Provider name, as shown in benchmarks and configuration (e.g. "managed", "mathnet").</summary>
    string Name { get; }

    /// <summary>float32 C = alpha·op(A)·op(B) + beta·C (row-major; op(A) m×k, op(B) k×n, C m×n).</summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
              ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
              float beta, Span<float> c, int ldc);

    /// <summary>float64 C = alpha·op(A)·op(B) + beta·C (row-major; op(A) m×k, op(B) k×n, C m×n).</summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
              ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb,
              double beta, Span<double> c, int ldc);
}

/// <summary>Process-wide kernel settings.</summary>
public static class KernelSettings
{
    private static int _maxDop = Environment.ProcessorCount;

    /// <summary>Maximum number of threads a single kernel call may use (≥ 1). Default: number of cores.</summary>
    public static int MaxDegreeOfParallelism
    {
        get => _maxDop;
        set => _maxDop = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "MaxDegreeOfParallelism must be >= 1");
    }
}
