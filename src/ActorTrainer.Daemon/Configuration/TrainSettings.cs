using Akka.Configuration;
using ActorTrainer.Core;

namespace ActorTrainer.Daemon.Configuration;

/// <summary>One entry of model.layers.</summary>
public sealed record LayerSettings(string Type, int Units, string Activation, bool UseBias, Initializer KernelInitializer,
                                   Initializer BiasInitializer, double Rate);

/// <summary>Every setting of a training run, read and range-checked from the layered HOCON config.</summary>
public sealed record TrainSettings(
    int Seed, int Epochs, int BatchSize, bool Shuffle, int ShardsPerBatch, string Runtime, int Workers, string Mode,
    TimeSpan WorkerTimeout, int AsyncPullEvery, int AsyncMaxStaleness, int CheckpointEverySteps, int CheckpointKeep,
    int Verbose, string DataDir, int TrainLimit, int TestLimit, string Validation, double ValidationSplit,
    string ModelName, int[] InputShape, IReadOnlyList<LayerSettings> Layers, Optimizer Optimizer, string OptimizerType,
    string Loss, IReadOnlyList<string> Metrics, int MetricsPort, bool Plots, bool TensorBoard, int TensorBoardEverySteps,
    bool SaveModel, string LogFormat, Config Config)
{
    private static readonly string[] Activations = ["linear", "relu", "sigmoid", "tanh", "softmax"];
    private static readonly string[] Initializers = ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "random_uniform", "random_normal", "zeros", "ones"];

    /// <summary>Reads and validates every key; throws <see cref="ConfigException"/> naming the first bad key.</summary>
    public static TrainSettings From(Config config)
    {
        var r = new ConfigReader(config);
        var loss = r.OneOf("loss", "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy", "mse");
        var (metrics, port) = ReadMetrics(config, loss);
        var optType = r.OneOf("optimizer.type", "sgd", "rmsprop", "adagrad", "adam");
        var lr = r.Double("optimizer.learning-rate", 0, double.PositiveInfinity, exclusiveMin: true);
        var momentum = r.Double("optimizer.momentum", 0, 1);
        var eps = r.Double("optimizer.epsilon", 0, double.PositiveInfinity, exclusiveMin: true);
        Optimizer opt = optType switch
        {
            "sgd" => new SGD(lr, momentum, r.Bool("optimizer.nesterov")),
            "rmsprop" => new RMSprop(lr, r.Double("optimizer.rho", 0, 1), momentum, eps, r.Bool("optimizer.centered")),
            "adagrad" => new Adagrad(lr, r.Double("optimizer.initial-accumulator-value", 0), eps),
            _ => new Adam(lr, r.Double("optimizer.beta-1", 0, 1, exclusiveMax: true), r.Double("optimizer.beta-2", 0, 1, exclusiveMax: true), eps, r.Bool("optimizer.amsgrad")),
        };
        var validation = r.OneOf("data.validation", "test", "split", "none");
        return new TrainSettings(
            Seed: r.Int("trainer.seed"),
            Epochs: r.Int("trainer.epochs", 1),
            BatchSize: r.Int("trainer.batch-size", 1),
            Shuffle: r.Bool("trainer.shuffle"),
            ShardsPerBatch: r.Int("trainer.shards-per-batch", 1),
            Runtime: r.OneOf("trainer.runtime", "actors", "in-process"),
            Workers: r.Int("trainer.workers", 0),
            Mode: r.OneOf("trainer.mode", "sync", "async"),
            WorkerTimeout: r.Duration("trainer.worker-timeout"),
            AsyncPullEvery: r.Int("trainer.async.pull-every", 1),
            AsyncMaxStaleness: r.Int("trainer.async.max-staleness", 0),
            CheckpointEverySteps: r.Int("trainer.checkpoint.every-steps", 0),
            CheckpointKeep: r.Int("trainer.checkpoint.keep", 1),
            Verbose: r.Int("trainer.verbose", 0, 2),
            DataDir: r.String("data.dir"),
            TrainLimit: r.Int("data.train-limit", 0),
            TestLimit: r.Int("data.test-limit", 0),
            Validation: validation,
            ValidationSplit: r.Double("data.validation-split", 0, 1, exclusiveMin: true, exclusiveMax: true),
            ModelName: r.String("model.name"),
            InputShape: r.IntList("model.input-shape", 1),
            Layers: ReadLayers(config),
            Optimizer: opt,
            OptimizerType: optType,
            Loss: loss,
            Metrics: metrics,
            MetricsPort: port,
            Plots: r.Bool("output.plots"),
            TensorBoard: r.Bool("output.tensorboard"),
            TensorBoardEverySteps: r.Int("output.tensorboard-every-steps", 0),
            SaveModel: r.Bool("output.save-model"),
            LogFormat: r.OneOf("output.log-format", "text", "json"),
            Config: config);
    }

    private static (IReadOnlyList<string>, int) ReadMetrics(Config config, string loss)
    {
        var v = config.GetValue("metrics");
        IEnumerable<Akka.Configuration.Hocon.HoconValue> names;
        var port = 0;
        if (v.IsArray()) names = v.GetArray();
        else if (v.IsObject())
        {
            var o = v.GetObject().Items;
            names = o.TryGetValue("names", out var n) ? (n.IsArray() ? n.GetArray() : throw new ConfigException("config: metrics.names must be a list such as [accuracy]")) : [];
            if (o.TryGetValue("port", out var p) && (!int.TryParse(p.GetString(), out port) || port < 0 || port > 65535))
                throw new ConfigException($"config: metrics.port must be an integer in [0, 65535] (0 = off), got '{p.GetString()}'");
            if (!o.ContainsKey("names")) names = [];
        }
        else throw new ConfigException($"config: metrics must be a list such as [accuracy] or an object {{ names = [accuracy], port = 9100 }}, got '{v.GetString()}'");
        var list = names.Select(n => n.GetString()).ToList();
        if (v.IsObject() && !v.GetObject().Items.ContainsKey("names")) list = ["accuracy"];
        var lossKind = ActorTrainer.Core.Loss.Parse(loss);
        try
        {
            return (list.Select(m => Core.Metrics.resolve(lossKind, m)).Distinct().ToList(), port);
        }
        catch (ArgumentException e)
        {
            throw new ConfigException($"config: metrics: {e.Message.Split(" (Parameter")[0]}");
        }
    }

    private static IReadOnlyList<LayerSettings> ReadLayers(Config config)
    {
        var v = config.GetValue("model.layers");
        if (v is null || !v.IsArray()) throw new ConfigException("config: model.layers must be a list of layer objects such as [{ type = dense, units = 10, activation = softmax }]");
        var arr = v.GetArray();
        if (arr.Count == 0) throw new ConfigException("config: model.layers must hold at least one layer");
        var result = new List<LayerSettings>();
        for (var i = 0; i < arr.Count; i++)
        {
            var key = $"model.layers[{i}]";
            if (!arr[i].IsObject()) throw new ConfigException($"config: {key} must be an object such as {{ type = dense, units = 10 }}");
            var items = arr[i].GetObject().Items;
            string Str(string k, string dflt) => items.TryGetValue(k, out var x) ? x.GetString() : dflt;
            double Num(string k, double dflt)
            {
                if (!items.TryGetValue(k, out var x)) return dflt;
                return double.TryParse(x.GetString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
                    ? d : throw new ConfigException($"config: {key}.{k} must be a number, got '{x.GetString()}'");
            }
            string Pick(string k, string dflt, string[] allowed)
            {
                var s = Str(k, dflt).Trim().ToLowerInvariant();
                return Array.IndexOf(allowed, s) >= 0 ? s : throw new ConfigException($"config: {key}.{k} must be one of {string.Join(", ", allowed)}, got '{Str(k, dflt)}'");
            }
            var type = Pick("type", "", ["dense", "flatten", "dropout", "activation"]);
            string[] allowedKeys = type switch
            {
                "dense" => ["type", "units", "activation", "use-bias", "kernel-initializer", "kernel-min", "kernel-max", "kernel-stddev", "bias-initializer"],
                "dropout" => ["type", "rate"],
                "activation" => ["type", "activation"],
                _ => ["type"],
            };
            foreach (var k in items.Keys)
                if (Array.IndexOf(allowedKeys, k) < 0)
                    throw new ConfigException($"config: unknown key '{key}.{k}' for a {type} layer (allowed: {string.Join(", ", allowedKeys)})");
            var units = 0;
            if (type == "dense")
            {
                var u = Num("units", double.NaN);
                if (double.IsNaN(u)) throw new ConfigException($"config: {key}.units is required for a dense layer");
                if (u < 1 || u != Math.Floor(u) || u > 1_000_000) throw new ConfigException($"config: {key}.units must be an integer in [1, 1000000], got {Str("units", "")}");
                units = (int)u;
            }
            var act = Pick("activation", type == "activation" ? "" : "linear", Activations);
            var rate = Num("rate", type == "dropout" ? double.NaN : 0);
            if (type == "dropout" && !(rate >= 0 && rate < 1)) throw new ConfigException($"config: {key}.rate must be in [0, 1), got '{Str("rate", "(missing)")}'");
            var useBias = Str("use-bias", "true").ToLowerInvariant() switch
            {
                "true" => true, "false" => false,
                var s => throw new ConfigException($"config: {key}.use-bias must be true or false, got '{s}'"),
            };
            var kName = Pick("kernel-initializer", "glorot_uniform", Initializers);
            var kernel = kName switch
            {
                "random_uniform" => Initializer.NewRandomUniform(Num("kernel-min", -0.05), Num("kernel-max", 0.05)),
                "random_normal" => Initializer.NewRandomNormal(0.0, Num("kernel-stddev", 0.05)),
                _ => Initializer.Parse(kName),
            };
            if (kName == "random_uniform" && Num("kernel-min", -0.05) >= Num("kernel-max", 0.05))
                throw new ConfigException($"config: {key}.kernel-min must be < {key}.kernel-max");
            var bias = Initializer.Parse(Pick("bias-initializer", "zeros", Initializers));
            result.Add(new LayerSettings(type, units, act, useBias, kernel, bias, rate));
        }
        return result;
    }

    /// <summary>The Keras Sequential model these settings describe (not yet built).</summary>
    public Sequential BuildModel()
    {
        var layers = Layers.Select<LayerSettings, Layer>(l => l.Type switch
        {
            "dense" => new Dense(l.Units, l.Activation, l.KernelInitializer, l.BiasInitializer, l.UseBias, ""),
            "flatten" => new Flatten(),
            "dropout" => new Dropout(l.Rate, Seed),
            _ => new ActivationLayer(l.Activation),
        }).ToList();
        var model = new Sequential(layers, ModelName, InputShape, Seed);
        model.Build(InputShape);
        model.Compile(Optimizer, Loss, Metrics);
        return model;
    }
}
