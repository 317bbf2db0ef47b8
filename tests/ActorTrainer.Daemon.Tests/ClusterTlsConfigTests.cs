using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorTrainer.Daemon.Configuration;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>cluster.tls.revocation-list: read and checked when the config is (a file that is missing, not the CA's or
/// expired is refused naming the key and the file) and handed to both remoting and the data plane.</summary>
public sealed class ClusterTlsConfigTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly X509Certificate2 _ca;
    private readonly string _caPath, _nodePfx;

    public ClusterTlsConfigTests()
    {
        _ca = Ca("config-test-ca");
        _caPath = _dir["ca.pem"];
        File.WriteAllText(_caPath, _ca.ExportCertificatePem());
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var node = new CertificateRequest("CN=node", key, HashAlgorithmName.SHA256)
            .Create(_ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7), [1, 2, 3]).CopyWithPrivateKey(key);
        _nodePfx = _dir["node.pfx"];
        File.WriteAllBytes(_nodePfx, node.Export(X509ContentType.Pfx, "pw"));
    }

    public void Dispose()
    {
        _ca.Dispose();
        _dir.Dispose();
    }

    private static X509Certificate2 Ca(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-10), DateTimeOffset.UtcNow.AddDays(30));
    }

    private string Crl(string name, X509Certificate2 issuer, TimeSpan validFor, byte[]? revokedSerial = null)
    {
        var next = DateTimeOffset.UtcNow + validFor;
        var builder = new CertificateRevocationListBuilder();
        if (revokedSerial is not null) builder.AddEntry(revokedSerial, DateTimeOffset.UtcNow.AddHours(-1));
        var der = builder.Build(issuer, BigInteger.One, next, HashAlgorithmName.SHA256, thisUpdate: next - TimeSpan.FromDays(2));
        File.WriteAllBytes(_dir[name], der);
        return _dir[name];
    }

    private ClusterConfig Read(string? crl, string? pfx = null, string password = "pw") => ClusterConfig.From(new ConfigReader(ConfigLoader.LoadText(null, "test",
        [$"cluster.tls.certificate-path=\"{pfx ?? _nodePfx}\"", $"cluster.tls.password={password}", $"cluster.tls.ca-certificate-path=\"{_caPath}\"",
         .. crl is null ? Array.Empty<string>() : [$"cluster.tls.revocation-list=\"{crl}\""]])), "worker");

    /// <summary>A node certificate issued by `issuer` (serial 1 2 3), valid in [from, to], as a PKCS#12 file.</summary>
    private string NodePfx(string name, X509Certificate2 issuer, DateTimeOffset from, DateTimeOffset to)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var node = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256).Create(issuer, from, to, [1, 2, 3]).CopyWithPrivateKey(key);
        File.WriteAllBytes(_dir[name + ".pfx"], node.Export(X509ContentType.Pfx, "pw"));
        return _dir[name + ".pfx"];
    }

    [Fact]
    public void A_node_whose_own_certificate_the_peers_would_refuse_stops_at_start_naming_the_file()
    {
        // revoked by the CA's list: the serial and both files named
        var revoking = Crl("revoking.crl", _ca, TimeSpan.FromDays(1), [1, 2, 3]);
        var e = Assert.Throws<ConfigException>(() => Read(revoking));
        Assert.Contains($"config: cluster.tls.certificate-path: this node's certificate CN=node in '{_nodePfx}' is revoked (serial 010203) by the CA's revocation list '{revoking}'", e.Message);
        Assert.Contains("every peer would refuse it", e.Message);
        Assert.NotNull(Read(Crl("other-serial.crl", _ca, TimeSpan.FromDays(1), [9])));

        // issued by another CA, or expired
        using var other = Ca("other-ca");
        var foreign = NodePfx("foreign", other, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        e = Assert.Throws<ConfigException>(() => Read(null, foreign));
        Assert.Contains($"this node's certificate CN=foreign in '{foreign}' does not chain to the trusted CA 'CN=config-test-ca'", e.Message);
        var expired = NodePfx("expired", _ca, DateTimeOffset.UtcNow.AddDays(-3), DateTimeOffset.UtcNow.AddDays(-2));
        e = Assert.Throws<ConfigException>(() => Read(null, expired));
        Assert.Contains($"this node's certificate CN=expired in '{expired}' does not chain to the trusted CA 'CN=config-test-ca' (NotTimeValid", e.Message);

        // the wrong password
        e = Assert.Throws<ConfigException>(() => Read(null, password: "wrong"));
        Assert.Contains($"config: cluster.tls.certificate-path: cannot read '{_nodePfx}' as PKCS#12 with cluster.tls.password", e.Message);
    }

    [Fact]
    public void The_list_goes_to_remoting_and_the_data_plane()
    {
        Assert.Null(Read(null).Settings.Tls!.RevocationListPath);
        Assert.Null(Read(null).DataPlane.Tls!.RevocationListPath);
        var crl = Crl("ca.crl", _ca, TimeSpan.FromDays(1));
        var c = Read(crl);
        Assert.Equal(crl, c.Settings.Tls!.RevocationListPath);
        Assert.Equal(crl, c.DataPlane.Tls!.RevocationListPath);
    }

    [Fact]
    public void A_list_that_cannot_be_used_is_refused_naming_the_key_and_the_file()
    {
        var missing = _dir["missing.crl"];
        var e = Assert.Throws<ConfigException>(() => Read(missing));
        Assert.Contains($"cluster.tls.revocation-list: file '{missing}' does not exist", e.Message);

        var expired = Crl("expired.crl", _ca, TimeSpan.FromHours(-1));
        e = Assert.Throws<ConfigException>(() => Read(expired));
        Assert.Contains($"cluster.tls.revocation-list: certificate revocation list '{expired}': it expired at", e.Message);

        using var other = Ca("other-ca");
        var foreign = Crl("foreign.crl", other, TimeSpan.FromDays(1));
        e = Assert.Throws<ConfigException>(() => Read(foreign));
        Assert.Contains($"'{foreign}': its signature does not verify with the key of the CA 'CN=config-test-ca'", e.Message);
    }
}
