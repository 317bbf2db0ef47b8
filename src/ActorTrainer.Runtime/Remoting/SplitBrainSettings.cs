namespace ActorTrainer.Runtime.Remoting;

/// <summary>Akka.Cluster's split-brain resolver (<c>akka.cluster.split-brain-resolver</c>; config keys
/// <c>cluster.split-brain.*</c>). The default suits a small training cluster whose coordinator is the first seed
/// node and therefore the oldest member: <b>keep-oldest</b> restricted to the <c>coordinator</c> role, with
/// <b>down-if-alone off</b>. On a partition the side that holds the coordinator survives and every worker cut off from
/// it downs itself (it cannot train without the coordinator, and its shards are re-queued by the coordinator), even
/// when the coordinator is alone on its side: a surviving group of workers without a coordinator would be useless,
/// whereas a lone coordinator keeps the job and its state and can take workers that restart and rejoin. If the
/// coordinator itself dies, the workers form the side without the oldest and down themselves, so the whole job stops
/// instead of splitting. keep-majority would instead let a majority of workers survive without the coordinator.</summary>
/// <param name="Strategy">Key <c>cluster.split-brain.strategy</c>: <c>keep-oldest</c> (default), <c>keep-majority</c>
/// or <c>down-all</c> (Akka's <c>active-strategy</c>).</param>
/// <param name="DownIfAlone">Key <c>cluster.split-brain.down-if-alone</c> (keep-oldest only): when on, an oldest member
/// that is alone on its side downs itself if the other side has at least two members.</param>
/// <param name="Role">Key <c>cluster.split-brain.role</c>: the decision considers only members with this role (for
/// keep-oldest: the oldest <c>coordinator</c>); null or empty = all members.</param>
public sealed record SplitBrainSettings(string Strategy = SplitBrainSettings.KeepOldest, bool DownIfAlone = false,
    string? Role = SplitBrainSettings.CoordinatorRole)
{
    /// <summary>Akka's keep-oldest strategy.</summary>
    public const string KeepOldest = "keep-oldest";

    /// <summary>Akka's keep-majority strategy.</summary>
    public const string KeepMajority = "keep-majority";

    /// <summary>Akka's down-all strategy.</summary>
    public const string DownAll = "down-all";

    /// <summary>The role of the node that runs the coordinator.</summary>
    public const string CoordinatorRole = "coordinator";

    /// <summary>The strategies this type renders.</summary>
    public static IReadOnlyList<string> Strategies { get; } = [KeepOldest, KeepMajority, DownAll];
}
