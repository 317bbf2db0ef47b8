using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace ActorTrainer.Runtime;

/// <summary>Everything needed to continue a run exactly: the position of the next step (Epoch, StepInEpoch,
/// GlobalStep), the partial sums of that epoch, weights, optimizer iterations and slots, history, seed, mode,
/// stale-gradient count and the run's config text.</summary>
public sealed record CheckpointState(int Seed, int Epoch, int StepInEpoch, long GlobalStep,
    double EpochLossSum, double EpochCorrect, long EpochCount, float[][] Weights, string OptimizerName,
    long OptimizerIterations, float[][][] OptimizerSlots, IReadOnlyList<EpochLogs> History, string ConfigText,
    long StaleGradientsRejected, string Mode);

/// <summary>Checkpoint files ckpt-&lt;globalStep&gt;.bin: magic "ATCKPT01", int64 payload length, binary payload,
/// SHA-256 of the payload. Written atomically (temp file, fsync, rename); the newest K are kept.</summary>
public static class CheckpointStore
{
    private static readonly byte[] Magic = "ATCKPT01"u8.ToArray();
    private const string Prefix = "ckpt-", Suffix = ".bin";

    /// <summary>Path of the checkpoint of a global step in dir.</summary>
    public static string PathFor(string dir, long globalStep) =>
        Path.Combine(dir, Prefix + globalStep.ToString(CultureInfo.InvariantCulture) + Suffix);

