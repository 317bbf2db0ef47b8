using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Certificates made in memory for the TLS tests (ECDSA P-256): a CA, leaves it issues, self-signed leaves
/// and a second, untrusted CA. Files go to a temporary directory (PFX with key for leaves, PEM for CAs).</summary>
internal sealed class TestPki : IDisposable
{
    public const string Password = "data-plane-test";
    private readonly string _dir = Directory.CreateTempSubdirectory("actortrainer-dataplane-tls-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); }
        catch (IOException) { }
    }

    /// <summary>A CA certificate with its key; its PEM file path.</summary>
    public (X509Certificate2 Ca, string PemPath) CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var path = Path.Combine(_dir, name + ".pem");
        File.WriteAllText(path, ca.ExportCertificatePem());
        return (ca, path);
    }

    /// <summary>A leaf issued by <paramref name="issuer"/> (or self-signed when null), written as PFX; its path.</summary>
    public string CreateLeaf(string name, X509Certificate2? issuer)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var notBefore = DateTimeOffset.UtcNow.AddDays(-1);
        var notAfter = DateTimeOffset.UtcNow.AddDays(7);
        using var cert = issuer is null
            ? request.CreateSelfSigned(notBefore, notAfter)
            : request.Create(issuer, notBefore, notAfter, RandomNumberGenerator.GetBytes(8)).CopyWithPrivateKey(key);
        var path = Path.Combine(_dir, name + ".pfx");
        File.WriteAllBytes(path, cert.Export(X509ContentType.Pfx, Password));
        return path;
    }

    /// <summary>Data plane TLS settings: this leaf, trusting <paramref name="caPem"/>.</summary>
    public static DataPlaneTls Tls(string leafPfx, string caPem) => new(leafPfx, Password, caPem);
}

