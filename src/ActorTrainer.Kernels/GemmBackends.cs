namespace ActorTrainer.Kernels;

/// <summary>The available GEMM providers and the process-wide default.</summary>
public static class GemmBackends
{
    /// <summary>Straightforward triple loop in float64 accumulation order; the correctness reference.</summary>
    public static IGemm Reference { get; } = new ReferenceGemm();

    /// <summary>Our SIMD CPU kernels (AVX-512 / AVX2+FMA / scalar, best supported), multi-threaded up to
    /// <see cref="KernelSettings.MaxDegreeOfParallelism"/>.</summary>
    public static IGemm Managed { get; } = new ManagedGemm();

    /// <summary>MathNet.Numerics' active linear-algebra provider (<c>LinearAlgebraControl.Provider</c>: managed,
    /// or native MKL/OpenBLAS when installed); row-major operands are copied to column-major arrays.</summary>
    public static IGemm MathNet { get; } = new MathNetGemm();

    // Managed is the fastest measured provider here (bench/RESULTS.md): 1.0–1.1× OpenBLAS per core on the large
    // MLP shapes, 15–100× MathNet's managed provider.
    private static IGemm _default = Managed;

    /// <summary>The provider used by tensors and layers. Default: the fastest measured (see bench/RESULTS.md).</summary>
    public static IGemm Default
    {
        get => _default;
        set => _default = value ?? throw new ArgumentNullException(nameof(value));
    }
}
