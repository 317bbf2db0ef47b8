namespace ActorTrainer.Runtime.Remoting;

/// <summary>TLS of the Akka remoting connections (config keys <c>cluster.tls.*</c>), mutual: every node presents its
/// certificate and checks its peer's, in both directions (Akka.Remote 1.5.74:
/// <c>akka.remote.dot-netty.tcp.ssl.require-mutual-authentication = on</c>; the server asks for a client certificate
/// and refuses a connection without one).
/// <para>Trust: Akka's HOCON has no key for a private CA; from configuration alone it validates the peer's chain
/// against the operating system's trust store. When <see cref="CaCertificatePath"/> is set, <see cref="ClusterNode.Create"/>
/// passes a <c>DotNettySslSetup</c> whose validator accepts only certificates that chain to that CA (custom root
/// trust, the system store ignored); without <see cref="ClusterNode.Create"/> (plain HOCON) that restriction is
/// lost. With <see cref="RevocationListPath"/> the same validator also refuses certificates on the CA's revocation list
/// (<see cref="RevocationSource"/>). Not available in Akka.NET 1.5.74: authorizing a peer by its Akka address
/// (any certificate the CA signed is accepted from any address), and hostname checks of inbound (client)
/// certificates.</para></summary>
/// <param name="CertificatePath">Key <c>cluster.tls.certificate-path</c>: this node's certificate with private key, a PKCS#12
/// (.pfx) file.</param>
/// <param name="Password">Key <c>cluster.tls.password</c>: the PFX password (null = none).</param>
/// <param name="CaCertificatePath">Key <c>cluster.tls.ca-certificate-path</c>: the CA (DER or PEM certificate file) that must
/// have signed every peer's certificate; null = the operating system's trust store.</param>
/// <param name="ValidateCertificateHostname">Key <c>cluster.tls.validate-certificate-hostname</c>: also require that
/// a server's certificate names the host it was reached at (outbound connections only; Akka's
/// <c>validate-certificate-hostname</c>). Off by default: nodes are usually reached by IP address.</param>
/// <param name="RevocationListPath">Key <c>cluster.tls.revocation-list</c>: the CA's certificate revocation list (X.509
/// CRL, PEM or DER; needs <paramref name="CaCertificatePath"/>); null = no revocation check.</param>
public sealed record RemotingTls(string CertificatePath, string? Password = null, string? CaCertificatePath = null,
    bool ValidateCertificateHostname = false, string? RevocationListPath = null);
