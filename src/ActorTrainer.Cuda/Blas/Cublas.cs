using ILGPU;
using ILGPU.Runtime.Cuda;

namespace ActorTrainer.Cuda.Blas;

/// <summary>PLACEHOLDER (being written): cuBLAS binding.</summary>
public sealed class Cublas : IDeviceBlas
{
    public static Cublas Create(CudaAccelerator accelerator, bool tf32) => throw new NotImplementedException();
    public string Name => "cuBLAS";
    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, int lda,
        ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc) => throw new NotImplementedException();
    public void Dispose() { }
}
