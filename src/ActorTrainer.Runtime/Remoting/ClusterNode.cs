using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;

namespace ActorTrainer.Runtime.Remoting;

/// <summary>Starts a cluster node.</summary>
public static class ClusterNode
{
    /// <summary>How often a cluster node's log shows the same message (<see cref="RepeatedLogFilter"/>).</summary>
    public static readonly TimeSpan RepeatInterval = TimeSpan.FromSeconds(30);

    /// <summary>An ActorSystem named <see cref="ClusterSettings.SystemName"/> configured by
    /// <see cref="ClusterSettings.ToConfig"/>, with every ITrainingMessage bound to TrainingMessageSerializer
    /// (<see cref="TrainingMessageSerializer.CreateSetup"/>, as ActorTrainingRunner does; from peers it accepts only
    /// <see cref="TrainingMessageSerializer.ClusterInbound"/>) and, with TLS, a
    /// DotNettySslSetup carrying the node's certificate and (when a CA is configured) the
    /// <see cref="TrustedCaValidator"/>, a <see cref="TlsFailureLogFilter"/> (a failed TLS handshake: one line per peer
    /// host and reason per <see cref="RepeatInterval"/> instead of Akka's three events), a <see cref="PeerLossLogFilter"/> (Akka's stack traces about a node that went
    /// away are dropped; its watcher, <see cref="PeerLossWatcher"/>, runs under /user; with a revocation list, so does
    /// <see cref="OwnCertificateWatcher"/>) and a <see cref="RepeatedLogFilter"/>
    /// that shows a repeated log message at most once per <see cref="RepeatInterval"/>. `extra` adds settings the rendered config does not set (the rendered keys,
    /// strict serialization among them, take precedence). The node joins its seed nodes, if any, on start.</summary>
    public static ActorSystem Create(ClusterSettings s, Config? extra = null)
    {
        ArgumentNullException.ThrowIfNull(s);
        var config = s.ToConfig();
        if (extra is not null) config = config.WithFallback(extra);
        var peerLoss = new PeerLossLogFilter();
        var tlsFailures = new TlsFailureLogFilter(RepeatInterval);
        ActorSystemSetup setup = BootstrapSetup.Create().WithConfig(config).And(TrainingMessageSerializer.CreateSetup(TrainingMessageSerializer.ClusterInbound))
            .And(new LogFilterSetup([tlsFailures, peerLoss, new RepeatedLogFilter(RepeatInterval)]));
        RevocationSource? revocation = null;
        if (s.Tls is { } tls) setup = setup.And(SslSetup(tls, out revocation));
        var system = ActorSystem.Create(s.SystemName, setup);
        tlsFailures.Attach(Logging.GetLogger(system, "cluster.tls"));
        system.ActorOf(ActorProps.Of(() => new PeerLossWatcher(peerLoss)), PeerLossWatcher.Name);
        if (revocation is not null) system.ActorOf(ActorProps.Of(() => new OwnCertificateWatcher(revocation)), OwnCertificateWatcher.Name);
        return system;
    }

    /// <summary>The DotNettySslSetup of the TLS settings (mutual authentication, validation never suppressed) and the
    /// revocation list its validator reads (null without cluster.tls.revocation-list).</summary>
    private static DotNettySslSetup SslSetup(RemotingTls tls, out RevocationSource? revocation)
    {
        revocation = null;
        var certificate = X509CertificateLoader.LoadPkcs12FromFile(tls.CertificatePath, tls.Password);
        if (!certificate.HasPrivateKey)
            throw new ArgumentException($"cluster.tls.certificate-path: '{tls.CertificatePath}' holds no private key", "cluster.tls.certificate-path");
        if (tls.CaCertificatePath is null)
            return new DotNettySslSetup(certificate, suppressValidation: false, requireMutualAuthentication: true,
                validateCertificateHostname: tls.ValidateCertificateHostname);
        var ca = TrustedCaValidator.LoadCa(tls.CaCertificatePath);
        revocation = tls.RevocationListPath is { } crl ? new RevocationSource(crl, ca, certificate) : null;
        return new DotNettySslSetup(certificate, suppressValidation: false, requireMutualAuthentication: true,
            validateCertificateHostname: tls.ValidateCertificateHostname,
            customValidator: TrustedCaValidator.Create(ca, tls.ValidateCertificateHostname, revocation));
    }
}
