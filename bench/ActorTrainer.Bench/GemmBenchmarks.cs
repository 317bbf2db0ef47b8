using ActorTrainer.Kernels;
using BenchmarkDotNet.Attributes;

namespace ActorTrainer.Bench;

/// <summary>BenchmarkDotNet suite: the MLP GEMM shapes for each provider and thread count.</summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];

    /// <summary>The shape under test.</summary>
    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = GemmShape.Mlp[0];

    /// <summary>KernelSettings.MaxDegreeOfParallelism for the managed kernel.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    public static IEnumerable<GemmShape> Shapes => GemmShape.Mlp;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _a = Enumerable.Range(0, Shape.M * Shape.K).Select(_ => (float)rng.NextDouble()).ToArray();
        _b = Enumerable.Range(0, Shape.K * Shape.N).Select(_ => (float)rng.NextDouble()).ToArray();
        _c = new float[Shape.M * Shape.N];
        KernelSettings.MaxDegreeOfParallelism = Threads;
    }

    [Benchmark(Baseline = true)]
    public void Managed() => GemmBackends.Managed.Gemm(Shape.TransA, Shape.TransB, Shape.M, Shape.N, Shape.K,
        1f, _a, Shape.Lda, _b, Shape.Ldb, 0f, _c, Shape.N);

    [Benchmark]
    public void OpenBLAS() => OpenBlas.Sgemm(Shape.TransA, Shape.TransB, Shape.M, Shape.N, Shape.K,
        1f, _a, Shape.Lda, _b, Shape.Ldb, 0f, _c, Shape.N);
}

/// <summary>BenchmarkDotNet suite: MathNet's managed provider on the MLP shapes (slow; separate class).</summary>
[MemoryDiagnoser]
public class MathNetGemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];

    /// <summary>The shape under test.</summary>
    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = GemmShape.Mlp[0];

    public static IEnumerable<GemmShape> Shapes => GemmShape.Mlp;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _a = Enumerable.Range(0, Shape.M * Shape.K).Select(_ => (float)rng.NextDouble()).ToArray();
        _b = Enumerable.Range(0, Shape.K * Shape.N).Select(_ => (float)rng.NextDouble()).ToArray();
        _c = new float[Shape.M * Shape.N];
    }

    [Benchmark]
    public void MathNet() => GemmBackends.MathNet.Gemm(Shape.TransA, Shape.TransB, Shape.M, Shape.N, Shape.K,
        1f, _a, Shape.Lda, _b, Shape.Ldb, 0f, _c, Shape.N);
}
