namespace ActorTrainer.Cuda;

/// <summary>The GPU backend cannot start: no CUDA driver, no device at the configured index, or no cuBLAS. The
/// message is one line naming what is missing and how to fall back (<c>--set trainer.backend=cpu</c>).</summary>
public sealed class CudaUnavailableException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The fallback every message ends with.</summary>
    public const string Fallback = "train on the CPU instead with --set trainer.backend=cpu";
}

/// <summary>A device allocation failed: the message names what was being allocated, its size and the device's memory.</summary>
public sealed class CudaOutOfMemoryException(string message, Exception? inner = null) : Exception(message, inner);
