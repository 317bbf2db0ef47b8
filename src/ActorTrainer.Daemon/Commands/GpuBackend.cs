using ActorTrainer.Cuda;
using ActorTrainer.Daemon.Configuration;

namespace ActorTrainer.Daemon.Commands;

/// <summary>Opens the GPU backend of a command when <c>trainer.backend = cuda</c>: one <see cref="CudaRuntime"/>
/// (the step runtime of <c>train</c> and the inference backend of its final evaluation, of <c>evaluate</c> and of
/// <c>predict</c>), owned and disposed by the command.</summary>
public static class GpuBackend
{
    /// <summary>The opened device, or null for trainer.backend = cpu (or no settings). Throws <see cref="CudaUnavailableException"/>
    /// (one line naming what is missing and the --set trainer.backend=cpu fallback) when the device cannot be opened.</summary>
    public static CudaRuntime? Open(BackendSettings? settings) => settings is { IsCuda: true } ? new CudaRuntime(settings.Cuda) : null;

    /// <summary>How <paramref name="command"/> (train, evaluate, predict, worker) runs without the GPU: the fallback its
    /// GPU errors end with, e.g. "evaluate on the CPU instead with --set trainer.backend=cpu".</summary>
    public static string CpuFallback(string command) => command == "worker"
        ? "start the node on the CPU instead with --set worker.backend=cpu"
        : $"{command} on the CPU instead with --set trainer.backend=cpu";

    /// <summary>A GPU error's message with <c>train</c>'s advice (the Cuda library's) in <paramref name="command"/>'s
    /// words: its CPU fallback and, out of device memory, what it can make smaller (evaluate: --batch-size; predict runs
    /// batches of 1024 rows: the model).</summary>
    public static string Advice(string command, string message)
    {
        if (command == "train") return message.Replace(CudaUnavailableException.Fallback, CudaUnavailableException.CommandLineFallback);
        var smaller = command switch { "evaluate" => "use a smaller --batch-size or model, or ", "predict" => "use a smaller model, or ", _ => "" };
        return message
            .Replace(CudaOutOfMemoryException.Advice, smaller + CpuFallback(command).Replace(" instead", ""))
            .Replace(CudaUnavailableException.Fallback, CpuFallback(command))
            .Replace(CudaUnavailableException.CommandLineFallback, CpuFallback(command));
    }

    /// <summary>Runs the body of <paramref name="command"/>; a GPU error it throws (no usable device, out of device
    /// memory) comes out with <see cref="Advice"/> for that command, not train's.</summary>
    public static int Run(string command, Func<int> body)
    {
        try { return body(); }
        catch (CudaUnavailableException e) { throw new CudaUnavailableException(Advice(command, e.Message), e); }
        catch (CudaOutOfMemoryException e) { throw new CudaOutOfMemoryException(Advice(command, e.Message), e); }
    }

    /// <summary>The log line of an opened backend, e.g. "cuda on NVIDIA H200 (SM_90, 139.8 GiB), cuBLAS (TF32 off)".</summary>
    public static string Describe(CudaRuntime runtime) => $"cuda on {runtime.DeviceName}, {runtime.BlasName}";

    /// <summary>What `train` warns when the GPU alone trains through the actor runtime (trainer.runtime = actors, or
    /// async mode, which the in-process runtime does not run): the setting that keeps the step on the device.</summary>
    public static string ActorRuntimeWarning(string mode) =>
        "trainer.backend = cuda with trainer.runtime = actors: the weights and gradients cross the bus every step (6 ms a step " +
        "against 0.12 ms on an H200); " + (mode == "async"
            ? "--set trainer.mode=sync --set trainer.runtime=in-process keeps them on the device (the in-process runtime trains synchronously)"
            : "--set trainer.runtime=in-process keeps them on the device");

    /// <summary>The command's GPU backend, opened once (when the command is ready to use it) and disposed with the lease.</summary>
    public sealed class Lease : IDisposable
    {
        /// <summary>The opened backend, or null (cpu, or not opened yet).</summary>
        public CudaRuntime? Runtime { get; private set; }

        /// <summary>Opens the backend of `settings` unless already open (see <see cref="GpuBackend.Open"/>).</summary>
        public CudaRuntime? Open(BackendSettings? settings) => Runtime ??= GpuBackend.Open(settings);

        /// <summary>Frees the device.</summary>
        public void Dispose() => Runtime?.Dispose();
    }
}