/// <summary>Mutual TLS on the data plane: trusted ends exchange frames; a client or server whose certificate does not
/// chain to the CA is refused (on both ends), and a plain client is refused by a TLS listener.</summary>
public sealed class DataPlaneTlsTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly string _caPem;
    private readonly string _serverPfx;
    private readonly string _clientPfx;
    private readonly X509Certificate2 _ca;

    public DataPlaneTlsTests()
    {
        (_ca, _caPem) = _pki.CreateCa("dataplane-test-ca");
        _serverPfx = _pki.CreateLeaf("server", _ca);
        _clientPfx = _pki.CreateLeaf("client", _ca);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _pki.Dispose();
    }

    private DataPlaneOptions Trusted(string pfx) => DataPlaneKit.Options(tls: TestPki.Tls(pfx, _caPem));

    [Fact]
    public void Trusted_client_and_server_exchange_frames_over_tls()
    {
        using var listener = DataPlaneKit.Listen(Trusted(_serverPfx), out var rejections);
        var (server, client) = DataPlaneKit.Pair(listener, Trusted(_clientPfx));
        using var _s = server;
        using var _c = client;
        Assert.True(server.IsTls && client.IsTls);
        var weights = Enumerable.Range(0, 300_000).Select(i => i * 0.25f).ToArray();
        client.Send(1, 42, 0, 0, 0, weights, new int[] { 1, 2, 3 }, Array.Empty<byte>());
        var (h, s) = server.ReceiveFrame();
        Assert.Equal(42, h.A);
        Assert.Equal(weights, (float[])s[0]);
        Assert.Equal(new[] { 1, 2, 3 }, (int[])s[1]);
        server.Send(2, 43, 0, 0, 0, Section.Of(weights.AsMemory(0, 10)));
        Assert.Equal(weights[..10], (float[])client.ReceiveFrame().Sections[0]);
        Assert.Empty(rejections);
    }

    [Fact]
    public void A_der_encoded_ca_file_is_accepted_too()
    {
        var der = Path.ChangeExtension(_caPem, ".der");
        File.WriteAllBytes(der, _ca.RawData);
        using var listener = DataPlaneKit.Listen(DataPlaneKit.Options(tls: TestPki.Tls(_serverPfx, der)), out _);
        var (server, client) = DataPlaneKit.Pair(listener, Trusted(_clientPfx));
        using var _s = server;
        using var _c = client;
        client.Send(1, 0, 0, 0, 0, new int[] { 5 });
        Assert.Equal(new[] { 5 }, (int[])server.ReceiveFrame().Sections[0]);
    }

    [Fact]
    public void A_client_with_a_self_signed_certificate_is_refused_by_the_server()
    {
        var rogue = _pki.CreateLeaf("rogue-client", issuer: null);
        using var listener = DataPlaneKit.Listen(Trusted(_serverPfx), out var rejections);
        var accept = DataPlaneKit.AcceptAsync(listener);
        var ex = Assert.Throws<DataPlaneException>(() =>
            TensorConnection.Connect("127.0.0.1", listener.Endpoint.Port, DataPlaneKit.Options(tls: TestPki.Tls(rogue, _caPem))));
        Assert.Contains("127.0.0.1:", ex.Message);
        var refusal = DataPlaneKit.NextRejection(rejections);
        Assert.Contains("CN=rogue-client", refusal);
        Assert.Contains("does not chain to the trusted CA 'CN=dataplane-test-ca'", refusal);
        AssertAcceptStillWorks(listener, accept);
    }

    [Fact]
    public void A_server_with_an_untrusted_certificate_is_refused_by_the_client()
    {
        var (otherCa, _) = _pki.CreateCa("other-ca");
        using var _o = otherCa;
        var untrusted = _pki.CreateLeaf("untrusted-server", otherCa);
        using var listener = DataPlaneKit.Listen(DataPlaneKit.Options(tls: TestPki.Tls(untrusted, _caPem)), out var rejections);
        var accept = DataPlaneKit.AcceptAsync(listener);
        var ex = Assert.Throws<DataPlaneException>(() =>
            TensorConnection.Connect("127.0.0.1", listener.Endpoint.Port, Trusted(_clientPfx)));
        Assert.Contains("certificate 'CN=untrusted-server' (issuer 'CN=other-ca') does not chain to the trusted CA", ex.Message);
        Assert.Contains("127.0.0.1:", DataPlaneKit.NextRejection(rejections));
        Assert.False(accept.IsCompleted);
    }

    [Fact]
    public void A_plain_client_is_refused_by_a_tls_listener_and_a_tls_client_by_a_plain_one()
    {
        using var listener = DataPlaneKit.Listen(Trusted(_serverPfx), out var rejections);
        var accept = DataPlaneKit.AcceptAsync(listener);
        var ex = Assert.Throws<DataPlaneException>(() =>
            TensorConnection.Connect("127.0.0.1", listener.Endpoint.Port, DataPlaneKit.Options()));
        Assert.Contains("the peer requires TLS", ex.Message);
        Assert.Contains("does not use TLS", DataPlaneKit.NextRejection(rejections));
        AssertAcceptStillWorks(listener, accept);

        using var plain = DataPlaneKit.Listen(DataPlaneKit.Options(), out var plainRejections);
        var plainAccept = DataPlaneKit.AcceptAsync(plain);
        Assert.Throws<DataPlaneException>(() => TensorConnection.Connect("127.0.0.1", plain.Endpoint.Port, Trusted(_clientPfx)));
        Assert.Contains("the peer requires TLS", DataPlaneKit.NextRejection(plainRejections));
        Assert.False(plainAccept.IsCompleted);
    }

    [Fact]
    public void A_raw_peer_that_claims_tls_but_sends_garbage_is_refused()
    {
        using var listener = DataPlaneKit.Listen(Trusted(_serverPfx), out var rejections);
        var accept = DataPlaneKit.AcceptAsync(listener);
        using (var raw = DataPlaneKit.Raw(listener, handshake: false))
        {
            raw.Send([.. DataPlaneKit.Hello(flags: 1), .. new byte[64]]);
            raw.Shutdown(SocketShutdown.Send);
            Assert.Contains("TLS handshake with 127.0.0.1:", DataPlaneKit.NextRejection(rejections));
        }
        AssertAcceptStillWorks(listener, accept);
    }

    /// <summary>The pending Accept returns a trusted client's connection that carries a frame.</summary>
    private void AssertAcceptStillWorks(TensorListener listener, Task<TensorConnection> accept)
    {
        using var client = TensorConnection.Connect("127.0.0.1", listener.Endpoint.Port, Trusted(_clientPfx));
        Assert.True(accept.Wait(DataPlaneKit.Limit), "Accept did not return the trusted client");
        using var server = accept.Result;
        client.Send(9, 0, 0, 0, 0, new float[] { 3f });
        Assert.Equal(new float[] { 3f }, (float[])server.ReceiveFrame().Sections[0]);
    }
}
