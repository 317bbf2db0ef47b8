using System.Diagnostics;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Kernels;

namespace ActorTrainer.Bench;

/// <summary>
/// Single-process fit of the chapter's reference model (784-512-10, RMSprop, batch 128) on the full MNIST training
/// set: seconds per epoch, GC collections and bytes allocated per epoch (the steady-state step should allocate
/// nothing), for each shards-per-batch value given.
/// Usage: fit [epochs=3] [shards=1,2,4]
/// </summary>
public static class FitBench
{
    private sealed class EpochProbe : Callback
    {
        private readonly Stopwatch _sw = new();
        private long _alloc, _afterFirstStep, _lastStep;
        private int _g0, _g1, _g2, _steps;
        public readonly List<(double Seconds, long Bytes, int Gen0, int Gen1, int Gen2, double BytesPerStep)> Epochs = [];

        public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
        {
            if (batch == 0) _afterFirstStep = GC.GetTotalAllocatedBytes(true);
            else if (batch == _steps - 1) _lastStep = GC.GetTotalAllocatedBytes(true);
        }

        public override void OnEpochBegin(int epoch, int steps)
        {
            _steps = steps;
            _alloc = GC.GetTotalAllocatedBytes(true);
            _g0 = GC.CollectionCount(0); _g1 = GC.CollectionCount(1); _g2 = GC.CollectionCount(2);
            _sw.Restart();
        }

        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
        {
            var s = _sw.Elapsed.TotalSeconds;
            Epochs.Add((s, GC.GetTotalAllocatedBytes(true) - _alloc,
                        GC.CollectionCount(0) - _g0, GC.CollectionCount(1) - _g1, GC.CollectionCount(2) - _g2,
                        (double)(_lastStep - _afterFirstStep) / Math.Max(1, _steps - 2)));
        }
    }

    public static int Run(string[] args)
    {
        var epochs = args.Length > 0 ? int.Parse(args[0]) : 3;
        var shardsList = (args.Length > 1 ? args[1] : "1,2,4").Split(',').Select(int.Parse).ToArray();
        Console.WriteLine($"# fit benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, GEMM {GemmBackends.Default.Name}, " +
                          $"loadavg {File.ReadAllText("/proc/loadavg").Trim()}");
        var (train, _) = Mnist.LoadBundled();
        var data = ArrayData.OfLabels(train.Images, 784, train.Labels);
        Console.WriteLine("| shards | epoch | seconds | allocated in the epoch | of which per step (steps 2..n) | gen0 | gen1 | gen2 | loss |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var shards in shardsList)
        {
            var model = new Sequential(new Layer[] { new Dense(512, "relu"), new Dense(10, "softmax") }, seed: 1);
            model.Compile(new RMSprop(), "sparse_categorical_crossentropy", ["accuracy"]);
            var probe = new EpochProbe();
            var h = model.FitArrays(data, epochs, 128, null!, 0.0, true, [probe], 0, shards);
            for (var e = 0; e < probe.Epochs.Count; e++)
            {
                var p = probe.Epochs[e];
                Console.WriteLine($"| {shards} | {e + 1} | {p.Seconds:F3} | {p.Bytes / 1024.0:F1} KiB | {p.BytesPerStep:F1} B | {p.Gen0} | {p.Gen1} | {p.Gen2} | {h["loss"][e]:F4} |");
            }
            var steady = probe.Epochs.Skip(1).Select(p => p.Seconds).OrderBy(x => x).ToArray();
            if (steady.Length > 0)
                Console.WriteLine($"shards {shards}: median epoch (after the first) {steady[steady.Length / 2]:F3} s = {60000.0 / 128 / steady[steady.Length / 2]:F0} steps/s");
        }
        return 0;
    }
}
