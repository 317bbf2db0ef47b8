using ActorTrainer.Core;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Daemon.Output;
using ActorTrainer.Daemon.Runs;
using ActorTrainer.Runtime;
using Microsoft.Extensions.Logging;

namespace ActorTrainer.Daemon.Commands;

/// <summary>`train`'s warm-ups: code a run would otherwise compile on its training cores — at its first step or its first
/// epoch end — compiled ahead on background threads, with models and files of their own (a run's results are untouched;
/// a failure only loses the head start and is logged at debug level).</summary>
internal static class TrainWarmup
{
    /// <summary>Starts, as `train` begins and before its config is parsed, the warm-ups that need no model: the checkpoint
    /// writer (<see cref="RuntimeWarmup.Checkpoints"/>), then — once <see cref="EarlyWarmup.ConfigRead"/> says that
    /// `output.tensorboard` is on — TensorBoard's epoch end for an MNIST-shaped model
    /// (<see cref="TensorBoardCallback.WarmUp(string?)"/>), each in a temporary directory it deletes. Until the config has been parsed and the compute warm-up
    /// (<see cref="Begin"/>) starts, the main thread and (with the bundled data) its decode are at work, so these ~0.1 s
    /// of compiling share the cores with start-up work instead of taking the first epoch's, where they ran until
    /// 2026-12-03 (README's `train` 0.95–0.96×
    /// train_seconds since, bench/RESULTS.md). Disposing it (when `train` returns or fails) skips the warm-ups not yet
    /// begun and waits for the one under way, so that nothing is left in the temporary directory.</summary>
    public static EarlyWarmup BeginEarly(ILogger log) => new(log);

    /// <summary>The thread of <see cref="BeginEarly"/>.</summary>
    public sealed class EarlyWarmup : IDisposable
    {
        private readonly Thread _thread;
        private readonly ManualResetEventSlim _configRead = new();
        private volatile bool _tensorBoard, _stop;

        internal EarlyWarmup(ILogger log)
        {
            _thread = new Thread(() =>
            {
                try { RuntimeWarmup.Checkpoints(); }
                catch (Exception e) { log.LogDebug(e, "checkpoint warm-up failed (the run compiles its checkpoint writer as it first uses it)"); }
                _configRead.Wait();
                if (_stop || !_tensorBoard) return;
                try { TensorBoardCallback.WarmUp(null); }
                catch (Exception e) { log.LogDebug(e, "TensorBoard warm-up failed (the run compiles its epoch-end logging as it first uses it)"); }
            }) { IsBackground = true, Name = "ActorTrainer.EarlyWarmup" };
            _thread.Start();
        }

        /// <summary>The config has been read: TensorBoard's warm-up runs when `output.tensorboard` is on (a value that is
        /// not a boolean counts as off; the settings' check reports it).</summary>
        public void ConfigRead(Akka.Configuration.Config config)
        {
            try { _tensorBoard = new ConfigReader(config).Bool("output.tensorboard"); }
            catch (ConfigException) { }
            _configRead.Set();
        }

        /// <summary>Skips what has not begun and waits for what has.</summary>
        public void Dispose()
        {
            _stop = true;
            _configRead.Set();
            _thread.Join();
            _configRead.Dispose();
        }
    }

    /// <summary>Models up to this many parameters (16 MB of float32) are warmed up; a larger one would hold a second copy
    /// of its weights for the warm-up, and its steps are long enough that compiling them is a small share anyway.</summary>
    public const long MaxWarmupParameters = 1L << 22;

