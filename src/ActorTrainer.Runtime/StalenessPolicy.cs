namespace ActorTrainer.Runtime;

/// <summary>How async mode treats a gradient computed on weights τ versions old (config trainer.async.staleness).
/// Gradients older than trainer.async.max-staleness are rejected under every policy.</summary>
public enum StalenessPolicy
{
    /// <summary>Apply at the full learning rate (Downpour).</summary>
    None = 0,
    /// <summary>Apply at learning rate / max(1, τ) (staleness-aware ASGD, Zhang et al., IJCAI 2016).</summary>
    Inverse = 1,
}

/// <summary>The learning-rate factor of each policy.</summary>
public static class StalenessPolicies
{
    /// <summary>None: 1; Inverse: 1 / max(1, τ).</summary>
    public static float LearningRateScale(this StalenessPolicy policy, long staleness) =>
        policy == StalenessPolicy.Inverse ? 1f / Math.Max(1, staleness) : 1f;

    /// <summary>Parses the config value ("none" | "inverse"); throws ArgumentException naming the key.</summary>
    public static StalenessPolicy Parse(string value) => value switch
    {
        "none" => StalenessPolicy.None,
        "inverse" => StalenessPolicy.Inverse,
        _ => throw new ArgumentException($"trainer.async.staleness must be 'none' or 'inverse', got '{value}'", nameof(value)),
    };
}
