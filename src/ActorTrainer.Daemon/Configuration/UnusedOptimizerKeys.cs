using ActorTrainer.Core;
using Akka.Configuration;

namespace ActorTrainer.Daemon.Configuration;

/// <summary>Optimizer keys a configuration sets that optimizer.type does not read. reference.conf gives every type's
/// keys and only the chosen type's are read, so a key left from another type (`rho = 0.5` after switching to sgd) would
/// change nothing without a word; each one whose value differs from reference.conf's gets a warning.</summary>
public static class UnusedOptimizerKeys
{
    private static readonly Lazy<Config> Reference = new(() => ConfigLoader.LoadText(null, "reference.conf", []));

    /// <summary>One warning per optimizer key that optimizer.type does not take and whose value is not
    /// reference.conf's; empty when there is none (or the type is unknown, which the model schema refuses).</summary>
    public static IReadOnlyList<string> Of(Config config)
    {
        var warnings = new List<string>();
        var section = config.GetValue("optimizer");
        if (section is null || !section.IsObject() || !config.HasPath("optimizer.type")) return warnings;
        var type = config.GetString("optimizer.type")?.Trim() ?? "";
        var own = ModelConfig.optimizerKeys(type).Select(k => k.Replace('_', '-')).ToList();
        if (own.Count == 0) return warnings;
        foreach (var key in section.GetObject().Items.Keys)
        {
            if (key is "type" or "learning-rate" || WeakScaling.OptimizerScheduleKeys.Contains(key) || own.Contains(key)) continue;
            var path = "optimizer." + key;
            if (SameAsReference(config, path)) continue;
            warnings.Add($"config: optimizer.{key} = {config.GetValue(path)} is not used by optimizer.type = {type} " +
                         $"(it reads learning-rate{string.Concat(own.Select(k => ", " + k))}); it is ignored");
        }
        return warnings;
    }

    /// <summary>True when `path` has reference.conf's value (numbers compared as numbers, flags as flags).</summary>
    private static bool SameAsReference(Config config, string path)
    {
        var reference = Reference.Value;
        if (!reference.HasPath(path)) return false;
        try
        {
            var r = reference.GetString(path);
            if (bool.TryParse(r, out _)) return config.GetBoolean(path) == reference.GetBoolean(path);
            return config.GetDouble(path) == reference.GetDouble(path);
        }
        catch (Exception e) when (e is FormatException or ConfigurationException or InvalidCastException) { return false; }
    }
}
