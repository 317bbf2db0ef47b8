using ActorTrainer.Runtime.Remoting;
using Akka.Actor;
using Akka.Event;
using static ActorTrainer.Runtime.Tests.RemotingFixtures;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Mutual TLS: nodes whose certificates a private CA signed talk; a node with a self-signed certificate
/// cannot deliver to them.</summary>
public sealed class RemotingTlsTests : IDisposable
{
    private readonly RemotingCertificates _certs = new();

    public void Dispose() => _certs.Dispose();

    private ClusterSettings Node(string name, bool signedByCa = true) => new()
    {
        Tls = new RemotingTls(_certs.Node(name, signedByCa), RemotingCertificates.Password, _certs.CaPath),
    };

    [Fact]
    public async Task Nodes_with_ca_signed_certificates_exchange_messages_over_tls()
    {
        ActorSystem? a = null, b = null;
        try
        {
            a = ClusterNode.Create(Node("node-a"), Quiet);
            b = ClusterNode.Create(Node("node-b"), Quiet);
            Assert.Equal("akka.ssl.tcp", AddressOf(a).Protocol);
            var atA = Target(a);
            var atB = Target(b);
            Select(b, AddressOf(a)).Tell(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 11, "i", 1, 1));
            Assert.Equal(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 11, "i", 1, 1), Next(atA));
            var refB = await Select(a, AddressOf(b)).ResolveOne(Wait);
            refB.Tell(new ActorTrainer.Runtime.Clustering.DescribeWorkerNode());
            Assert.Equal(new ActorTrainer.Runtime.Clustering.DescribeWorkerNode(), Next(atB));
        }
        finally { Shutdown(a, b); }
    }

    [Fact]
    public async Task A_node_with_a_self_signed_certificate_cannot_deliver_to_a_tls_node()
    {
        ActorSystem? a = null, rogue = null;
        try
        {
            a = ClusterNode.Create(Node("node-a"), Quiet);
            var atA = Target(a);
            var errors = Errors(a);
            // The rogue node trusts the CA (so it accepts node-a's server certificate): only node-a's check of the
            // rogue's client certificate stands in the way.
            rogue = ClusterNode.Create(Node("rogue", signedByCa: false), Quiet);
            var selection = Select(rogue, AddressOf(a));
            selection.Tell(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 13, "i", 1, 1));
            NextMatching<Error>(errors, e => e.ToString()!.Contains("CN=rogue") && e.ToString()!.Contains("rejected"),
                "node-a's rejection of the rogue certificate");
            await Assert.ThrowsAsync<ActorNotFoundException>(() => selection.ResolveOne(TimeSpan.FromSeconds(3)));
            Assert.Empty(atA);
        }
        finally { Shutdown(a, rogue); }
    }

    [Fact]
    public void Tls_settings_render_mutual_authentication_and_validation()
    {
        var s = Node("node-a");
        var c = s.ToConfig();
        Assert.True(c.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
        Assert.True(c.GetBoolean("akka.remote.dot-netty.tcp.ssl.require-mutual-authentication"));
        Assert.False(c.GetBoolean("akka.remote.dot-netty.tcp.ssl.suppress-validation"));
        Assert.False(c.GetBoolean("akka.remote.dot-netty.tcp.ssl.validate-certificate-hostname"));
        Assert.Equal(Path.GetFullPath(s.Tls!.CertificatePath), c.GetString("akka.remote.dot-netty.tcp.ssl.certificate.path"));
        Assert.Equal(RemotingCertificates.Password, c.GetString("akka.remote.dot-netty.tcp.ssl.certificate.password"));
    }

    [Fact]
    public void The_ca_validator_accepts_only_certificates_the_ca_signed()
    {
        using var ca = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(_certs.CaPath);
        using var good = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(_certs.Node("good"), RemotingCertificates.Password);
        using var bad = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(_certs.Node("bad", false), RemotingCertificates.Password);
        Assert.Null(TrustedCaValidator.ChainProblem(ca, good));
        Assert.NotNull(TrustedCaValidator.ChainProblem(ca, bad));
    }
}