    /// <summary>Compiles the model's CPU kernels on a background thread while the data loads (<see cref="ComputeWarmup"/>:
    /// ~0.2 s of the first step otherwise; rows: one shard's, at most 256). Skipped (null) for a GPU run (it computes
    /// elsewhere), for a model over <see cref="MaxWarmupParameters"/> and when the model cannot be built (the run's own
    /// checks then report why, naming the key). It uses its own model and optimizer, so the run's results are
    /// untouched; a failure only loses the head start (logged at debug level). With the actor runtime (`actors`), the
    /// same thread then runs <see cref="ActorTrainer.Runtime.RuntimeWarmup"/> on its host (the run's actor path:
    /// ~0.15 s otherwise) unless the run has started by then (the run never waits for it); in-process,
    /// <see cref="InProcessFit"/>. Dispose the
    /// result when `train` ends: it stops the in-process warm-up at its next step and waits for the thread.</summary>
    public static ComputeWarmupThread? Begin(TrainSettings s, ILogger log, ActorHost? actors)
    {
        if (s.Backend != "cpu") return null;
        long parameters;
        try { parameters = ResourceCheck.Model(s).Parameters; }
        catch (ResourceLimitException) { return null; }      // ResourceCheck.Training reports it after the data loaded
        if (parameters > MaxWarmupParameters) return null;
        int shards = s.Mode == "async" ? 1 : Math.Max(1, s.ShardsPerBatch);
        int rows = Math.Clamp((s.BatchSize + shards - 1) / shards, 1, 256);
        Sequential model;
        ModelPlan plan;
        try { model = s.BuildModel(); plan = model.Plan; }     // here: the settings' model config is not shared with another thread
        catch (Exception e)
        {
            log.LogDebug(e, "compute warm-up skipped: the model does not build");     // the run reports it on its own thread
            return null;
        }
        return new ComputeWarmupThread(stop =>
        {
            try
            {
                try { ComputeWarmup.Run(plan, model.GetWeights(), model.Optimizer, rows); }
                catch (Exception e) { log.LogDebug(e, "compute warm-up failed (the run compiles its kernels as it first uses them)"); }
            }
            finally
            {
                if (actors is not null) actors.WarmUp(plan, model.GetWeights(), model.Optimizer, rows, log);   // skipped once the run has started
                else if (s.Runtime == "in-process" && !stop.IsCancellationRequested) InProcessFit(s, model, rows, log, stop);
            }
        });
    }

    /// <summary>The thread of <see cref="Begin"/>.</summary>
    public sealed class ComputeWarmupThread : IDisposable
    {
        private readonly Thread _thread;
        private readonly CancellationTokenSource _stop = new();

        internal ComputeWarmupThread(Action<CancellationToken> body)
        {
            var token = _stop.Token;
            _thread = new Thread(() => body(token)) { IsBackground = true, Name = "ActorTrainer.Warmup" };
            _thread.Start();
        }

        /// <summary>Stops the in-process warm-up at its next step (a run that ended or failed before it) and waits for the
        /// thread, so that its temporary directory is gone when `train` returns.</summary>
        public void Dispose()
        {
            _stop.Cancel();
            _thread.Join();
            _stop.Dispose();
        }
    }

    /// <summary>Compiles the in-process run's own path: one epoch of two steps of the warm-up's model on synthetic rows
    /// (<see cref="RuntimeWarmup.Synthetic"/>) through the one fit loop on <see cref="InProcessRuntime"/> with the run's
    /// shards per batch (its lanes, gather, fold and update), a validation pass, a checkpoint and history.csv in a
    /// temporary directory it deletes, and the progress bar into <see cref="TextWriter.Null"/> — methods that a run
    /// otherwise compiles on its training cores in its first epoch (~240 of them; a 1-epoch `train` 0.923× the
    /// train_seconds, bench/RESULTS.md 2026-12-05). A failure only loses the head start (logged at debug level).</summary>
    private static void InProcessFit(TrainSettings s, Sequential model, int rows, ILogger log, CancellationToken stop)
    {
        int shards = Math.Max(1, s.ShardsPerBatch), batch = rows * shards;
        var dir = WarmupDirectories.New();
        try
        {
            var options = new FitOptions
            {
                Epochs = 1, BatchSize = batch, Shuffle = s.Shuffle, Seed = s.Seed, ShardsPerBatch = shards,
                Validation = RuntimeWarmup.Synthetic(model.Plan, 3 * rows), Verbose = s.LogFormat == "json" ? 0 : s.Verbose, Output = TextWriter.Null,
                Checkpoints = new CheckpointSink(dir, 1, "", "sync", background: true), Runtime = InProcessRuntime.Instance,
                Cancellation = stop,
            };
            model.FitWith(RuntimeWarmup.Synthetic(model.Plan, 2 * batch), options, [new CSVLogger(Path.Combine(dir, "history.csv"))]);
        }
        catch (Exception e) { log.LogDebug(e, "in-process warm-up failed (the run compiles its fit loop as it first uses it)"); }
        finally
        {
            try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }
}
