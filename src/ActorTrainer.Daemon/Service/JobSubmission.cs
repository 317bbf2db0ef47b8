using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using ActorTrainer.Daemon.Commands;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Daemon.Runs;

namespace ActorTrainer.Daemon.Service;

/// <summary>A checked job submission: the effective configuration text the job will train with.</summary>
/// <param name="ConfigText">The rendered, re-parseable HOCON (reference defaults, submitted text, overrides).</param>
/// <param name="Epochs">trainer.epochs of the job.</param>
public sealed record ValidatedJob(string ConfigText, int Epochs);

/// <summary>
/// Checks a <c>POST /jobs</c> body (<c>{"config": "HOCON", "set": {"key": "value"}}</c>) exactly as <c>train</c>
/// checks its <c>--config</c> and <c>--set</c> options (ConfigLoader, TrainSettings); errors name the key.
/// </summary>
public static class JobSubmission
{
    /// <summary>Parses and validates a request body; throws <see cref="ConfigException"/> naming the fault.</summary>
    public static ValidatedJob Validate(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
            throw new ConfigException("request body must be a JSON object such as {\"config\": \"trainer.epochs = 2\", \"set\": {\"trainer.seed\": \"3\"}}");
        string? text = null;
        var sets = new List<string>();
        foreach (var p in body.EnumerateObject())
        {
            switch (p.Name)
            {
                case "config" when p.Value.ValueKind == JsonValueKind.String: text = p.Value.GetString(); break;
                case "config" when p.Value.ValueKind == JsonValueKind.Null: break;
                case "config": throw new ConfigException("request: 'config' must be a string of HOCON text");
                case "set": sets.AddRange(ReadSets(p.Value)); break;
                default: throw new ConfigException($"request: unknown field '{p.Name}' (allowed: config, set)");
            }
        }
        var source = "config";
        if (text is null)
        {
            // Like `train` without --config: the default config file.
            var file = TrainCommand.DefaultConfig();
            text = File.Exists(file) ? File.ReadAllText(file) : null;
            source = file;
        }
        var config = ConfigLoader.LoadText(text, source, sets);
        var settings = TrainSettings.From(config);
        // what `train` refuses before it writes anything, short of reading the data: sizes, and the bundled data's classes
        try { ResourceCheck.Model(settings); }
        catch (ActorTrainer.Core.ResourceLimitException e) { throw new ConfigException(e.Message); }
        if (settings.DataDir.Length == 0) BundledClasses(settings);
        if (settings.DataDir.Length > 0 && !Directory.Exists(settings.DataDir))
            throw new ConfigException($"config: data.dir = '{settings.DataDir}' is not a directory on the server");
        try { TrainData.CheckDir(settings); }       // its files and headers, as train checks them before decoding
        catch (InvalidDataException e) { throw new ConfigException(e.Message); }      // a file the server cannot read
        if (settings.MetricsPort != 0)
            throw new ConfigException($"config: metrics.port = {settings.MetricsPort}: a job under serve reports its metrics on the service's /metrics; leave metrics.port at 0");
        if (settings.Cluster is { Enabled: true })
            throw new ConfigException("config: cluster.enabled = on: a job under serve trains in the service's machine only (a cluster coordinator opens network listeners and reads certificate files); run `train` with the cluster config instead");
        var header = "# Effective configuration of a job submitted to `serve` (reference.conf < submitted config" +
                     (sets.Count > 0 ? " < " + string.Join(", ", sets.Select(s => "set " + ConfigLoader.OneLine(s))) : "") + ").\n";
        return new ValidatedJob(header + ConfigLoader.Render(config) + "\n", settings.Epochs);
    }

    /// <summary>The bundled MNIST has 10 classes: a sparse loss needs at least 10 output units, the one-hot losses
    /// exactly 10 (as `train` finds when it reads the data).</summary>
    private static void BundledClasses(TrainSettings s)
    {
        const int classes = 10;
        if (!ActorTrainer.Core.Loss.Parse(s.Loss).SparseTargets)
            LabelTargets.CheckOutputWidth(s, s.InputShape.Aggregate(1, (a, b) => a * b), classes, "the bundled MNIST");
        else if (s.Layers.OfType<ActorTrainer.Core.Dense>().LastOrDefault() is { Units: < classes } last)
            throw new ConfigException($"config: model.layers: the last dense layer has {last.Units} units but the bundled MNIST has {classes} classes (labels 0 to 9); loss {s.Loss} needs units >= {classes}");
    }

    private static IEnumerable<string> ReadSets(JsonElement set)
    {
        if (set.ValueKind == JsonValueKind.Null) yield break;
        if (set.ValueKind != JsonValueKind.Object)
            throw new ConfigException("request: 'set' must be an object of key/value overrides such as {\"trainer.epochs\": \"2\"}");
        foreach (var p in set.EnumerateObject())
        {
            var value = p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString()!,
                JsonValueKind.Number => p.Value.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => throw new ConfigException($"request: set.{p.Name} must be a string, number or boolean, got {p.Value.ValueKind.ToString().ToLowerInvariant()}"),
            };
            if (p.Name.Trim().Length == 0 || p.Name.Contains('='))
                throw new ConfigException($"request: set key '{p.Name}' is not a config key such as trainer.epochs");
            yield return p.Name + "=" + value;
        }
    }

    /// <summary>A new job id: <c>j</c>, the UTC submission time and 6 random hex digits (sortable, unique, and a
    /// safe directory name).</summary>
    public static string NewId() =>
        "j" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" +
        Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();

    /// <summary>True when <paramref name="id"/> has the shape <see cref="NewId"/> produces (checked before any
    /// path is built from a client-supplied id).</summary>
    public static bool IsWellFormedId(string id)
    {
        if (id.Length is <= 1 or > 40 || id[0] != 'j') return false;
        foreach (var c in id.AsSpan(1))      // on every request: no LINQ, no allocation
            if (!(char.IsAsciiDigit(c) || c is '-' || char.IsAsciiHexDigitLower(c))) return false;
        return true;
    }
}
