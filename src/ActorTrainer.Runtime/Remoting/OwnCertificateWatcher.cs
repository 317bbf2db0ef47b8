using Akka.Actor;
using Akka.Event;

namespace ActorTrainer.Runtime.Remoting;

/// <summary>Says in the node's log, as soon as it happens, that the CA's revocation list (cluster.tls.revocation-list)
/// now revokes this node's own certificate: every peer will refuse its connections from then on, and the node itself
/// learns nothing from TLS when they do (a peer's refusal can even end the handshake before this node's own checks run).
/// Reads the list every <see cref="Interval"/> (the file is parsed again only when its bytes changed) and logs the
/// error once each time the certificate becomes revoked. Started by <see cref="ClusterNode.Create"/> with TLS and a
/// revocation list.</summary>
internal sealed class OwnCertificateWatcher : ReceiveActor, IWithTimers
{
    /// <summary>The actor's name under /user.</summary>
    public const string Name = "own-certificate-watcher";

    /// <summary>How often the list is read.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private sealed class Check
    {
        public static readonly Check Instance = new();
    }

    private readonly RevocationSource _revocation;
    private string? _said;

    /// <summary>A watcher of this node's certificate in `revocation`'s list.</summary>
    public OwnCertificateWatcher(RevocationSource revocation)
    {
        _revocation = revocation;
        Receive<Check>(_ => OnCheck());
    }

    /// <inheritdoc/>
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc/>
    protected override void PreStart()
    {
        OnCheck();
        Timers.StartPeriodicTimer("check", Check.Instance, Interval);
    }

    private void OnCheck()
    {
        string? own = _revocation.OwnRevocation();
        if (own is not null && own != _said) Context.GetLogger().Error("TLS: {0}", own);
        _said = own;
    }
}
