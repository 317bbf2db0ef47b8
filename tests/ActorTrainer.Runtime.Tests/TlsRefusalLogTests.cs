using System.Net;
using System.Security.Cryptography.X509Certificates;
using ActorTrainer.Runtime.Clustering;
using ActorTrainer.Runtime.DataPlane;
using ActorTrainer.Runtime.Remoting;
using Akka.Event;

namespace ActorTrainer.Runtime.Tests;

/// <summary>A peer without a trusted certificate retries its TLS handshake (every cluster.join-retry, from another
/// port each time): its refusals are logged once per host and reason per 30 s, as a node's other refusals are
/// (<see cref="RefusalLog"/>), on the data plane, by Akka's certificate validator and, instead of Akka.Remote's own
/// multi-line events of a failed handshake, in one line of the node's own (<see cref="TlsFailureLogFilter"/>).</summary>
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
    public void Akkas_tls_handshake_failures_become_one_line_per_peer_host_and_interval_counting_the_rest()
    {
        var f = new TlsFailureLogFilter(TimeSpan.FromSeconds(30), () => _now);
        var log = new Lines();
        var cause = new System.Security.Authentication.AuthenticationException("Authentication failed because the remote party sent a TLS alert: 'HandshakeFailure'.");
        Error Failed(string remote, string id) => new(cause, "akka.tcp://actor-trainer@127.0.0.1:4053/system/transports", typeof(Akka.Remote.RemoteTransport),
            $"TLS handshake failed on channel [[::ffff:127.0.0.1]:4053->{remote}](Id={id})\nTLS handshake failed (Server side):\n  Error: x\n" +
            "Server-side TLS troubleshooting:\n  - Review certificate validation requirements (suppress-validation for testing)");
        bool Kept(LogEvent e) => f.ShouldKeepMessage(e) == LogFilterDecision.Keep;
        var first = Failed("[::ffff:127.0.0.1]:41000", "a1");
        Assert.False(Kept(first));                 // Akka's lines never show; the node's own line comes once attached
        Assert.False(Kept(first));                 // a node's second logger asking about the same event: counted once
        f.Attach(log);
        Assert.Equal(["TLS: remoting refused a connection from 127.0.0.1:41000: Authentication failed because the remote party sent a TLS alert: 'HandshakeFailure'"], log.Errors);
        for (int port = 41001; port < 41010; port++)
        {
            _now += TimeSpan.FromSeconds(1);
            Assert.False(Kept(Failed($"[::ffff:127.0.0.1]:{port}", "b" + port)), $"retry from port {port}");
        }
        Assert.Single(log.Errors);
        Assert.False(Kept(Failed("[::ffff:10.0.0.7]:41000", "c")));   // another host: a line of its own
        Assert.Equal(2, log.Errors.Count);
        _now += TimeSpan.FromSeconds(30);
        Assert.False(Kept(Failed("[::ffff:127.0.0.1]:41011", "d")));
        Assert.Equal(3, log.Errors.Count);
        Assert.EndsWith(": Authentication failed because the remote party sent a TLS alert: 'HandshakeFailure' (9 more connection(s) from 127.0.0.1 refused for this reason since the last such line)", log.Errors[2]);
        Assert.All(log.Errors, l => Assert.DoesNotContain("suppress-validation", l));
        // a certificate the validator rejected: its own line (above) says which and why; Akka's adds nothing
        var rejected = new Error(new System.Security.Authentication.AuthenticationException("The remote certificate was rejected by the provided RemoteCertificateValidationCallback."),
            "akka://actor-trainer", typeof(Akka.Remote.RemoteTransport), "TLS handshake failed on channel [[::ffff:127.0.0.1]:4053->[::ffff:10.0.0.9]:41000](Id=e)");
        Assert.False(Kept(rejected));
        Assert.Equal(3, log.Errors.Count);
    }

    [Fact]
    public void A_peer_without_tls_is_one_line_naming_it_not_three_akka_events_per_try()
    {
        var f = new TlsFailureLogFilter(TimeSpan.FromSeconds(30), () => _now);
        var log = new Lines();
        f.Attach(log);
        const string Source = "akka://actor-trainer";
        var akka = typeof(Akka.Remote.RemoteTransport);
        for (int port = 50000; port < 50005; port++)
        {
            // what Akka.Remote 1.5 logs for each try of a plain-TCP peer (each try sends other bytes)
            var cause = new DotNetty.Handlers.Tls.NotSslRecordException($"not an SSL/TLS record: 00000010{port:x8}6c6c6f20616b6b61");
            string channel = $"[[::ffff:127.0.0.1]:4053->[::ffff:127.0.0.1]:{port}](Id={port:x8})";
            LogEvent[] events =
            [
                new Error(cause, Source, akka, $"Error caught channel {channel}"),
                new Error(cause, Source, akka, $"TLS handshake failed on channel {channel}\nTLS handshake failed (Server side):\n  Error: {cause.Message}\n\n" +
                    "Server-side TLS troubleshooting:\n  - Review certificate validation requirements (suppress-validation for testing)"),
                new Warning(Source, akka, $"Rejected incoming connection from [[::ffff:127.0.0.1]:{port}] due to TLS handshake failure. This is likely invalid or malicious traffic."),
            ];
            foreach (var e in events) Assert.True(f.ShouldKeepMessage(e) == LogFilterDecision.Drop, e.ToString());
            _now += TimeSpan.FromSeconds(1);
        }
        Assert.Equal(["TLS: remoting refused a connection from 127.0.0.1:50000: not an SSL/TLS record " +
                      "(the peer does not speak TLS: a node without cluster.tls, or not a cluster node)"], log.Errors);
        // other events on a channel (a reset, not TLS) are not this filter's
        Assert.Equal(LogFilterDecision.Keep, f.ShouldKeepMessage(new Error(new System.Net.Sockets.SocketException(104), Source, akka,
            "Error caught channel [[::ffff:127.0.0.1]:4053->[::ffff:127.0.0.1]:50010](Id=ffff)")));
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
