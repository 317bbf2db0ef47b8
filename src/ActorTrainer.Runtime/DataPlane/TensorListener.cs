using System.Net;
using System.Net.Sockets;

namespace ActorTrainer.Runtime.DataPlane;

/// <summary>
/// Listens for data plane connections. Accept completes the handshake (and mutual TLS) before returning a
/// connection; a peer that fails it is closed, reported through <see cref="OnRejected"/>, and Accept waits for the
/// next one. Handshakes run one at a time on the accepting thread, each limited by IoTimeout (or HandshakeTimeout).
/// </summary>
public sealed class TensorListener : IDisposable
{
    private readonly Socket _socket;
    private readonly DataPlaneOptions _options;
    private readonly DataPlaneTlsAuthenticator? _tls;

    private TensorListener(Socket socket, DataPlaneOptions options, DataPlaneTlsAuthenticator? tls)
    {
        _socket = socket;
        _options = options;
        _tls = tls;
        Endpoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    /// <summary>The bound address and port (the actual port when started with port 0).</summary>
    public IPEndPoint Endpoint { get; }

    /// <summary>Called with a message naming the peer and the reason whenever a peer is refused (bad magic or
    /// version, TLS mismatch, untrusted certificate, limit, timeout). Runs on the thread calling Accept.</summary>
    public Action<string>? OnRejected { get; set; }

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
            return new TensorListener(socket, options, tls);
        }
        catch
        {
            socket.Dispose();
            tls?.Dispose();
            throw;
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
            var socket = _socket.AcceptAsync(ct).AsTask().GetAwaiter().GetResult();
            var peer = socket.RemoteEndPoint;
            try
            {
                return TensorConnection.Establish(socket, _options, _tls, asServer: true, owned: null, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException && !ct.IsCancellationRequested)
            {
                // Whatever a peer makes the handshake throw (I/O, TLS, certificate parsing), it must not stop
                // the listener; the peer is closed (by Establish) and reported.
                OnRejected?.Invoke($"data plane listener {Endpoint}: refused {peer}: {e.Message}");
            }
        }
    }

    /// <summary>Stops listening; connections already accepted stay open. (The TLS certificates stay loaded for them
    /// and are released by the garbage collector.)</summary>
    public void Dispose() => _socket.Dispose();
}
