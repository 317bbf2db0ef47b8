using System.Net;
using System.Security.Cryptography.X509Certificates;
using ActorTrainer.Runtime.Clustering;
using ActorTrainer.Runtime.DataPlane;
using ActorTrainer.Runtime.Remoting;
using Akka.Event;

namespace ActorTrainer.Runtime.Tests;

/// <summary>A peer without a trusted certificate retries its TLS handshake (every cluster.join-retry, from another
/// port each time): its refusals are logged once per host and reason per 30 s, as a node's other refusals are
/// (<see cref="RefusalLog"/>), on the data plane, by Akka's certificate validator and for Akka's own
/// "TLS handshake failed on channel" lines.</summary>
public sealed class TlsRefusalLogTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly string _caPem;
    private readonly X509Certificate2 _ca;
    private DateTime _now = new(2026, 12, 4, 12, 0, 0, DateTimeKind.Utc);

    public TlsRefusalLogTests() => (_ca, _caPem) = _pki.CreateCa("refusal-test-ca");

    public void Dispose()
    {
        _ca.Dispose();
        _pki.Dispose();
    }

    [Fact]
    public void A_worker_node_logs_the_failed_handshakes_of_a_peer_without_a_trusted_certificate_once()
    {
        var lines = new List<string>();
        var server = DataPlaneKit.Options(tls: TestPki.Tls(_pki.CreateLeaf("node", _ca), _caPem));
        using var node = new WorkerNodeServer(IPAddress.Loopback, 0, server, 1, 1, m => { lock (lines) lines.Add(m); });
        var rogue = DataPlaneKit.Options(tls: TestPki.Tls(_pki.CreateLeaf("rogue", issuer: null), _caPem));
        for (int i = 0; i < 5; i++)
            Assert.Throws<DataPlaneException>(() => TensorConnection.Connect("127.0.0.1", node.Endpoint.Port, rogue));
        // handshakes run one at a time on the node's accepting thread: once a trusted peer is in, the five were refused
        using (TensorConnection.Connect("127.0.0.1", node.Endpoint.Port, DataPlaneKit.Options(tls: TestPki.Tls(_pki.CreateLeaf("coordinator", _ca), _caPem)))) { }
        string[] refused;
        lock (lines) refused = lines.Where(l => l.StartsWith("data plane: refused a connection: ", StringComparison.Ordinal)).ToArray();
        Assert.True(refused.Length == 1, "one line for five handshakes:\n" + string.Join("\n", lines));
        Assert.Contains($"data plane listener {node.Endpoint}: refused 127.0.0.1:", refused[0]);
        Assert.Contains("TLS handshake with 127.0.0.1:", refused[0]);
        Assert.Contains("CN=rogue", refused[0]);
    }

    [Fact]
    public void Akkas_certificate_validator_logs_a_rejected_peer_once_per_host_and_interval_counting_the_rest()
    {
        var log = new Lines();
        var validate = TrustedCaValidator.Create(_ca, repeatInterval: TimeSpan.FromSeconds(30), clock: () => _now);
        var rogue = X509CertificateLoader.LoadPkcs12FromFile(_pki.CreateLeaf("rogue", issuer: null), TestPki.Password);
        for (int port = 41000; port < 41005; port++)
        {
            Assert.False(validate(rogue, null!, $"127.0.0.1:{port}", System.Net.Security.SslPolicyErrors.None, log));
            _now += TimeSpan.FromSeconds(1);
        }
        Assert.True(log.Errors.Count == 1, string.Join("\n", log.Errors));
        Assert.StartsWith("TLS: certificate CN=rogue of 127.0.0.1:41000 does not chain to the trusted CA 'CN=refusal-test-ca'", log.Errors[0]);
        Assert.EndsWith("; rejected", log.Errors[0]);
        Assert.False(validate(rogue, null!, "127.0.0.2:41000", System.Net.Security.SslPolicyErrors.None, log));   // another host
        Assert.Equal(2, log.Errors.Count);
        _now += TimeSpan.FromSeconds(30);
        Assert.False(validate(rogue, null!, "127.0.0.1:41009", System.Net.Security.SslPolicyErrors.None, log));
        Assert.Equal(3, log.Errors.Count);
        Assert.EndsWith("; rejected (4 more connection(s) from 127.0.0.1 refused for this reason since the last such line)", log.Errors[2]);
    }

    [Fact]
    public void Akkas_tls_handshake_failures_show_once_per_peer_host_and_interval()
    {
        var f = new PeerLossLogFilter(TimeSpan.FromSeconds(30), () => _now);
        var cause = new System.Security.Authentication.AuthenticationException("The remote certificate was rejected by the provided RemoteCertificateValidationCallback.");
        Error Failed(string remote, string id) => new(cause, "akka.tcp://actor-trainer@127.0.0.1:4053/system/transports", typeof(Akka.Remote.RemoteTransport),
            $"TLS handshake failed on channel [[::ffff:127.0.0.1]:4053->{remote}](Id={id})");
        bool Kept(LogEvent e) => f.ShouldKeepMessage(e) == LogFilterDecision.Keep;
        var first = Failed("[::ffff:127.0.0.1]:41000", "a1");
        Assert.True(Kept(first));
        Assert.True(Kept(first));   // a node's second logger asking about the same event is told the same
        for (int port = 41001; port < 41010; port++)
        {
            _now += TimeSpan.FromSeconds(1);
            Assert.False(Kept(Failed($"[::ffff:127.0.0.1]:{port}", "b" + port)), $"retry from port {port}");
        }
        Assert.True(Kept(Failed("[::ffff:10.0.0.7]:41000", "c")));   // another host
        _now += TimeSpan.FromSeconds(30);
        Assert.True(Kept(Failed("[::ffff:127.0.0.1]:41011", "d")));
    }

    /// <summary>An ILoggingAdapter that keeps the error lines.</summary>
    private sealed class Lines() : LoggingAdapterBase(DefaultLogMessageFormatter.Instance)
    {
        public List<string> Errors { get; } = new();
        public override bool IsDebugEnabled => true;
        public override bool IsInfoEnabled => true;
        public override bool IsWarningEnabled => true;
        public override bool IsErrorEnabled => true;
        protected override void NotifyLog(LogLevel logLevel, object message, Exception? cause)
        {
            if (logLevel == LogLevel.ErrorLevel) Errors.Add(message.ToString()!);
        }
    }
}
