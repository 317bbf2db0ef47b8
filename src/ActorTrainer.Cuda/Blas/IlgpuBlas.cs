using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda.Blas;

/// <summary>PLACEHOLDER (being written): SGEMM as an ILGPU kernel.</summary>
public sealed class IlgpuBlas(Accelerator accelerator) : IDeviceBlas
{
    public string Name => "ILGPU GEMM kernel";
    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, int lda,
        ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc) => throw new NotImplementedException();
    public void Dispose() { _ = accelerator; }
}
