using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A peer without TLS (a node whose cluster.tls is not set, a port scanner) that keeps connecting to a TLS
/// coordinator. Before, each try printed Akka.Remote's "Error caught channel …" and "Rejected incoming connection …" and,
/// once, a multi-line "TLS handshake failed on channel …" with advice to use "suppress-validation": the README promises
/// one line per peer host and reason per 30 s.</summary>
public sealed class ClusterTlsPlainPeerTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Plain_tcp_peer_of_a_tls_coordinator_is_logged_once_in_one_line_without_akkas_advice()
    {
        var (caPem, nodePfx) = Certificates();
        var port = FreePorts.Next();
        var output = new StringBuilder();
        using var p = Cli.Start(["train", "--config", "config/cluster-coordinator.conf", "--run-dir", _dir["run"],
            "--set", $"cluster.port={port}", "--set", $"cluster.seed-nodes=[\"akka.ssl.tcp://actor-trainer@127.0.0.1:{port}\"]",
            "--set", "cluster.min-workers=1", "--set", "cluster.wait-for-workers=6s", "--set", "data.train-limit=1000",
            "--set", $"cluster.tls.certificate-path={nodePfx}", "--set", "cluster.tls.password=pw", "--set", $"cluster.tls.ca-certificate-path={caPem}"]);
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        string Output() { lock (output) return output.ToString(); }
        try
        {
            for (var until = DateTime.UtcNow.AddSeconds(90); !Output().Contains("waiting for 1 gradient worker", StringComparison.Ordinal); Thread.Sleep(100))
                Assert.True(DateTime.UtcNow < until && !p.HasExited, "the coordinator did not start:\n" + Output());
            for (int i = 0; i < 5; i++)           // five tries, as a node retrying every cluster.join-retry would (faster)
            {
                using var plain = new TcpClient("127.0.0.1", port);
                var stream = plain.GetStream();
                stream.Write("\0\0\0\x10hello akka frame"u8);
                stream.ReadTimeout = 5000;
                try { while (stream.Read(new byte[256]) > 0) { } } catch (IOException) { }   // until the coordinator closes it
                Thread.Sleep(200);
            }
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(90)), "the coordinator did not end after cluster.wait-for-workers:\n" + Output());
            p.WaitForExit();
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        var log = Output();
        var refused = log.Split('\n').Where(l => l.Contains("TLS: remoting refused a connection from 127.0.0.1:", StringComparison.Ordinal)).ToArray();
        Assert.True(refused.Length == 1, "one line for five tries:\n" + log);
        Assert.Contains("not an SSL/TLS record (the peer does not speak TLS: a node without cluster.tls, or not a cluster node)", refused[0]);
        foreach (var akka in new[] { "suppress-validation", "troubleshooting", "Error caught channel", "Rejected incoming connection", "TLS handshake failed", "NotSslRecordException" })
            Assert.True(!log.Contains(akka, StringComparison.Ordinal), $"Akka's '{akka}' shown:\n{log}");
    }

    /// <summary>A CA (PEM) and a node certificate it issued (PKCS#12, password "pw").</summary>
    private (string CaPem, string NodePfx) Certificates()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=plain-peer-test-ca", caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(_dir["ca.pem"], ca.ExportCertificatePem());
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var node = new CertificateRequest("CN=coordinator", key, HashAlgorithmName.SHA256)
            .Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7), [4, 5, 6]).CopyWithPrivateKey(key);
        File.WriteAllBytes(_dir["node.pfx"], node.Export(X509ContentType.Pfx, "pw"));
        return (_dir["ca.pem"], _dir["node.pfx"]);
    }
}
