using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace ActorTrainer.Runtime.DataPlane;

/// <summary>
/// Mutual TLS for one end of the data plane: this end's certificate (from the PFX) and the one CA that peers must
/// chain to. Runs SslStream as client or server; the peer's certificate is checked against the CA only
/// (X509ChainTrustMode.CustomRootTrust, no system roots, no host name) and, when configured, the CA's revocation list
/// (<see cref="Remoting.RevocationSource"/>).
/// </summary>
internal sealed class DataPlaneTlsAuthenticator : IDisposable
{
    /// <summary>Host name sent in the client hello; never checked (only the chain is).</summary>
    private const string TargetHost = "actortrainer-data-plane";

    /// <summary>AES-GCM only, AES-128 first: TLS 1.3 (what two ends of this build negotiate), then TLS 1.2 ECDHE for
    /// peers without TLS 1.3. AES-128-GCM costs about 10% less CPU per byte than AES-256-GCM (OpenSSL, AES-NI) and
    /// ChaCha20-Poly1305 is slower still with AES-NI. Null off Linux, where .NET cannot set a policy (the platform's
    /// default suites apply).</summary>
    private static readonly CipherSuitesPolicy? Suites = OperatingSystem.IsLinux()
        ? new CipherSuitesPolicy([
            TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384,
            TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384])
        : null;

    private readonly X509Certificate2 _certificate;
    private readonly X509Certificate2 _trustedCa;
    private readonly Remoting.RevocationSource? _revocation;
    private readonly SslStreamCertificateContext _context;

    private DataPlaneTlsAuthenticator(X509Certificate2 certificate, X509Certificate2 trustedCa, Remoting.RevocationSource? revocation)
    {
        _certificate = certificate;
        _trustedCa = trustedCa;
        _revocation = revocation;
        _context = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
    }

    /// <summary>Loads the certificate (with private key), the CA and the CA's revocation list (when set) named by
    /// <paramref name="tls"/>; throws ArgumentException naming the file when one cannot be used.</summary>
    public static DataPlaneTlsAuthenticator Load(DataPlaneTls tls)
    {
        ArgumentNullException.ThrowIfNull(tls);
        var flags = OperatingSystem.IsWindows() ? X509KeyStorageFlags.DefaultKeySet : X509KeyStorageFlags.EphemeralKeySet;
        X509Certificate2 certificate;
        try { certificate = X509CertificateLoader.LoadPkcs12FromFile(tls.CertificatePath, tls.Password, flags); }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException)
        {
            throw new ArgumentException($"data plane TLS: cannot load certificate '{tls.CertificatePath}' (PFX/PKCS#12): {e.Message}", nameof(tls), e);
        }
        if (!certificate.HasPrivateKey)
            throw new ArgumentException($"data plane TLS: certificate '{tls.CertificatePath}' has no private key", nameof(tls));
        var ca = Remoting.TrustedCaValidator.LoadCa(tls.TrustedCaPath);
        var revocation = tls.RevocationListPath is { } crl ? new Remoting.RevocationSource(crl, ca, certificate) : null;
        return new DataPlaneTlsAuthenticator(certificate, ca, revocation);
    }

    /// <summary>Runs the TLS handshake over <paramref name="inner"/> as server or client; returns the authenticated
    /// stream (which owns <paramref name="inner"/>). Throws DataPlaneException naming the peer and the reason when
    /// the handshake fails or the peer's certificate is refused.</summary>
    public SslStream Authenticate(Stream inner, EndPoint? peer, bool asServer)
    {
        string? refusal = null;
        bool Validate(object _, X509Certificate? cert, X509Chain? chain, SslPolicyErrors __) => ValidatePeer(cert, chain, out refusal);
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        try
        {
            if (asServer)
                ssl.AuthenticateAsServer(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = _context, ClientCertificateRequired = true,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck, RemoteCertificateValidationCallback = Validate,
                    CipherSuitesPolicy = Suites,
                });
            else
                ssl.AuthenticateAsClient(new SslClientAuthenticationOptions
                {
                    TargetHost = TargetHost, ClientCertificateContext = _context,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck, RemoteCertificateValidationCallback = Validate,
                    CipherSuitesPolicy = Suites,
                });
            return ssl;
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            ssl.Dispose();
            var why = refusal ?? (e.InnerException is { } inner2 ? $"{e.Message} ({inner2.Message})" : e.Message);
            throw new DataPlaneException($"data plane TLS handshake with {peer} failed: {why}", e);
        }
    }

    /// <summary>Why every peer refuses this end: the CA's revocation list now revokes its own certificate; else null
    /// (<see cref="Remoting.RevocationSource.OwnRevocation"/>).</summary>
    public string? OwnRevocation() => _revocation?.OwnRevocation();

    /// <summary>True when <paramref name="certificate"/> chains to the trusted CA; otherwise false with the reason.</summary>
    private bool ValidatePeer(X509Certificate? certificate, X509Chain? presented, out string? refusal)
    {
        if (certificate is null)
        {
            refusal = "the peer presented no certificate (mutual TLS requires one chaining to the trusted CA)";
            return false;
        }
        var peerCert = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        // the one chain check of the cluster (Akka remoting's TLS uses it too)
        var problem = Remoting.TrustedCaValidator.ChainProblem(_trustedCa, peerCert, presented, _revocation);
        if (problem is null)
        {
            refusal = null;
            return true;
        }
        refusal = $"the peer's certificate '{peerCert.Subject}' (issuer '{peerCert.Issuer}') {problem}";
        return false;
    }

    /// <summary>Releases the certificates.</summary>
    public void Dispose()
    {
        _certificate.Dispose();
        _trustedCa.Dispose();
    }
}
