using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ActorTrainer.Core;
using Microsoft.Extensions.Logging;

namespace ActorTrainer.Runtime;

/// <summary>Everything needed to continue a run exactly: the position of the next step (Epoch, StepInEpoch,
/// GlobalStep), the partial sums of that epoch, weights, optimizer iterations and slots, history, seed, mode,
/// stale-gradient count and the run's config text.</summary>
/// <param name="Seed">Seed of the run; a resume with another seed is refused.</param>
/// <param name="Epoch">0-based epoch of the next step.</param>
/// <param name="StepInEpoch">0-based batch of the next step within Epoch (the batches of Epoch already applied).</param>
/// <param name="GlobalStep">Optimizer steps applied in total (the next step's global index).</param>
/// <param name="EpochLossSum">Sum of the per-sample training losses of Epoch's steps applied so far.</param>
/// <param name="EpochCorrect">Samples of those steps the accuracy counts as right.</param>
/// <param name="EpochCount">Samples of those steps.</param>
/// <param name="Weights">The weights in ModelPlan.WeightShapes order, each flat float32 row-major.</param>
/// <param name="OptimizerName">Optimizer.Name of the run ("Adam", ...); a resume with another optimizer is refused.</param>
/// <param name="OptimizerIterations">Optimizer.Iterations: update steps applied (Keras <c>optimizer.iterations</c>).</param>
/// <param name="OptimizerSlots">Optimizer slots as Optimizer.GetState gives them: [weight][slot][element].</param>
/// <param name="History">Logs of the finished epochs (Epoch entries).</param>
/// <param name="ConfigText">The run's configuration text (TrainingJob.ConfigText).</param>
/// <param name="StaleGradientsRejected">Async gradients rejected as too stale so far (0 in sync mode).</param>
/// <param name="Mode">The run's mode, "sync" or "async".</param>
public sealed record CheckpointState(int Seed, int Epoch, int StepInEpoch, long GlobalStep,
    double EpochLossSum, double EpochCorrect, long EpochCount, float[][] Weights, string OptimizerName,
    long OptimizerIterations, float[][][] OptimizerSlots, IReadOnlyList<EpochLogs> History, string ConfigText,
    long StaleGradientsRejected, string Mode)
{
    /// <summary>The file this state was loaded from (null for a state built in memory); names it in later errors.</summary>
    public string? SourcePath { get; init; }
}

/// <summary>Checkpoint files ckpt-&lt;globalStep&gt;.bin: magic "ATCKPT01", int64 payload length, binary payload,
/// SHA-256 of the payload. Written atomically (temp file, fsync, rename); the newest K are kept. Written and read
/// streamed (the payload is hashed while it is written and read), so checkpoints over 2 GB work.</summary>
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
        string path = PathFor(dir, state.GlobalStep);
        string tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            WriteFile(tmp, state);
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

    /// <summary>Streams magic, a length placeholder, the payload (hashed as it goes) and the hash, then fills in the
    /// length and flushes to disk.</summary>
    private static void WriteFile(string tmp, CheckpointState state)
    {
        using var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        fs.Write(Magic);
        fs.Write(new byte[8]);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length;
        using (var hs = new HashingWriteStream(fs, hash))
        using (var w = new BinaryWriter(hs, Encoding.UTF8, leaveOpen: true))
        {
            CheckpointFormat.Write(w, state);
            w.Flush();
            length = hs.Length;
        }
        fs.Write(hash.GetHashAndReset());
        fs.Position = Magic.Length;
        fs.Write(BitConverter.GetBytes(length));
        fs.Flush(flushToDisk: true);
    }

    /// <summary>Reads and verifies one checkpoint; throws CheckpointException naming the file (and the field at fault)
    /// when it is truncated, has a bad magic or checksum, cannot be decoded, or decodes to an inconsistent state.</summary>
    public static CheckpointState Load(string path)
    {
        CheckpointException Bad(string problem, Exception? inner = null) => new($"checkpoint '{path}': {problem}", inner!);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        long fileLength = fs.Length;
        var head = new byte[Magic.Length + 8];
        if (fileLength < Magic.Length + 8 + 32 || fs.ReadAtLeast(head, head.Length, false) < head.Length
            || !head.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw Bad($"not a checkpoint file or truncated ({fileLength} bytes)");
        long len = BitConverter.ToInt64(head, Magic.Length);
        long start = Magic.Length + 8;
        if (len < 0 || len > fileLength || start + len + 32 != fileLength)
            throw Bad($"truncated or padded (payload length {len}, file {fileLength} bytes)");
        byte[] actual = new BoundedReadStream(fs, start, len).Sha256();
        var stored = new byte[32];
        fs.ReadExactly(stored);
        if (!actual.AsSpan().SequenceEqual(stored))
            throw Bad("SHA-256 checksum mismatch (corrupt file)");
        CheckpointState state;
        try
        {
            using var r = new BinaryReader(new BoundedReadStream(fs, start, len), Encoding.UTF8, leaveOpen: true);
            state = CheckpointFormat.Read(r);
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or FormatException or ArgumentException or DecoderFallbackException)
        {
            throw Bad($"cannot decode payload: {e.Message}", e);
        }
        if (CheckpointFormat.Problem(state) is { } problem) throw Bad(problem);
        return state with { SourcePath = path };
    }

    /// <summary>The newest valid checkpoint of dir, or null when there is none; corrupt or truncated newer files are
    /// skipped with a warning (added to `warnings` and logged). Throws DirectoryNotFoundException for a missing dir.</summary>
    public static CheckpointState? LoadLatest(string dir, ICollection<string>? warnings = null, ILogger? logger = null)
    {
        foreach (var (_, path) in List(dir))
        {
            try { return Load(path); }
            catch (Exception e) when (e is CheckpointException or InvalidDataException or IOException)
            {
                // a CheckpointException names the file already ("checkpoint 'path': problem"); others may not
                string msg = e is CheckpointException ? $"skipping {e.Message}" : $"skipping checkpoint '{path}': {e.Message}";
                warnings?.Add(msg);
                logger?.LogWarning("{Message}", msg);
            }
        }
        return null;
    }
}
