using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorTrainer.Runtime.DataPlane;
using ActorTrainer.Runtime.Remoting;
using Akka.Actor;
using Akka.Event;
using static ActorTrainer.Runtime.Tests.RemotingFixtures;

namespace ActorTrainer.Runtime.Tests;

/// <summary>cluster.tls.revocation-list: the CA's CRL is read only when it is the CA's (issuer, signature, not expired);
/// a revoked certificate is refused by the chain check, the data plane and Akka remoting; a changed file takes effect at
/// the next connection, and an unusable replacement fails closed.</summary>
public sealed class RevocationListTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly X509Certificate2 _ca;
    private readonly string _caPem, _serverPfx, _clientPfx, _revokedPfx, _dir;

    public RevocationListTests()
    {
        (_ca, _caPem) = _pki.CreateCa("crl-test-ca");
        _serverPfx = _pki.CreateLeaf("server", _ca);
        _clientPfx = _pki.CreateLeaf("client", _ca);
        _revokedPfx = _pki.CreateLeaf("revoked-client", _ca);
        _dir = Path.GetDirectoryName(_caPem)!;
    }

    public void Dispose()
    {
        _ca.Dispose();
        _pki.Dispose();
    }

    private string Crl(string name, params string[] revoked) => TestCrl.Write(Path.Combine(_dir, name), _ca, TestPki.Password, revoked);

    private static X509Certificate2 Leaf(string pfx) => X509CertificateLoader.LoadPkcs12FromFile(pfx, TestPki.Password);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_list_names_the_revoked_certificates_in_PEM_or_DER(bool pem)
    {
        var path = TestCrl.Write(Path.Combine(_dir, pem ? "ca.crl.pem" : "ca.crl"), _ca, TestPki.Password, [_revokedPfx], pem);
        var list = RevocationList.Load(path, _ca, DateTimeOffset.UtcNow);
        Assert.Equal(1, list.Count);
        using var revoked = Leaf(_revokedPfx);
        using var client = Leaf(_clientPfx);
        Assert.True(list.Revokes(revoked, _ca));
        Assert.False(list.Revokes(client, _ca));
        Assert.True(list.NextUpdate > DateTimeOffset.UtcNow);
    }

    [Fact]
    public void An_rsa_signed_list_of_an_rsa_ca_is_read()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=rsa-ca", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var rsaCa = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var cert = new CertificateRequest("CN=rsa-leaf", leafKey, HashAlgorithmName.SHA256).Create(rsaCa.SubjectName,
            X509SignatureGenerator.CreateForRSA(key, RSASignaturePadding.Pkcs1), DateTimeOffset.UtcNow.AddDays(-1),
            DateTimeOffset.UtcNow.AddDays(7), [0x00, 0x81, 0x02]);      // a serial with a leading zero byte
        var path = TestCrl.Write(Path.Combine(_dir, "rsa.crl"), rsaCa, [cert]);
        var list = RevocationList.Load(path, rsaCa, DateTimeOffset.UtcNow);
        Assert.True(list.Revokes(cert, rsaCa));
        Assert.False(list.Revokes(cert, _ca));                             // same serial, another issuer
    }

    [Fact]
    public void A_list_that_is_not_the_CAs_is_refused_naming_the_file()
    {
        var (other, _) = _pki.CreateCa("other-ca");
        using var _o = other;
        var foreign = TestCrl.Write(Path.Combine(_dir, "foreign.crl"), other, TestPki.Password, []);
        var e = Assert.Throws<RevocationListException>(() => RevocationList.Load(foreign, _ca, DateTimeOffset.UtcNow));
        Assert.Contains($"certificate revocation list '{foreign}'", e.Message);
        Assert.Contains("does not verify with the key of the CA 'CN=crl-test-ca'", e.Message);

        var expired = TestCrl.Write(Path.Combine(_dir, "expired.crl"), _ca, TestPki.Password, [], validFor: TimeSpan.FromHours(-1));
        e = Assert.Throws<RevocationListException>(() => RevocationList.Load(expired, _ca, DateTimeOffset.UtcNow));
        Assert.Contains("expired at", e.Message);

        var garbage = Path.Combine(_dir, "garbage.crl");
        File.WriteAllBytes(garbage, [0x30, 0x03, 0x02, 0x01]);
        e = Assert.Throws<RevocationListException>(() => RevocationList.Load(garbage, _ca, DateTimeOffset.UtcNow));
        Assert.Contains($"'{garbage}': not a DER-encoded X.509 CRL", e.Message);

        var certPem = Path.Combine(_dir, "not-a-crl.pem");
        File.WriteAllText(certPem, _ca.ExportCertificatePem());
        e = Assert.Throws<RevocationListException>(() => RevocationList.Load(certPem, _ca, DateTimeOffset.UtcNow));
        Assert.Contains("'CERTIFICATE', not 'X509 CRL'", e.Message);

        var tampered = Path.Combine(_dir, "tampered.crl");
        var der = File.ReadAllBytes(TestCrl.Write(Path.Combine(_dir, "good.der"), _ca, TestPki.Password, [_revokedPfx], pem: false));
        using (var victim = Leaf(_revokedPfx))   // the revoked entry's serial, inside the signed tbsCertList
            der[der.AsSpan().IndexOf(victim.SerialNumberBytes.Span) + victim.SerialNumberBytes.Length - 1] ^= 1;
        File.WriteAllBytes(tampered, der);
        e = Assert.Throws<RevocationListException>(() => RevocationList.Load(tampered, _ca, DateTimeOffset.UtcNow));
        Assert.Contains("its signature does not verify", e.Message);
    }

    [Fact]
    public void The_chain_check_refuses_a_revoked_certificate_and_rereads_a_changed_file()
    {
        var path = Crl("live.crl");
        var source = new RevocationSource(path, _ca);
        using var revoked = Leaf(_revokedPfx);
        using var client = Leaf(_clientPfx);
        Assert.Null(TrustedCaValidator.ChainProblem(_ca, revoked, null, source));

        Crl("live.crl", _revokedPfx);                  // the operator revokes it: the next check sees the new list
        var problem = TrustedCaValidator.ChainProblem(_ca, revoked, null, source);
        Assert.Equal($"is revoked (serial {revoked.SerialNumber}) by the CA's revocation list '{path}'", problem);
        Assert.Null(TrustedCaValidator.ChainProblem(_ca, client, null, source));

        File.WriteAllText(path, "-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n");   // a bad replacement: fail closed
        problem = TrustedCaValidator.ChainProblem(_ca, client, null, source);
        Assert.StartsWith($"cannot be checked: certificate revocation list '{path}'", problem);
        Assert.Contains("new connections are refused until it is replaced", problem);
        File.Delete(path);
        Assert.Contains("cannot be checked", TrustedCaValidator.ChainProblem(_ca, client, null, source));

        Crl("live.crl", _revokedPfx);                  // a good list again
        Assert.Null(TrustedCaValidator.ChainProblem(_ca, client, null, source));
        Assert.NotNull(TrustedCaValidator.ChainProblem(_ca, revoked, null, source));
    }

    [Fact]
    public void A_node_learns_when_the_list_revokes_its_own_certificate()
    {
        var path = Crl("own.crl");
        using var revoked = Leaf(_revokedPfx);
        using var client = Leaf(_clientPfx);
        var mine = new RevocationSource(path, _ca, revoked);
        Assert.Null(mine.OwnRevocation());
        Assert.Null(new RevocationSource(path, _ca).OwnRevocation());    // no certificate of its own given

        Crl("own.crl", _revokedPfx);                   // revoked while the node runs
        Assert.Equal($"this node's own certificate CN=revoked-client (serial {revoked.SerialNumber}) is revoked by the CA's revocation list '{path}': every peer refuses it; give the node a new certificate",
                     mine.OwnRevocation());
        Assert.Null(new RevocationSource(path, _ca, client).OwnRevocation());
    }

    [Fact]
    public async Task The_data_plane_refuses_a_revoked_client_and_serves_the_others()
    {
        var crl = Crl("dp.crl", _revokedPfx);
        DataPlaneOptions With(string pfx) => DataPlaneKit.Options(tls: new DataPlaneTls(pfx, TestPki.Password, _caPem, crl));
        using var listener = DataPlaneKit.Listen(With(_serverPfx), out var rejections);
        var accept = DataPlaneKit.AcceptAsync(listener);
        var own = Assert.Throws<DataPlaneException>(() => TensorConnection.Connect("127.0.0.1", listener.Endpoint.Port, With(_revokedPfx)));
        Assert.Contains($"this node's own certificate CN=revoked-client (serial ", own.Message);   // why, on the refused side too
        var refusal = DataPlaneKit.NextRejection(rejections);
        Assert.Contains("certificate 'CN=revoked-client' (issuer 'CN=crl-test-ca') is revoked", refusal);
        Assert.Contains($"revocation list '{crl}'", refusal);

        using var client = TensorConnection.Connect("127.0.0.1", listener.Endpoint.Port, With(_clientPfx));
        using var server = await accept.WaitAsync(DataPlaneKit.Limit);
        client.Send(9, 0, 0, 0, 0, new float[] { 3f });
        Assert.Equal(new float[] { 3f }, (float[])server.ReceiveFrame().Sections[0]);
    }

    [Fact]
    public void A_data_plane_end_with_an_unusable_list_does_not_start_or_connect()
    {
        var expired = TestCrl.Write(Path.Combine(_dir, "old.crl"), _ca, TestPki.Password, [], validFor: TimeSpan.FromHours(-2));
        var e = Assert.Throws<RevocationListException>(() =>
            DataPlaneKit.Listen(DataPlaneKit.Options(tls: new DataPlaneTls(_serverPfx, TestPki.Password, _caPem, expired)), out _));
        Assert.Contains($"certificate revocation list '{expired}': it expired at", e.Message);
        // a connecting end fails closed: the coordinator treats it as a node it cannot reach (DataPlaneException)
        var dx = Assert.Throws<DataPlaneException>(() => TensorConnection.Connect("127.0.0.1", 9,
            DataPlaneKit.Options(tls: new DataPlaneTls(_clientPfx, TestPki.Password, _caPem, expired))));
        Assert.Contains($"no connection while certificate revocation list '{expired}': it expired at", dx.Message);
    }

    [Fact]
    public async Task A_node_with_a_revoked_certificate_cannot_deliver_over_remoting()
    {
        using var certs = new RemotingCertificates();
        var revokedNode = certs.Node("revoked-node");
        var crl = TestCrl.Write(Path.Combine(certs.Dir, "ca.crl"), certs.Ca, RemotingCertificates.Password, []);
        ClusterSettings Node(string pfx) => new() { Tls = new RemotingTls(pfx, RemotingCertificates.Password, certs.CaPath, RevocationListPath: crl) };
        ActorSystem? a = null, revoked = null;
        try
        {
            a = ClusterNode.Create(Node(certs.Node("node-a")), Quiet);
            var atA = Target(a);
            var errors = Errors(a);
            revoked = ClusterNode.Create(Node(revokedNode), Quiet);
            var ownErrors = Errors(revoked);
            // the CA revokes the node's certificate while both run: the node says so by itself (its peers' refusals
            // tell it nothing, and one can end a handshake before its own checks run)
            TestCrl.Write(crl, certs.Ca, RemotingCertificates.Password, [revokedNode]);
            NextMatching<Error>(ownErrors, e => e.ToString()!.Contains("this node's own certificate CN=revoked-node") && e.ToString()!.Contains($"'{crl}'"),
                "the revoked node's own account of why it is refused");
            var selection = Select(revoked, AddressOf(a));
            // each send may start a handshake (Akka gates the address for a while after a failed one): sent again while
            // waiting, so that one handshake that failed before the validators ran cannot starve the test
            void Canary() => selection.Tell(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 17, "i", 1, 1));
            AwaitWhileSending(Canary, errors, e => e.ToString()!.Contains("CN=revoked-node") && e.ToString()!.Contains("is revoked"),
                "node-a's rejection of the revoked certificate");
            await Assert.ThrowsAsync<ActorNotFoundException>(() => selection.ResolveOne(TimeSpan.FromSeconds(3)));
            Assert.Empty(atA);
            // said once, not at every read of the list (every 2 s)
            Thread.Sleep(TimeSpan.FromSeconds(5));
            Assert.DoesNotContain(ownErrors.ToArray(), e => e is Error x && x.LogSource.Contains("own-certificate-watcher", StringComparison.Ordinal));
        }
        finally { Shutdown(a, revoked); }
    }

    /// <summary>Sends (every 3 s) until an error matching `match` arrives on `q`; fails after 60 s.</summary>
    private static void AwaitWhileSending(Action send, System.Collections.Concurrent.BlockingCollection<object> q, Func<Error, bool> match, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            send();
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(3);
            while (DateTime.UtcNow < until)
                if (q.TryTake(out var item, until - DateTime.UtcNow) && item is Error e && match(e)) return;
        }
        Assert.Fail($"no {what} within 60 s");
    }
}
