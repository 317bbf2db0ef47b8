using ActorTrainer.Kernels;

namespace ActorTrainer.Bench;

/// <summary>Blocking-parameter sweep helper: `tune KcMax McMax NcMax SerialThreshold`, then the quick table.</summary>
internal static class GemmTune
{
    internal static void Run(string[] args)
    {
        if (args.Length != 4)
            throw new ArgumentException("tune expects 4 integers: KcMax McMax NcMax SerialThreshold", nameof(args));
        GemmBlocking.KcMax = int.Parse(args[0]);
        GemmBlocking.McMax = int.Parse(args[1]);
        GemmBlocking.NcMax = int.Parse(args[2]);
        GemmExecutor<float, Avx512Kernel<float>>.SerialThreshold = long.Parse(args[3]);
        Console.WriteLine($"KcMax={GemmBlocking.KcMax} McMax={GemmBlocking.McMax} NcMax={GemmBlocking.NcMax} SerialThreshold={args[3]}");
        GemmQuick.Run(30, includeMathNet: false, useMin: true);
        Console.WriteLine("(tune mode: best-of-reps GFLOP/s, not medians)");
    }
}
