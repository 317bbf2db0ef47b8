namespace ActorTrainer.Bench;

/// <summary>A benchmarked GEMM: C(m×n) = op(A)·op(B), compact row-major storage.</summary>
public sealed record GemmShape(string Name, bool TransA, bool TransB, int M, int N, int K)
{
    /// <summary>Row stride of stored A (k×m when TransA, else m×k).</summary>
    public int Lda => TransA ? M : K;
    /// <summary>Row stride of stored B (n×k when TransB, else k×n).</summary>
    public int Ldb => TransB ? K : N;
    /// <summary>Floating-point operations per call, 2·m·n·k.</summary>
    public double Flops => 2.0 * M * N * K;

    public override string ToString() => Name;

    /// <summary>The MNIST MLP (784-512-10, batch 128) forward and backward products.</summary>
    public static readonly GemmShape[] Mlp =
    [
        new("x·W1 (128x784)·(784x512)", false, false, 128, 512, 784),
        new("xT·dh (784x128)·(128x512) tA", true, false, 784, 512, 128),
        new("dh·W1T (128x512)·(512x784) tB", false, true, 128, 784, 512),
        new("(128x512)·(512x784)", false, false, 128, 784, 512),
        new("h·W2 (128x512)·(512x10)", false, false, 128, 10, 512),
        new("hT·g (512x128)·(128x10) tA", true, false, 512, 10, 128),
        new("g·W2T (128x10)·(10x512) tB", false, true, 128, 512, 10),
    ];
}
