namespace ActorTrainer.Cuda.Blas;

/// <summary>A cuBLAS call returned an error status; the message names the call and the status.</summary>
public sealed class CublasException(string call, int status, string message) : Exception(message)
{
    /// <summary>The cuBLAS function that failed, e.g. "cublasSgemm_v2".</summary>
    public string Call { get; } = call;

    /// <summary>The cublasStatus_t value.</summary>
    public int Status { get; } = status;
}

/// <summary>cublasStatus_t values and their translation into exceptions.</summary>
internal static class CublasStatus
{
    /// <summary>The status name, e.g. 7 → "CUBLAS_STATUS_INVALID_VALUE" (unknown values as "cublasStatus_t 42").</summary>
    internal static string Name(int status) => status switch
    {
        0 => "CUBLAS_STATUS_SUCCESS",
        1 => "CUBLAS_STATUS_NOT_INITIALIZED",
        3 => "CUBLAS_STATUS_ALLOC_FAILED",
        7 => "CUBLAS_STATUS_INVALID_VALUE",
        8 => "CUBLAS_STATUS_ARCH_MISMATCH",
        11 => "CUBLAS_STATUS_MAPPING_ERROR",
        13 => "CUBLAS_STATUS_EXECUTION_FAILED",
        14 => "CUBLAS_STATUS_INTERNAL_ERROR",
        15 => "CUBLAS_STATUS_NOT_SUPPORTED",
        16 => "CUBLAS_STATUS_LICENSE_ERROR",
        _ => $"cublasStatus_t {status}",
    };

    /// <summary>Returns when status = 0; else throws <see cref="CudaOutOfMemoryException"/> for ALLOC_FAILED and
    /// <see cref="CublasException"/> otherwise, naming `call` and the status.</summary>
    internal static void Check(int status, string call)
    {
        if (status == 0) return;
        var message = $"{call} failed: {Name(status)} ({status})";
        if (status == 3)
            throw new CudaOutOfMemoryException($"{message}: cuBLAS could not allocate device memory for its workspace or handle");
        throw new CublasException(call, status, message);
    }
}
