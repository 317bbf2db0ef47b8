using ILGPU;
using ILGPU.Runtime.Cuda;
using static ActorTrainer.Cuda.Blas.CublasNative;

namespace ActorTrainer.Cuda.Blas;

/// <summary>cuBLAS SGEMM through our own P/Invoke binding (<see cref="CublasNative"/>): one cublasHandle_t bound to the
/// accelerator's default stream, so GEMMs are ordered with the backend's ILGPU kernels. Not thread-safe (one handle).</summary>
public sealed class Cublas : IDeviceBlas
{
    private const int MathDefault = 0;        // CUBLAS_DEFAULT_MATH
    private const int MathTf32TensorOp = 3;   // CUBLAS_TF32_TENSOR_OP_MATH
    private IntPtr _handle;

    private Cublas(IntPtr handle, string name)
    {
        _handle = handle;
        Name = name;
    }

    /// <summary>"cuBLAS 13.1.0 (TF32 on|off)".</summary>
    public string Name { get; }

    /// <summary>Loads libcublas, creates a handle on `accelerator`'s default stream with TF32 tensor-op math when `tf32`.
    /// Throws <see cref="CudaUnavailableException"/> (one line, with the CPU fallback) when no libcublas loads,
    /// <see cref="CudaOutOfMemoryException"/> or <see cref="CublasException"/> when cuBLAS refuses.</summary>
    public static Cublas Create(CudaAccelerator accelerator, bool tf32)
    {
        EnsureLoaded();
        ArgumentNullException.ThrowIfNull(accelerator);
        CublasStatus.Check(cublasCreate_v2(out var handle), nameof(cublasCreate_v2));
        try
        {
            var stream = ((CudaStream)accelerator.DefaultStream).StreamPtr;
            CublasStatus.Check(cublasSetStream_v2(handle, stream), nameof(cublasSetStream_v2));
            CublasStatus.Check(cublasSetMathMode(handle, tf32 ? MathTf32TensorOp : MathDefault), nameof(cublasSetMathMode));
            CublasStatus.Check(cublasGetVersion_v2(handle, out var version), nameof(cublasGetVersion_v2));
            return new Cublas(handle, $"cuBLAS {VersionText(version)} (TF32 {(tf32 ? "on" : "off")})");
        }
        catch
        {
            cublasDestroy_v2(handle);
            throw;
        }
    }

    /// <summary>cublasGetVersion's integer (major·10000 + minor·100 + patch, e.g. 130100) as "13.1.0".</summary>
    internal static string VersionText(int version) => $"{version / 10000}.{version / 100 % 100}.{version % 100}";

    /// <summary>Column-major C(m×n) = α·op(A)·op(B) + β·C via cublasSgemm_v2 (α, β by host pointer), queued on the
    /// default stream. Throws <see cref="ArgumentException"/> naming the bad argument and its value.</summary>
    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, int lda,
        ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc)
    {
        ObjectDisposedException.ThrowIf(_handle == IntPtr.Zero, this);
        SgemmArgs.Validate(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        if (m == 0 || n == 0) return;
        var status = cublasSgemm_v2(_handle, transA ? 1 : 0, transB ? 1 : 0, m, n, k, ref alpha,
            DevicePointers.Of(a), lda, DevicePointers.Of(b), ldb, ref beta, DevicePointers.Of(c), ldc);
        CublasStatus.Check(status, nameof(cublasSgemm_v2));
    }

    /// <summary>Destroys the handle (once; later calls do nothing).</summary>
    public void Dispose()
    {
        var handle = _handle;
        _handle = IntPtr.Zero;
        if (handle != IntPtr.Zero) cublasDestroy_v2(handle);
    }
}
