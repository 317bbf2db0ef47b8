namespace ActorTrainer.Cuda;

/// <summary>The GPU backend cannot start: no CUDA driver, no device at the configured index, or no cuBLAS. The
/// message is one line naming what is missing and how to fall back (<c>--set trainer.backend=cpu</c> on the command
/// line; in code the CPU runtime, or <c>new CudaOptions(DeviceKind.Cpu)</c> for these kernels on ILGPU's CPU accelerator).</summary>
public sealed class CudaUnavailableException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The fallback every message ends with.</summary>
    public const string Fallback = CommandLineFallback + " (in code: the CPU runtime, or new CudaOptions(DeviceKind.Cpu))";

    /// <summary>The fallback as the command line words it (the daemon shows this one).</summary>
    public const string CommandLineFallback = "train on the CPU instead with --set trainer.backend=cpu";
}

/// <summary>A device allocation failed: the message names what was being allocated, its size and the device's memory.</summary>
public sealed class CudaOutOfMemoryException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The advice a device allocation failure ends with, in <c>train</c>'s words (the daemon words it for the
    /// command that ran: <c>evaluate</c>, <c>predict</c>).</summary>
    public const string Advice = "use a smaller trainer.batch-size or model, or " + CpuFallback;

    /// <summary>The CPU fallback within <see cref="Advice"/>.</summary>
    public const string CpuFallback = "train on the CPU with --set trainer.backend=cpu";
}
