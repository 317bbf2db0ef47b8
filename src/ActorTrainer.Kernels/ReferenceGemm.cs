namespace ActorTrainer.Kernels;

/// <summary>Triple-loop GEMM (C = alpha·op(A)·op(B) + beta·C, row-major); slow, used only as a reference.</summary>
internal sealed class ReferenceGemm : IGemm
{
    public string Name => "reference";

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
                     ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
                     float beta, Span<float> c, int ldc)
    {
        GemmArgs.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
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
        GemmArgs.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
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
