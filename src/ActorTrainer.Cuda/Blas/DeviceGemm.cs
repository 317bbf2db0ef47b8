using ILGPU;

namespace ActorTrainer.Cuda.Blas;

/// <summary>Row-major GEMM on device views through a column-major <see cref="IDeviceBlas"/> (the backend's layout is
/// row-major, like the CPU <c>IGemm</c>).</summary>
public static class DeviceGemm
{
    /// <summary>Row-major C(m×n) = α·op(A)·op(B) + β·C, op(A) m×k (A stored k×m when transA), op(B) k×n (B stored n×k
    /// when transB); lda/ldb/ldc are row strides in elements; the same contract as <c>IGemm.Gemm</c>.
    /// <para>A row-major matrix with row stride ld is, read column-major with leading dimension ld, its transpose. So
    /// row-major C = column-major Cᵀ, and Cᵀ = (op(A)·op(B))ᵀ = op(B)ᵀ·op(A)ᵀ, where the column-major reading of
    /// row-major B already is Bᵀ: the call is blas.Sgemm(transB, transA, n, m, k, α, b, ldb, a, lda, β, c, ldc).</para>
    /// Throws <see cref="ArgumentException"/> naming the bad (row-major) argument and its value.</summary>
    public static void RowMajor(IDeviceBlas blas, bool transA, bool transB, int m, int n, int k, float alpha,
        ArrayView<float> a, int lda, ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc)
    {
        ArgumentNullException.ThrowIfNull(blas);
        SgemmArgs.ValidateRowMajor(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        blas.Sgemm(transB, transA, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc);
    }
}
