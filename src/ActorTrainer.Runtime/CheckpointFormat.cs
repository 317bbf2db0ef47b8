using System.Runtime.InteropServices;
using ActorTrainer.Core;

namespace ActorTrainer.Runtime;

/// <summary>The checkpoint payload (format version 2; version 1, read too, lacks each epoch's logs): seed, position,
/// epoch partial sums, weights, optimizer name, iterations and slots, history (each epoch's fields, then its logs as
/// an int32 count, -1 for none, and key/value pairs), config text, stale-gradient count, mode. Float arrays are an int32 length (-1 for
/// null) and raw little-endian floats, written and read in chunks so arrays of any size stream. Reading bounds every
/// length by the bytes left; <see cref="Problem"/> checks the decoded state's internal consistency.</summary>
internal static class CheckpointFormat
{
    private const int Version = 2, OldestVersion = 1;
    private const int ChunkFloats = 1 << 20;

    public static void Write(BinaryWriter w, CheckpointState s)
    {
        w.Write(Version);
        w.Write(s.Seed); w.Write(s.Epoch); w.Write(s.StepInEpoch); w.Write(s.GlobalStep);
        w.Write(s.EpochLossSum); w.Write(s.EpochCorrect); w.Write(s.EpochCount);
        WriteJagged(w, s.Weights);
        w.Write(s.OptimizerName); w.Write(s.OptimizerIterations);
        w.Write(s.OptimizerSlots.Length);
        foreach (var slot in s.OptimizerSlots) WriteJagged(w, slot);
        w.Write(s.History.Count);
        foreach (var h in s.History)
        {
            w.Write(h.Epoch); w.Write(h.Loss); w.Write(h.Accuracy);
            w.Write(h.ValLoss.HasValue); w.Write(h.ValLoss ?? 0); w.Write(h.ValAccuracy.HasValue); w.Write(h.ValAccuracy ?? 0);
            w.Write(h.Seconds);
            w.Write(h.Logs?.Count ?? -1);
            foreach (var kv in h.Logs ?? new Dictionary<string, double>()) { w.Write(kv.Key); w.Write(kv.Value); }
        }
        w.Write(s.ConfigText); w.Write(s.StaleGradientsRejected); w.Write(s.Mode);
    }

    /// <summary>Decodes a payload from r (whose BaseStream.Length is the payload length); throws InvalidDataException or
    /// EndOfStreamException for bytes that do not decode.</summary>
    public static CheckpointState Read(BinaryReader r)
    {
        int version = r.ReadInt32();
        if (version is < OldestVersion or > Version) throw new InvalidDataException($"unsupported checkpoint format version {version}");
        int seed = r.ReadInt32(), epoch = r.ReadInt32(), stepInEpoch = r.ReadInt32();
        long global = r.ReadInt64();
        double lossSum = r.ReadDouble(), correct = r.ReadDouble();
        long count = r.ReadInt64();
        var weights = ReadJagged(r, "weights") ?? throw new InvalidDataException("checkpoint has no weights");
        string optName = r.ReadString();
        long iterations = r.ReadInt64();
        int nSlots = ReadCount(r, "optimizer slot list", 4);
        var slots = new float[nSlots][][];
        for (int i = 0; i < nSlots; i++) slots[i] = ReadJagged(r, $"optimizer slots of weight {i}") ?? Array.Empty<float[]>();
        int nHist = ReadCount(r, "history", version == 1 ? 46 : 50);
        var history = new List<EpochLogs>(nHist);
        for (int i = 0; i < nHist; i++)
        {
            int e = r.ReadInt32();
            double loss = r.ReadDouble(), acc = r.ReadDouble();
            bool hasVl = r.ReadBoolean(); double vl = r.ReadDouble();
            bool hasVa = r.ReadBoolean(); double va = r.ReadDouble();
            double seconds = r.ReadDouble();
            history.Add(new EpochLogs(e, loss, acc, hasVl ? vl : null, hasVa ? va : null, seconds, version == 1 ? null : ReadLogs(r, i)));
        }
        var config = r.ReadString();
        long rejected = r.ReadInt64();
        var mode = r.ReadString();
        long left = r.BaseStream.Length - r.BaseStream.Position;
        if (left != 0) throw new InvalidDataException($"{left} trailing bytes after the checkpoint payload");
        return new CheckpointState(seed, epoch, stepInEpoch, global, lossSum, correct, count, weights, optName, iterations,
            slots, history, config, rejected, mode);
    }

