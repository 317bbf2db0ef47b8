namespace ActorTrainer.Cuda;

/// <summary>Which ILGPU accelerator runs the GPU backend: an NVIDIA GPU through CUDA (GEMMs in cuBLAS), or ILGPU's
/// CPU accelerator, which runs the same kernels on the CPU (GEMMs in our own ILGPU kernel) — slow, for tests and for
/// trying a GPU config on a machine without one.</summary>
public enum DeviceKind
{
    /// <summary>An NVIDIA GPU (CUDA driver + cuBLAS).</summary>
    Cuda,
    /// <summary>ILGPU's CPU accelerator (emulates the GPU's threads; no driver needed).</summary>
    Cpu,
}

/// <summary>Settings of the GPU backend (config keys trainer.cuda.*).</summary>
/// <param name="Accelerator">trainer.cuda.accelerator: cuda (default) or cpu (ILGPU's CPU accelerator).</param>
/// <param name="Device">trainer.cuda.device: index of the CUDA device (0 = the first).</param>
/// <param name="Tf32">trainer.cuda.tf32: let cuBLAS use TF32 tensor cores for fp32 GEMMs (faster, ~1e-3 relative error).</param>
public sealed record CudaOptions(DeviceKind Accelerator = DeviceKind.Cuda, int Device = 0, bool Tf32 = false)
{
    /// <summary>Config value of <see cref="Accelerator"/> ("cuda" | "cpu").</summary>
    public string AcceleratorName => Accelerator == DeviceKind.Cuda ? "cuda" : "cpu";

    /// <summary>Parses trainer.cuda.accelerator ("cuda" | "cpu", case-insensitive); throws naming the key otherwise.</summary>
    public static DeviceKind ParseAccelerator(string value) =>
        (value ?? "").Trim().ToLowerInvariant() switch
        {
            "cuda" => DeviceKind.Cuda,
            "cpu" => DeviceKind.Cpu,
            _ => throw new ArgumentException($"trainer.cuda.accelerator must be 'cuda' or 'cpu' (ILGPU's CPU accelerator), got '{value}'"),
        };
}
