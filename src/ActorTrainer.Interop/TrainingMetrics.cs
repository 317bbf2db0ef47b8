using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace ActorTrainer.Interop;

/// <summary>One metric sample for exposition: Prometheus name (prefixed "actortrainer_"), help text, type ("gauge"|"counter"), value.</summary>
/// <param name="Name">Prometheus metric name, prefixed "actortrainer_".</param>
/// <param name="Help">The # HELP text.</param>
/// <param name="Type">The # TYPE: "gauge" or "counter".</param>
/// <param name="Value">The sample's value.</param>
public sealed record MetricSample(string Name, string Help, string Type, double Value);

/// <summary>
/// Thread-safe training gauges (last value wins) and monotonic counters, published as observable instruments on a
/// System.Diagnostics.Metrics <see cref="Meter"/> named "ActorTrainer" and rendered in Prometheus text format 0.0.4.
/// </summary>
public sealed class TrainingMetrics : IDisposable
{
    /// <summary>Name of the Meter the instruments are published on.</summary>
    public const string MeterName = "ActorTrainer";

    /// <summary>Prefix of every exposed Prometheus metric name.</summary>
    public const string Prefix = "actortrainer_";

    private long _stepsPerSecond, _loss, _accuracy, _valLoss, _valAccuracy, _learningRate, _serverSeconds; // double bits
    private long _workersAlive, _parameterServerVersion, _stepsTotal, _epochsTotal, _staleGradientsTotal;

    /// <summary>Creates the metrics and registers their observable instruments on a new Meter "ActorTrainer".</summary>
    public TrainingMetrics()
    {
        Meter = new Meter(MeterName);
        Meter.CreateObservableGauge("steps_per_second", () => StepsPerSecond, "{step}/s", "Training steps per second.");
        Meter.CreateObservableGauge("loss", () => Loss, null, "Most recent training loss.");
        Meter.CreateObservableGauge("accuracy", () => Accuracy, null, "Most recent training accuracy.");
        Meter.CreateObservableGauge("val_loss", () => ValLoss, null, "Most recent validation loss.");
        Meter.CreateObservableGauge("val_accuracy", () => ValAccuracy, null, "Most recent validation accuracy.");
        Meter.CreateObservableGauge("learning_rate", () => LearningRate, null, "Current optimizer learning rate.");
        Meter.CreateObservableGauge("workers_alive", () => WorkersAlive, "{worker}", "Number of live worker actors.");
        Meter.CreateObservableGauge("parameter_server_version", () => ParameterServerVersion, null, "Parameter server weight version.");
        Meter.CreateObservableCounter("steps_total", () => StepsTotal, "{step}", "Training steps completed.");
        Meter.CreateObservableCounter("epochs_total", () => EpochsTotal, "{epoch}", "Epochs completed.");
        Meter.CreateObservableCounter("stale_gradients_total", () => StaleGradientsTotal, "{gradient}", "Gradients dropped as stale.");
        Meter.CreateObservableCounter("parameter_server_seconds_total", () => ParameterServerSecondsTotal, "s", ServerSecondsHelp);
    }

    private const string ServerSecondsHelp = "Parameter-server time of this run (per step the busiest slice's fold + update).";

    /// <summary>The System.Diagnostics.Metrics meter ("ActorTrainer") carrying the observable instruments.</summary>
    public Meter Meter { get; }

    /// <summary>Gauge: training steps per second.</summary>
    public double StepsPerSecond { get => GetD(ref _stepsPerSecond); set => SetD(ref _stepsPerSecond, value); }

    /// <summary>Gauge: most recent training loss.</summary>
    public double Loss { get => GetD(ref _loss); set => SetD(ref _loss, value); }

    /// <summary>Gauge: most recent training accuracy.</summary>
    public double Accuracy { get => GetD(ref _accuracy); set => SetD(ref _accuracy, value); }

    /// <summary>Gauge: most recent validation loss.</summary>
    public double ValLoss { get => GetD(ref _valLoss); set => SetD(ref _valLoss, value); }

    /// <summary>Gauge: most recent validation accuracy.</summary>
    public double ValAccuracy { get => GetD(ref _valAccuracy); set => SetD(ref _valAccuracy, value); }

    /// <summary>Gauge: current learning rate.</summary>
    public double LearningRate { get => GetD(ref _learningRate); set => SetD(ref _learningRate, value); }

    /// <summary>Gauge: number of live workers (must be ≥ 0).</summary>
    public long WorkersAlive { get => Interlocked.Read(ref _workersAlive); set => Interlocked.Exchange(ref _workersAlive, NonNegative(value, nameof(WorkersAlive))); }

    /// <summary>Gauge: parameter-server weight version (must be ≥ 0).</summary>
    public long ParameterServerVersion { get => Interlocked.Read(ref _parameterServerVersion); set => Interlocked.Exchange(ref _parameterServerVersion, NonNegative(value, nameof(ParameterServerVersion))); }