    /// <summary>The first field of s that cannot belong to a checkpoint the runtime wrote, as "field: problem"; null when
    /// the state is consistent.</summary>
    public static string? Problem(CheckpointState s)
    {
        if (s.Epoch < 0) return $"epoch: {s.Epoch} is negative";
        if (s.StepInEpoch < 0) return $"step_in_epoch: {s.StepInEpoch} is negative";
        if (s.GlobalStep < 0) return $"global_step: {s.GlobalStep} is negative";
        if (s.GlobalStep < s.StepInEpoch) return $"global_step: {s.GlobalStep} is less than step_in_epoch {s.StepInEpoch}";
        if (s.EpochCount < 0) return $"epoch_count: {s.EpochCount} is negative";
        if (double.IsNaN(s.EpochCorrect) || s.EpochCorrect < 0) return $"epoch_correct: {s.EpochCorrect} is not a count";
        if (s.Weights.Length == 0) return "weights: the checkpoint holds no weight arrays";
        if (string.IsNullOrEmpty(s.OptimizerName)) return "optimizer: empty name";
        if (s.OptimizerIterations < 0) return $"optimizer_iterations: {s.OptimizerIterations} is negative";
        if (s.OptimizerSlots.Length > s.Weights.Length)
            return $"optimizer_slots: {s.OptimizerSlots.Length} slot lists for {s.Weights.Length} weights";
        for (int i = 0; i < s.OptimizerSlots.Length; i++)
            for (int k = 0; k < s.OptimizerSlots[i].Length; k++)
                if (s.OptimizerSlots[i][k].Length != s.Weights[i].Length)
                    return $"optimizer_slots[{i}][{k}]: {s.OptimizerSlots[i][k].Length} values but weight {i} has {s.Weights[i].Length}";
        if (s.History.Count != s.Epoch) return $"history: {s.History.Count} epochs but the position is epoch {s.Epoch}";
        if (s.StaleGradientsRejected < 0) return $"stale_gradients_rejected: {s.StaleGradientsRejected} is negative";
        if (s.Mode is not ("sync" or "async")) return $"mode: '{s.Mode}' is neither 'sync' nor 'async'";
        return null;
    }

    /// <summary>The logs of history epoch i: an int32 count (-1: none) of key/value pairs.</summary>
    private static Dictionary<string, double>? ReadLogs(BinaryReader r, int i)
    {
        int n = r.ReadInt32();
        if (n == -1) return null;
        long left = r.BaseStream.Length - r.BaseStream.Position;
        if (n < 0 || (long)n * 9 > left) throw new InvalidDataException($"invalid logs of history epoch {i} length {n} ({left} bytes left)");
        var logs = new Dictionary<string, double>(n);
        for (int k = 0; k < n; k++)
        {
            var key = r.ReadString();
            if (!logs.TryAdd(key, r.ReadDouble())) throw new InvalidDataException($"logs of history epoch {i}: key '{key}' twice");
        }
        return logs;
    }

    /// <summary>An int32 count of items of at least minBytes each, bounded by the bytes left.</summary>
    private static int ReadCount(BinaryReader r, string what, int minBytes)
    {
        int n = r.ReadInt32();
        long left = r.BaseStream.Length - r.BaseStream.Position;
        if (n < 0 || (long)n * minBytes > left) throw new InvalidDataException($"invalid {what} length {n} ({left} bytes left)");
        return n;
    }

    private static void WriteJagged(BinaryWriter w, float[][]? a)
    {
        if (a is null) { w.Write(-1); return; }
        w.Write(a.Length);
        foreach (var x in a)
        {
            w.Write(x.Length);
            for (int at = 0; at < x.Length; at += ChunkFloats)
                w.Write(MemoryMarshal.AsBytes(x.AsSpan(at, Math.Min(ChunkFloats, x.Length - at))));
        }
    }

    private static float[][]? ReadJagged(BinaryReader r, string what)
    {
        int n = r.ReadInt32();
        if (n == -1) return null;
        long left = r.BaseStream.Length - r.BaseStream.Position;
        if (n < 0 || (long)n * 4 > left) throw new InvalidDataException($"{what}: invalid array count {n} ({left} bytes left)");
        var a = new float[n][];
        for (int i = 0; i < n; i++)
        {
            int len = r.ReadInt32();
            left = r.BaseStream.Length - r.BaseStream.Position;
            if (len < 0 || (long)len * 4 > left) throw new InvalidDataException($"{what}[{i}]: invalid length {len} ({left} bytes left)");
            var x = GC.AllocateUninitializedArray<float>(len);
            for (int at = 0; at < len; at += ChunkFloats)
                r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(x.AsSpan(at, Math.Min(ChunkFloats, len - at))));
            a[i] = x;
        }
        return a;
    }
}
