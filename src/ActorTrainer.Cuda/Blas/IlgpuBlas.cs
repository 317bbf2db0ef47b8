using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda.Blas;

/// <summary>SGEMM as an ILGPU kernel (<see cref="SgemmKernel"/>) with cublasSgemm's column-major contract; runs on any
/// accelerator (the CPU accelerator in tests, and the fallback GEMM). Results are identical run to run: each output is
/// summed over k in increasing order. The kernel is compiled on first use and cached in the instance.</summary>
public sealed class IlgpuBlas : IDeviceBlas
{
    private readonly Accelerator _accelerator;
    private readonly int _side;
    private Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, SgemmParams>? _kernel;

    /// <summary>A GEMM on `accelerator`'s default stream, with the largest group (up to 16×16 threads) it allows.</summary>
    public IlgpuBlas(Accelerator accelerator) : this(accelerator, SgemmKernel.MaxSide) { }

    /// <summary>As the public constructor, with groups of at most maxSide×maxSide threads (tests use small groups).</summary>
    internal IlgpuBlas(Accelerator accelerator, int maxSide)
    {
        _accelerator = accelerator ?? throw new ArgumentNullException(nameof(accelerator));
        if (maxSide < 1 || maxSide > SgemmKernel.MaxSide)
            throw new ArgumentOutOfRangeException(nameof(maxSide), maxSide, $"group side must be in 1..{SgemmKernel.MaxSide}, got {maxSide}");
        _side = GroupSide(accelerator, maxSide);
    }

    /// <inheritdoc/>
    public string Name => "ILGPU GEMM kernel";

    /// <summary>Threads along each side of a group (each group computes a square tile of C, 4·Side on a side).</summary>
    internal int Side => _side;

    /// <summary>Column-major C(m×n) = α·op(A)·op(B) + β·C (cublasSgemm's arguments); queued on the default stream.
    /// Throws <see cref="ArgumentException"/> naming the bad argument and its value.</summary>
    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, int lda,
        ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc)
    {
        SgemmArgs.Validate(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        if (m == 0 || n == 0) return;
        int tile = _side * SgemmKernel.Micro;
        var p = new SgemmParams
        {
            M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc, TransA = transA ? 1 : 0, TransB = transB ? 1 : 0,
            Side = _side, Alpha = k == 0 ? 0f : alpha, Beta = beta, // k = 0: C = β·C exactly, whatever α is
        };
        var grid = new Index2D((n + tile - 1) / tile, (m + tile - 1) / tile);
        CheckGrid(grid, m, n);
        var config = new KernelConfig(grid, new Index2D(_side, _side));
        Kernel()(_accelerator.DefaultStream, config, a, b, c, p);
    }

    private void CheckGrid(Index2D grid, int m, int n)
    {
        var max = _accelerator.MaxGridSize;
        int tile = _side * SgemmKernel.Micro;
        if (grid.X > max.X)
            throw new ArgumentOutOfRangeException(nameof(n), n, $"SGEMM: n = {n} needs {grid.X} tiles of {tile} columns, more than this accelerator's grid allows ({max.X}).");
        if (grid.Y > max.Y)
            throw new ArgumentOutOfRangeException(nameof(m), m, $"SGEMM: m = {m} needs {grid.Y} tiles of {tile} rows, more than this accelerator's grid allows ({max.Y}).");
    }

    /// <summary>Nothing to free: the compiled kernel belongs to the accelerator.</summary>
    public void Dispose() { }

    private Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, SgemmParams> Kernel() =>
        _kernel ??= _accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, SgemmParams>(SgemmKernel.Kernel);

    private static int GroupSide(Accelerator accelerator, int maxSide)
    {
        int side = maxSide;
        while (side > 1 && (side * side > accelerator.MaxNumThreadsPerGroup || side > accelerator.MaxGroupSize.X || side > accelerator.MaxGroupSize.Y))
            side /= 2;
        return side;
    }
}
