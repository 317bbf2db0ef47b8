using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using ActorTrainer.Daemon.Configuration;

namespace ActorTrainer.Daemon.Service;

/// <summary>The live progress of one job, read from its train.log and checkpoints: epoch, global step, the
/// latest metrics.</summary>
public sealed class JobProgress
{
    private readonly object _gate = new();
    private readonly TrainLog.Follower _log;
    private readonly string _checkpoints;
    private JsonObject _metrics = new();
    private long _lastPoll = long.MinValue / 2;

    /// <summary>Progress of the run in <paramref name="runDir"/>, of a job configured for <paramref name="epochs"/>
    /// epochs (null when unknown: then the trainer's log tells).</summary>
    public JobProgress(string runDir, int? epochs = null)
    {
        _log = new TrainLog.Follower(Path.Combine(runDir, TrainerProcess.LogFile));
        _checkpoints = Path.Combine(runDir, "checkpoints");
        Epochs = epochs;
    }

    /// <summary>Epochs completed (from the last per-epoch log line).</summary>
    public int Epoch { get; private set; }

    /// <summary>trainer.epochs of the run: from the job's configuration, also while the job is queued (the trainer's
    /// log, once it reports it, has the last word).</summary>
    public int? Epochs { get; private set; }

    /// <summary>Global step of the newest checkpoint (every epoch end, and every trainer.checkpoint.every-steps).</summary>
    public long Step { get; private set; }

    /// <summary>The last error line the trainer printed, or null.</summary>
    public string? LastError { get; private set; }

    /// <summary>A copy of the latest metrics (loss, accuracy, val_loss, val_accuracy; test_* at the end).</summary>
    public JsonObject Metrics { get { lock (_gate) return (JsonObject)_metrics.DeepClone(); } }

    /// <summary>Reads what the trainer appended since the last call; does nothing when the last read is younger
    /// than <paramref name="maxAge"/> (so many status requests cost one file read).</summary>
    public void Poll(TimeSpan maxAge = default)
    {
        lock (_gate)
        {
            var now = Environment.TickCount64;
            if (maxAge > TimeSpan.Zero && now - _lastPoll < maxAge.TotalMilliseconds) return;
            _lastPoll = now;
            foreach (var line in _log.ReadNew())
            {
                var parsed = TrainLog.Parse(line);
                if (parsed.Kind == "error") LastError = parsed.Text;
                if (parsed.Data is null) continue;
                foreach (var (k, v) in parsed.Data)
                {
                    if (k == "epoch") Epoch = (int)v!.GetValue<double>();
                    else if (k == "epochs") Epochs = (int)v!.GetValue<double>();
                    else _metrics[k] = v!.GetValue<double>();
                }
            }
            Step = Math.Max(Step, NewestCheckpoint());
        }
    }

    private long NewestCheckpoint()
    {
        if (!Directory.Exists(_checkpoints)) return 0;
        long best = 0;
        foreach (var f in Directory.EnumerateFiles(_checkpoints, "ckpt-*.bin"))
        {
            var name = Path.GetFileNameWithoutExtension(f);
            if (long.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var s)) best = Math.Max(best, s);
        }
        return best;
    }
}

/// <summary>Progress of every job this daemon has looked at, created on first use.</summary>
public sealed class JobProgressBook
{
    private readonly ConcurrentDictionary<string, JobProgress> _progress = new(StringComparer.Ordinal);

    /// <summary>The progress of a job's run directory (read up to now).</summary>
    public JobProgress For(JobRecord job)
    {
        return _progress.GetOrAdd(job.Id, _ => new JobProgress(job.RunDir, ConfiguredEpochs(job)));
    }

    /// <summary>trainer.epochs of the job's effective configuration (read once per job), or null when it cannot be
    /// read (the configuration was checked when the job was submitted, so it can).</summary>
    private static int? ConfiguredEpochs(JobRecord job)
    {
        try
        {
            return GuardedHoconParser.Parse(job.Config, $"job {job.Id}").GetInt("trainer.epochs");
        }
        catch (Exception e) when (e is ConfigException or FormatException or Akka.Configuration.ConfigurationException)
        {
            return null;
        }
    }
}
