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
    /// (<see cref="Begin"/>) starts, the process has one thread at work, so these ~0.1 s of compiling take an otherwise
    /// idle core instead of the first epoch's cores, where they ran until 2026-12-03 (README's `train` 0.95–0.96×
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
    /// ~0.2 s of the first step otherwise; rows: one shard's, at most 256). Skipped for a GPU run (it computes
    /// elsewhere), for a model over <see cref="MaxWarmupParameters"/> and when the model cannot be built (the run's own
    /// checks then report why, naming the key). It uses its own model and optimizer, so the run's results are
    /// untouched; a failure only loses the head start (logged at debug level). With the actor runtime (`actors`), the
    /// same thread then runs <see cref="ActorTrainer.Runtime.RuntimeWarmup"/> on its host (the run's actor path:
    /// ~0.15 s otherwise), and the run waits for it before it starts.</summary>
    public static void Begin(TrainSettings s, ILogger log, ActorHost? actors)
    {
        if (s.Backend != "cpu") return;
        long parameters;
        try { parameters = ResourceCheck.Model(s).Parameters; }
        catch (ResourceLimitException) { return; }      // ResourceCheck.Training reports it after the data loaded
        if (parameters > MaxWarmupParameters) return;
        int shards = s.Mode == "async" ? 1 : Math.Max(1, s.ShardsPerBatch);
        int rows = Math.Clamp((s.BatchSize + shards - 1) / shards, 1, 256);
        Sequential model;
        ModelPlan plan;
        try { model = s.BuildModel(); plan = model.Plan; }     // here: the settings' model config is not shared with another thread
        catch (Exception e)
        {
            log.LogDebug(e, "compute warm-up skipped: the model does not build");     // the run reports it on its own thread
            return;
        }
        actors?.ExpectWarmup();
        new Thread(() =>
        {
            try
            {
                try { ComputeWarmup.Run(plan, model.GetWeights(), model.Optimizer, rows); }
                catch (Exception e) { log.LogDebug(e, "compute warm-up failed (the run compiles its kernels as it first uses them)"); }
            }
            finally { actors?.WarmUp(plan, model.GetWeights(), model.Optimizer, rows, log); }   // the run waits for this one
        }) { IsBackground = true, Name = "ActorTrainer.Warmup" }.Start();
    }
}
