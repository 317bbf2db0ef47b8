using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorTrainer.Runtime.Remoting;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Puts every message it receives into a queue the test reads with a timeout.</summary>
public sealed class RemotingCollector : ReceiveActor
{
    public RemotingCollector(BlockingCollection<object> into) => ReceiveAny(into.Add);
}

/// <summary>Watches `watched` and puts its Terminated into the queue.</summary>
public sealed class RemotingWatcher : ReceiveActor
{
    public RemotingWatcher(IActorRef watched, BlockingCollection<object> into)
    {
        Context.Watch(watched);
        Receive<Terminated>(into.Add);
    }
}

/// <summary>A plain class (no ITrainingMessage) a misconfigured or hostile peer sends through Akka's default JSON
/// serializer; it counts its constructions so a test sees whether the receiver instantiated it.</summary>
public sealed class HostilePayload
{
    private static int _constructed;

    public HostilePayload() => Interlocked.Increment(ref _constructed);

    public static int Constructed => Volatile.Read(ref _constructed);

    public string Text { get; set; } = "";
}

internal static class RemotingFixtures
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    public static Config Quiet => ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        akka.log-dead-letters = off
        akka.coordinated-shutdown.run-by-actor-system-terminate = off
        akka.remote.dot-netty.tcp.batching.enabled = false
        """);

    /// <summary>The node's bound address (port 0 resolved).</summary>
    public static Address AddressOf(ActorSystem system) => ((ExtendedActorSystem)system).Provider.DefaultAddress;

    /// <summary>A collector actor named `name` and the queue it fills.</summary>
    public static BlockingCollection<object> Target(ActorSystem system, string name = "target")
    {
        var q = new BlockingCollection<object>();
        system.ActorOf(Props.Create(() => new RemotingCollector(q)), name);
        return q;
    }

    /// <summary>The selection of `name` under /user on the node at `address`, seen from `from`.</summary>
    public static ActorSelection Select(ActorSystem from, Address address, string name = "target") =>
        from.ActorSelection(new RootActorPath(address) / "user" / name);

    /// <summary>Error events published on `system`'s event stream.</summary>
    public static BlockingCollection<object> Errors(ActorSystem system)
    {
        var q = new BlockingCollection<object>();
        var listener = system.ActorOf(Props.Create(() => new RemotingCollector(q)));
        system.EventStream.Subscribe(listener, typeof(Error));
        return q;
    }

    /// <summary>Takes the next item or fails after `timeout`.</summary>
    public static object Next(BlockingCollection<object> q, TimeSpan? timeout = null, string what = "message")
    {
        Assert.True(q.TryTake(out var item, timeout ?? Wait), $"no {what} within {(timeout ?? Wait).TotalSeconds} s");
        return item!;
    }

    /// <summary>Takes items until one matches (fails after `timeout`); returns it.</summary>
    public static T NextMatching<T>(BlockingCollection<object> q, Func<T, bool> match, string what) where T : class
    {
        var deadline = DateTime.UtcNow + Wait;
        while (DateTime.UtcNow < deadline)
            if (q.TryTake(out var item, deadline - DateTime.UtcNow) && item is T t && match(t)) return t;
        Assert.Fail($"no {what} within {Wait.TotalSeconds} s");
        return null!;
    }

    /// <summary>A node with Akka's defaults (JSON fallback on, remote provider) plus the trainer serializer bound,
    /// as a misconfigured or hostile peer would run.</summary>
    public static ActorSystem DefaultNode(string name = "actor-trainer")
    {
        var config = ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp.hostname = "127.0.0.1"
            akka.remote.dot-netty.tcp.port = 0
            """).WithFallback(Quiet);
        return ActorSystem.Create(name, BootstrapSetup.Create().WithConfig(config).And(TrainingMessageSerializer.CreateSetup()));
    }

    /// <summary>Terminates the systems (bounded wait).</summary>
    public static void Shutdown(params ActorSystem?[] systems) =>
        Task.WhenAll(systems.Where(s => s is not null).Select(s => s!.Terminate())).Wait(Wait);
}

/// <summary>A CA and certificates made in memory and written to a temp directory (PFX for nodes, DER for the CA).</summary>
internal sealed class RemotingCertificates : IDisposable
{
    public const string Password = "test-pw";
    private readonly ECDsa _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _ca;

    public string Dir { get; } = Directory.CreateTempSubdirectory("actor-trainer-tls-").FullName;

    public string CaPath { get; }

    /// <summary>The CA certificate (with its key: it signs revocation lists).</summary>
    public X509Certificate2 Ca => _ca;

    public RemotingCertificates()
    {
        var req = new CertificateRequest("CN=actor-trainer test CA", _caKey, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        _ca = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        CaPath = Path.Combine(Dir, "ca.cer");
        File.WriteAllBytes(CaPath, _ca.Export(X509ContentType.Cert));
    }

    /// <summary>A node certificate signed by the CA (or self-signed), written as a PFX; returns its path.</summary>
    public string Node(string name, bool signedByCa = true)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        req.CertificateExtensions.Add(san.Build());
        var from = DateTimeOffset.UtcNow.AddDays(-1);
        using var cert = signedByCa
            ? req.Create(_ca, from, from.AddDays(10), RandomNumberGenerator.GetBytes(16)).CopyWithPrivateKey(key)
            : req.CreateSelfSigned(from, from.AddDays(10));
        var path = Path.Combine(Dir, name + ".pfx");
        File.WriteAllBytes(path, cert.Export(X509ContentType.Pkcs12, Password));
        return path;
    }

    public void Dispose()
    {
        _ca.Dispose();
        _caKey.Dispose();
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
