using System.Net;
using System.Net.Sockets;

namespace ActorTrainer.Runtime.DataPlane;

/// <summary>
/// Listens for data plane connections. Accept completes the handshake (and mutual TLS) before returning a
/// connection; a peer that fails it is closed, reported through <see cref="OnRejected"/>, and Accept waits for the
/// next one. Handshakes run one at a time on the accepting thread, each limited by IoTimeout (or HandshakeTimeout).
/// With <see cref="DataPlaneOptions.UnixSockets"/> it also listens through a Unix domain socket for peers on this host
/// (<see cref="UnixSocketPath"/>); Accept takes connections from either.
/// </summary>
public sealed class TensorListener : IDisposable
{
    private readonly Socket _socket;
    private readonly DataPlaneOptions _options;
    private readonly DataPlaneTlsAuthenticator? _tls;
    private readonly Socket? _unix;
    private Task<Socket>? _tcpAccept, _unixAccept;   // accepts in flight (kept across Accept calls: none is lost)

    private TensorListener(Socket socket, Socket? unix, DataPlaneOptions options, DataPlaneTlsAuthenticator? tls)
    {
        _socket = socket;
        _unix = unix;
        _options = options;
        _tls = tls;
        Endpoint = (IPEndPoint)socket.LocalEndPoint!;
        UnixSocketPath = unix?.LocalEndPoint?.ToString();
    }

    /// <summary>The Unix domain socket this listener also accepts on, or null (off, unsupported, or not usable).</summary>
    public string? UnixSocketPath { get; }

    /// <summary>The bound address and port (the actual port when started with port 0).</summary>
    public IPEndPoint Endpoint { get; }

    /// <summary>Called with a message naming the peer and the reason whenever a peer is refused (bad magic or
    /// version, TLS mismatch, untrusted certificate, limit, timeout). Runs on the thread calling Accept.</summary>
    public Action<string>? OnRejected { get; set; }

    /// <summary>Instead of <see cref="OnRejected"/> when set: called with the refused peer (its address and port; for a
    /// peer on the Unix socket, that socket's path) and the reason, so that a caller can tell refusals of one host
    /// apart from another's. Runs on the thread calling Accept.</summary>
    public Action<EndPoint, string>? OnRejectedPeer { get; set; }

    /// <summary>Binds <paramref name="address"/>:<paramref name="port"/> (0 = ephemeral) and starts listening.
    /// With TLS the certificate and CA are loaded now (ArgumentException naming a file that cannot be used).</summary>
    public static TensorListener Start(IPAddress address, int port, DataPlaneOptions options)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var tls = options.Tls is null ? null : DataPlaneTlsAuthenticator.Load(options.Tls);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            DataPlaneHandshake.Tune(socket, options);
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(128);
            var unix = options.UnixSockets ? ListenUnix((IPEndPoint)socket.LocalEndPoint!, options) : null;
            return new TensorListener(socket, unix, options, tls);
        }
        catch
        {
            socket.Dispose();
            tls?.Dispose();
            throw;
        }
    }

    /// <summary>Listens at the Unix socket path of TCP `bound` (address and port), or null where there is none. That
    /// address and port are this listener's now, so a file at that path is a dead listener's and is replaced.</summary>
    private static Socket? ListenUnix(IPEndPoint bound, DataPlaneOptions options)
    {
        if (UnixSocketPaths.For(bound.Address, bound.Port, create: true) is not { } path) return null;
        var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            UnixSocketPaths.SweepStale(path);   // killed listeners' files (this address and port's included: ours now)
            File.Delete(path);
            DataPlaneHandshake.Tune(unix, options);
            unix.Bind(new UnixDomainSocketEndPoint(path));
            unix.Listen(128);
            return unix;
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            unix.Dispose();
            return null;   // peers on this host then come over TCP, as from elsewhere
        }
    }

    /// <summary>Waits for a peer that completes the handshake and returns its connection. Refused peers are reported
    /// via OnRejected and skipped. Throws OperationCanceledException on <paramref name="ct"/>, ObjectDisposedException
    /// or SocketException once the listener is disposed.</summary>
    public TensorConnection Accept(CancellationToken ct)
    {
        while (true)
        {
            // The accepted socket starts blocking in the kernel (accept4 does not inherit O_NONBLOCK), so its blocking
            // reads and writes are plain syscalls; only the listening socket runs asynchronously.
            var socket = NextSocket(ct);
            var peer = socket.AddressFamily == AddressFamily.Unix ? (object?)UnixSocketPath : socket.RemoteEndPoint;
            try
            {
                return TensorConnection.Establish(socket, _options, _tls, asServer: true, owned: null, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException && !ct.IsCancellationRequested)
            {
                // Whatever a peer makes the handshake throw (I/O, TLS, certificate parsing), it must not stop
                // the listener; the peer is closed (by Establish) and reported.
                if (OnRejectedPeer is { } from)
                    from(peer as EndPoint ?? new UnixDomainSocketEndPoint(UnixSocketPath ?? "unix-socket"), e.Message);
                else OnRejected?.Invoke($"data plane listener {Endpoint}: refused {peer}: {e.Message}");
            }
        }
    }

    /// <summary>The next accepted socket from TCP or the Unix socket, whichever comes first; OperationCanceledException
    /// on `ct` (the accepts in flight stay for the next call).</summary>
    private Socket NextSocket(CancellationToken ct)
    {
        var tcp = _tcpAccept ??= _socket.AcceptAsync();
        // WaitAny returns on a faulted accept too (without throwing); only `ct` makes it throw
        if (_unix is null) Task.WaitAny([tcp], ct);
        else Task.WaitAny([tcp, _unixAccept ??= _unix.AcceptAsync()], ct);
        ct.ThrowIfCancellationRequested();   // a stop that also disposed the listener: cancelled, not a failed accept
        var done = tcp.IsCompleted ? tcp : _unixAccept!;
        if (done == tcp) _tcpAccept = null;
        else _unixAccept = null;
        return done.GetAwaiter().GetResult();   // the accept's own exception (e.g. ObjectDisposedException once disposed)
    }

    /// <summary>Stops listening and removes the Unix socket; connections already accepted stay open. (The TLS
    /// certificates stay loaded for them and are released by the garbage collector.)</summary>
    public void Dispose()
    {
        _socket.Dispose();
        if (_unix is null) return;
        _unix.Dispose();
        try { if (UnixSocketPath is { } p) File.Delete(p); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
