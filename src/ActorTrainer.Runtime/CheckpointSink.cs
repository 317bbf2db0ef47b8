using ActorTrainer.Core;

namespace ActorTrainer.Runtime;

/// <summary>Writes the fit loop's checkpoints with <see cref="CheckpointStore"/> into Dir (newest Keep kept), adding
/// the run's config text and mode; converts between the file's CheckpointState and the loop's FitCheckpoint.
/// With `background`, Save copies the weights and optimizer slots and writes the copy on a thread-pool thread while
/// training goes on (the write, its SHA-256 and fsync take ~15 ms for the reference model); one write at a time, in
/// order: Save first waits for the previous one, and <see cref="Flush"/> (which fit calls before it returns) for the
/// last. The copies go into arrays kept from the previous save once its write is done (fresh memory costs a page fault
/// per 4 KiB on first touch: ~10 µs each on a paravirtualized VM, 8 ms for the reference model's 3.2 MB). A failed
/// background write is raised by the next Save or Flush. States over <see cref="MaxBackgroundValues"/> values are
/// written at once (a copy would double their memory).</summary>
public sealed class CheckpointSink(string dir, int keep, string configText, string mode, bool background = false) : IFlushingCheckpointSink
{
    private readonly string _dir = !string.IsNullOrWhiteSpace(dir) ? dir
        : throw new ArgumentException($"checkpoint directory must be a path, got {(dir is null ? "null" : $"'{dir}'")}", nameof(dir));
    private readonly int _keep = keep >= 1 ? keep
        : throw new ArgumentOutOfRangeException(nameof(keep), keep, $"checkpoints to keep must be >= 1, got {keep}");

    /// <summary>Largest state (weights + optimizer slots, in float32 values: 128 MB) a background save copies.</summary>
    public const long MaxBackgroundValues = 1L << 25;

    private readonly string _mode = mode is "sync" or "async" ? mode
        : throw new ArgumentException($"checkpoint mode must be 'sync' or 'async' (the runtime's modes), got {(mode is null ? "null" : $"'{mode}'")}", nameof(mode));

    private Task? _pending;
    private string? _lastPath;
    private float[][]? _weights;        // the last background copy's arrays: reused once its write is done
    private float[][][]? _slots;

    /// <summary>The checkpoint directory.</summary>
    public string Dir => _dir;

    /// <summary>Path of the last checkpoint written (null before the first; a background write counts once done).</summary>
    public string? LastPath => Volatile.Read(ref _lastPath);

    /// <inheritdoc/>
    public void Save(FitCheckpoint c)
    {
        ArgumentNullException.ThrowIfNull(c);
        Flush();
        if (!background || Values(c) > MaxBackgroundValues)
        {
            Write(ToState(c, configText, _mode), c.GlobalStep);
            return;
        }
        _weights = Weights.copyReusing(_weights, c.Weights);
        if (_slots is null || _slots.Length != c.OptimizerSlots.Length) _slots = new float[c.OptimizerSlots.Length][][];
        for (int i = 0; i < _slots.Length; i++) _slots[i] = Weights.copyReusing(_slots[i], c.OptimizerSlots[i]);
        var state = ToState(c, configText, _mode) with { Weights = _weights, OptimizerSlots = (float[][][])_slots.Clone() };
        _pending = Task.Run(() => Write(state, c.GlobalStep));
    }

    /// <summary>Waits for a background write still under way; rethrows its failure (an IOException naming the
    /// directory and step) once.</summary>
    public void Flush()
    {
        var p = _pending;
        if (p is null) return;
        _pending = null;
        p.GetAwaiter().GetResult();
    }

    private void Write(CheckpointState state, long step)
    {
        try
        {
            Volatile.Write(ref _lastPath, CheckpointStore.Save(_dir, state, _keep));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot write the checkpoint of global step {step} into '{_dir}': {e.Message} " +
                                  "(the checkpoints already there are intact: free space or fix the directory, then resume from the newest one)", e);
        }
    }

    private static long Values(FitCheckpoint c) =>
        c.Weights.Sum(w => (long)w.Length) + c.OptimizerSlots.Sum(s => s.Sum(a => (long)a.Length));

    /// <summary>The file form of a loop checkpoint.</summary>
    public static CheckpointState ToState(FitCheckpoint c, string configText, string mode) =>
        new(c.Seed, c.Epoch, c.StepInEpoch, c.GlobalStep, c.EpochStats.LossSum, c.EpochStats.Correct, c.EpochStats.Count,
            c.Weights, c.OptimizerName, c.OptimizerIterations, c.OptimizerSlots, c.History, configText,
            c.StaleGradientsRejected, mode);

    /// <summary>The loop form of a checkpoint read from a file.</summary>
    public static FitCheckpoint ToFit(CheckpointState s) =>
        s is null
            ? throw new ArgumentNullException(nameof(s), "ToFit: the checkpoint state is null (CheckpointStore.LoadLatest returns null when the directory holds no valid checkpoint)")
            : new(s.Seed, s.Epoch, s.StepInEpoch, s.GlobalStep,
            new ShardStats(s.EpochLossSum, s.EpochCorrect, checked((int)s.EpochCount)),
            s.Weights, s.OptimizerName, s.OptimizerIterations, s.OptimizerSlots, s.History.ToArray(), s.StaleGradientsRejected);
}
