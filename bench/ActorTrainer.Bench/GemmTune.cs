using ActorTrainer.Kernels;

namespace ActorTrainer.Bench;

/// <summary>Blocking-parameter sweep helper: `tune KcMax McMax NcMax SerialThreshold`, then the quick table.</summary>
internal static class GemmTune
{
    internal static void Run(string[] args)
    {
        if (args.Length is not (4 or 5))
            throw new ArgumentException("tune expects: KcMax McMax NcMax SerialThreshold [Avx512|Avx2|Scalar]", nameof(args));
        GemmBlocking.KcMax = int.Parse(args[0]);
        GemmBlocking.McMax = int.Parse(args[1]);
        GemmBlocking.NcMax = int.Parse(args[2]);
        GemmExecutor<float, Avx512Kernel<float>>.SerialThreshold = long.Parse(args[3]);
        Console.WriteLine($"KcMax={GemmBlocking.KcMax} McMax={GemmBlocking.McMax} NcMax={GemmBlocking.NcMax} SerialThreshold={args[3]}");
        var level = args.Length == 5 ? Enum.Parse<SimdLevel>(args[4], ignoreCase: true) : SimdLevel.Auto;
        GemmExecutor<float, Avx2Kernel<float>>.SerialThreshold = long.Parse(args[3]);
        GemmQuick.Run(30, includeMathNet: false, useMin: true, gemm: new ManagedGemm(level));
        Console.WriteLine("(tune mode: best-of-reps GFLOP/s, not medians)");
    }
}