    /// <summary>Checkpoint files of dir with their global steps, newest first.</summary>
    public static IReadOnlyList<(long Step, string Path)> List(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"checkpoint directory '{dir}' does not exist");
        var list = new List<(long, string)>();
        foreach (var f in Directory.EnumerateFiles(dir, Prefix + "*" + Suffix))
        {
            var name = Path.GetFileName(f);
            var num = name.Substring(Prefix.Length, name.Length - Prefix.Length - Suffix.Length);
            if (long.TryParse(num, NumberStyles.None, CultureInfo.InvariantCulture, out long step)) list.Add((step, f));
        }
        list.Sort((a, b) => b.Item1.CompareTo(a.Item1));
        return list;
    }

    /// <summary>Writes state atomically as ckpt-&lt;GlobalStep&gt;.bin in dir (created if needed) and deletes all but the
    /// newest `keep` checkpoints at or below this step (never a checkpoint with a higher step); returns the path.</summary>
    public static string Save(string dir, CheckpointState state, int keep)
    {
        if (keep < 1) throw new ArgumentException($"trainer.checkpoint.keep must be >= 1, got {keep}", nameof(keep));
        Directory.CreateDirectory(dir);
        byte[] payload = Serialize(state);
        byte[] hash = SHA256.HashData(payload);
        string path = PathFor(dir, state.GlobalStep);
        string tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                fs.Write(Magic);
                fs.Write(BitConverter.GetBytes((long)payload.Length));
                fs.Write(payload);
                fs.Write(hash);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
        // Prune only checkpoints this run can have written before this one: a file with a higher step is not ours
        // (the daemon refuses run directories holding another run, and this is a second line of defence).
        foreach (var (_, old) in List(dir).Where(c => c.Step <= state.GlobalStep).Skip(keep)) File.Delete(old);
        return path;
    }

    /// <summary>Reads and verifies one checkpoint; throws InvalidDataException naming the file when it is truncated,
    /// has a bad magic or checksum, or cannot be decoded.</summary>
    public static CheckpointState Load(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < Magic.Length + 8 + 32 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"checkpoint '{path}': not a checkpoint file or truncated ({bytes.Length} bytes)");
        long len = BitConverter.ToInt64(bytes, Magic.Length);
        int start = Magic.Length + 8;
        if (len < 0 || start + len + 32 != bytes.Length)
            throw new InvalidDataException($"checkpoint '{path}': truncated or padded (payload length {len}, file {bytes.Length} bytes)");
        var payload = bytes.AsSpan(start, (int)len);
        if (!SHA256.HashData(payload).AsSpan().SequenceEqual(bytes.AsSpan(start + (int)len, 32)))
            throw new InvalidDataException($"checkpoint '{path}': SHA-256 checksum mismatch (corrupt file)");
        try { return Deserialize(payload.ToArray()); }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or ArgumentException)
        {
            throw new InvalidDataException($"checkpoint '{path}': cannot decode payload: {e.Message}", e);
        }
    }

    /// <summary>The newest valid checkpoint of dir, or null when there is none; corrupt or truncated newer files are
    /// skipped with a warning (added to `warnings` and logged). Throws DirectoryNotFoundException for a missing dir.</summary>
    public static CheckpointState? LoadLatest(string dir, ICollection<string>? warnings = null, ILogger? logger = null)
    {
        foreach (var (_, path) in List(dir))
        {
            try { return Load(path); }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                string msg = $"skipping checkpoint '{path}': {e.Message}";
                warnings?.Add(msg);
                logger?.LogWarning("{Message}", msg);
            }
        }
        return null;
    }

    private static byte[] Serialize(CheckpointState s)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8))
        {
            w.Write(1); // format version
            w.Write(s.Seed); w.Write(s.Epoch); w.Write(s.StepInEpoch); w.Write(s.GlobalStep);
            w.Write(s.EpochLossSum); w.Write(s.EpochCorrect); w.Write(s.EpochCount);
            TrainingMessageSerializer.WriteJagged(w, s.Weights);
            w.Write(s.OptimizerName); w.Write(s.OptimizerIterations);
            w.Write(s.OptimizerSlots.Length);
            foreach (var slot in s.OptimizerSlots) TrainingMessageSerializer.WriteJagged(w, slot);
            w.Write(s.History.Count);
            foreach (var h in s.History)
            {
                w.Write(h.Epoch); w.Write(h.Loss); w.Write(h.Accuracy);
                w.Write(h.ValLoss.HasValue); w.Write(h.ValLoss ?? 0); w.Write(h.ValAccuracy.HasValue); w.Write(h.ValAccuracy ?? 0);
                w.Write(h.Seconds);
            }
            w.Write(s.ConfigText); w.Write(s.StaleGradientsRejected); w.Write(s.Mode);
        }
        return ms.ToArray();
    }

    private static CheckpointState Deserialize(byte[] payload)
    {
        using var r = new BinaryReader(new MemoryStream(payload, false), Encoding.UTF8);
        int version = r.ReadInt32();
        if (version != 1) throw new InvalidDataException($"unsupported checkpoint format version {version}");
        int seed = r.ReadInt32(), epoch = r.ReadInt32(), stepInEpoch = r.ReadInt32();
        long global = r.ReadInt64();
        double lossSum = r.ReadDouble(), correct = r.ReadDouble();
        long count = r.ReadInt64();
        var weights = TrainingMessageSerializer.ReadJagged(r) ?? throw new InvalidDataException("checkpoint has no weights");
        string optName = r.ReadString();
        long iterations = r.ReadInt64();
        int nSlots = r.ReadInt32();
        if (nSlots < 0 || nSlots > payload.Length) throw new InvalidDataException($"invalid optimizer slot count {nSlots}");
        var slots = new float[nSlots][][];
        for (int i = 0; i < nSlots; i++) slots[i] = TrainingMessageSerializer.ReadJagged(r) ?? Array.Empty<float[]>();
        int nHist = r.ReadInt32();
        if (nHist < 0 || nHist > payload.Length) throw new InvalidDataException($"invalid history length {nHist}");
        var history = new List<EpochLogs>(nHist);
        for (int i = 0; i < nHist; i++)
        {
            int e = r.ReadInt32();
            double loss = r.ReadDouble(), acc = r.ReadDouble();
            bool hasVl = r.ReadBoolean(); double vl = r.ReadDouble();
            bool hasVa = r.ReadBoolean(); double va = r.ReadDouble();
            history.Add(new EpochLogs(e, loss, acc, hasVl ? vl : null, hasVa ? va : null, r.ReadDouble()));
        }
        var config = r.ReadString();
        long rejected = r.ReadInt64();
        var mode = r.ReadString();
        if (r.BaseStream.Position != payload.Length) throw new InvalidDataException("trailing bytes after the checkpoint payload");
        return new CheckpointState(seed, epoch, stepInEpoch, global, lossSum, correct, count, weights, optName, iterations,
            slots, history, config, rejected, mode);
    }
}