    /// <summary>Counter: the parameter server's seconds in this run (per step, the busiest slice's fold + check +
    /// update; finite and ≥ 0; the actor runtime sets it, a new run starts again at 0).</summary>
    public double ParameterServerSecondsTotal
    {
        get => GetD(ref _serverSeconds);
        set => SetD(ref _serverSeconds, double.IsFinite(value) && value >= 0 ? value
            : throw new ArgumentOutOfRangeException(nameof(ParameterServerSecondsTotal), value, "must be a finite number >= 0"));
    }

    /// <summary>Counter: total training steps.</summary>
    public long StepsTotal => Interlocked.Read(ref _stepsTotal);

    /// <summary>Counter: total epochs.</summary>
    public long EpochsTotal => Interlocked.Read(ref _epochsTotal);

    /// <summary>Counter: total stale gradients dropped.</summary>
    public long StaleGradientsTotal => Interlocked.Read(ref _staleGradientsTotal);

    /// <summary>Adds <paramref name="n"/> ≥ 0 to steps_total.</summary>
    public void AddSteps(long n = 1) => Interlocked.Add(ref _stepsTotal, NonNegative(n, "steps increment"));

    /// <summary>Adds <paramref name="n"/> ≥ 0 to epochs_total.</summary>
    public void AddEpochs(long n = 1) => Interlocked.Add(ref _epochsTotal, NonNegative(n, "epochs increment"));

    /// <summary>Adds <paramref name="n"/> ≥ 0 to stale_gradients_total.</summary>
    public void AddStaleGradients(long n = 1) => Interlocked.Add(ref _staleGradientsTotal, NonNegative(n, "stale gradients increment"));

    /// <summary>Hold this lock while setting several metrics that belong together (a step's loss, weight version and
    /// step count); <see cref="Snapshot"/> takes it too, so a scrape sees them all before or all after.</summary>
    public object Gate { get; } = new();

    /// <summary>A snapshot of all metrics in exposition order, consistent with every update made under
    /// <see cref="Gate"/>.</summary>
    public IReadOnlyList<MetricSample> Snapshot()
    {
        lock (Gate) return Samples();
    }

    private MetricSample[] Samples() =>
    [
        new(Prefix + "steps_per_second", "Training steps per second.", "gauge", StepsPerSecond),
        new(Prefix + "loss", "Most recent training loss.", "gauge", Loss),
        new(Prefix + "accuracy", "Most recent training accuracy.", "gauge", Accuracy),
        new(Prefix + "val_loss", "Most recent validation loss.", "gauge", ValLoss),
        new(Prefix + "val_accuracy", "Most recent validation accuracy.", "gauge", ValAccuracy),
        new(Prefix + "learning_rate", "Current optimizer learning rate.", "gauge", LearningRate),
        new(Prefix + "workers_alive", "Number of live worker actors.", "gauge", WorkersAlive),
        new(Prefix + "parameter_server_version", "Parameter server weight version.", "gauge", ParameterServerVersion),
        new(Prefix + "steps_total", "Training steps completed.", "counter", StepsTotal),
        new(Prefix + "epochs_total", "Epochs completed.", "counter", EpochsTotal),
        new(Prefix + "stale_gradients_total", "Gradients dropped as stale.", "counter", StaleGradientsTotal),
        new(Prefix + "parameter_server_seconds_total", ServerSecondsHelp, "counter", ParameterServerSecondsTotal),
    ];

    /// <summary>Renders all metrics in Prometheus text exposition format 0.0.4 (# HELP, # TYPE, "name value" lines, '\n' endings).</summary>
    public string ToPrometheusText()
    {
        var sb = new StringBuilder(1024);
        foreach (var s in Snapshot())
        {
            sb.Append("# HELP ").Append(s.Name).Append(' ').Append(s.Help).Append('\n');
            sb.Append("# TYPE ").Append(s.Name).Append(' ').Append(s.Type).Append('\n');
            sb.Append(s.Name).Append(' ').Append(FormatValue(s.Value)).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Formats a sample value as Prometheus expects: shortest round-trip decimal, "NaN", "+Inf", "-Inf".</summary>
    public static string FormatValue(double v) =>
        double.IsNaN(v) ? "NaN"
        : double.IsPositiveInfinity(v) ? "+Inf"
        : double.IsNegativeInfinity(v) ? "-Inf"
        : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Disposes the Meter (its instruments stop publishing).</summary>
    public void Dispose() => Meter.Dispose();

    private static double GetD(ref long bits) => BitConverter.Int64BitsToDouble(Interlocked.Read(ref bits));

    private static void SetD(ref long bits, double v) => Interlocked.Exchange(ref bits, BitConverter.DoubleToInt64Bits(v));

    private static long NonNegative(long v, string what) =>
        v >= 0 ? v : throw new ArgumentOutOfRangeException(what, v, $"{what} must be non-negative, got {v}.");
}
