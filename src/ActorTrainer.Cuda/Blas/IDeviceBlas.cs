using ILGPU;

namespace ActorTrainer.Cuda.Blas;

/// <summary>SGEMM on device buffers with cuBLAS' column-major contract:
/// C(m×n) = α·op(A)·op(B) + β·C, op(A) (m×k), op(B) (k×n), leading dimensions lda/ldb/ldc in elements, column-major.
/// Runs asynchronously on the accelerator's default stream (ordered with the backend's kernels).</summary>
public interface IDeviceBlas : IDisposable
{
    /// <summary>"cuBLAS 13.1 (TF32 off)", "ILGPU GEMM kernel", for logs and summaries.</summary>
    string Name { get; }

    /// <summary>Column-major C(m×n) = α·op(A)·op(B) + β·C (cublasSgemm's arguments; op = transpose when the flag is set).</summary>
    void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, int lda,
        ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc);
}
