using ActorTrainer.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda.Blas;

/// <summary>SGEMM for ILGPU's CPU accelerator, whose buffers are host memory: our CPU GEMM (GemmBackends.Default, the
/// engine's) on the views' memory, after the accelerator's queued kernels finish. Column-major C(m×n) = α·op(A)·op(B)
/// + β·C is row-major Cᵀ = op(B)ᵀ·op(A)ᵀ, so it calls the row-major IGemm with the operands swapped. The CPU
/// accelerator emulates GPU thread groups, which makes the tiled GEMM kernel ~100× slower than this there.</summary>
internal sealed unsafe class HostBlas(Accelerator accelerator) : IDeviceBlas
{
    /// <inheritdoc/>
    public string Name => $"{GemmBackends.Default.Name} on the host (CPU accelerator)";

    /// <inheritdoc/>
    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, int lda,
        ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc)
    {
        SgemmArgs.Validate(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        if (m == 0 || n == 0) return;
        accelerator.Synchronize();
        GemmBackends.Default.Gemm(transB, transA, n, m, k, alpha, Host(b), ldb, Host(a), lda, beta, HostMutable(c), ldc);
    }

    private static ReadOnlySpan<float> Host(ArrayView<float> v) => HostMutable(v);

    private static Span<float> HostMutable(ArrayView<float> v) =>
        v.Length == 0 ? Span<float>.Empty : new Span<float>((void*)DevicePointers.Of(v), checked((int)v.Length));

    /// <inheritdoc/>
    public void Dispose() { }
}
