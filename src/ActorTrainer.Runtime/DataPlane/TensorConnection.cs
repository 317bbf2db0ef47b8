using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace ActorTrainer.Runtime.DataPlane;

/// <summary>
/// One authenticated data plane connection: sends and receives frames (a header and typed sections) over TCP or
/// mutual TLS. Send is thread-safe (whole frames, serialized by a lock); receiving is for one reader at a time:
/// ReceiveHeader, then every section in order (ReceiveSection or SkipSections), then the next header. Send,
/// ReceiveHeader and ReceiveSection allocate nothing per frame in steady state (buffers are reused; payload spans go
/// straight to and from the socket). After a DataPlaneException or I/O error on a direction that direction is
/// unusable; dispose the connection.
/// </summary>
public sealed partial class TensorConnection : IDisposable
{
    private const int SendBufferBytes = 64 << 10;

    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly DataPlaneOptions _options;
    private readonly IDisposable? _owned;
    private readonly object _sendLock = new();
    private byte[] _sendBuffer = new byte[SendBufferBytes];
    private string? _sendBroken;
    private string? _receiveBroken;
    private volatile bool _disposed;

    private TensorConnection(Socket socket, Stream stream, EndPoint remote, DataPlaneOptions options, IDisposable? owned)
    {
        _socket = socket;
        _stream = stream;
        _options = options;
        _owned = owned;
        RemoteEndPoint = remote;
    }

    /// <summary>The peer's address and port.</summary>
    public EndPoint RemoteEndPoint { get; }

    /// <summary>True when the connection runs over a Unix domain socket (a peer on the same host,
    /// <see cref="DataPlaneOptions.UnixSockets"/>), false over TCP.</summary>
    public bool IsUnixSocket => _socket.AddressFamily == AddressFamily.Unix;

    /// <summary>True when the connection runs over mutual TLS.</summary>
    public bool IsTls => _stream is System.Net.Security.SslStream;

    /// <summary>The negotiated TLS version and cipher suite (e.g. "Tls13 TLS_AES_128_GCM_SHA256"), or null over plain
    /// TCP.</summary>
    public string? TlsDescription => _stream is System.Net.Security.SslStream ssl ? $"{ssl.SslProtocol} {ssl.NegotiatedCipherSuite}" : null;

    /// <summary>Connects to a listener at <paramref name="host"/>:<paramref name="port"/> and completes the handshake
    /// (and TLS) before returning. Throws DataPlaneException when the listener refuses this end or speaks another
    /// protocol, or when the configured revocation list cannot be used (fail closed); IOException/SocketException when
    /// it cannot be reached, OperationCanceledException on <paramref name="ct"/>. Connect and handshake are limited by
    /// IoTimeout (or HandshakeTimeout).</summary>
    public static TensorConnection Connect(string host, int port, DataPlaneOptions options, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(port);
        options.Validate();
        DataPlaneTlsAuthenticator? tls;
        try { tls = options.Tls is null ? null : DataPlaneTlsAuthenticator.Load(options.Tls); }
        catch (Remoting.RevocationListException e)      // replaced mid-run by a file that cannot be used: fail closed
        {
            throw new DataPlaneException($"data plane TLS to {host}:{port}: no connection while {e.Message}", e);
        }
        try
        {
            var socket = ConnectSocket(host, port, options, ct);
            return Establish(socket, options, tls, asServer: false, owned: tls, ct);
        }
        catch
        {
            tls?.Dispose();
            throw;
        }
    }

    /// <summary>Opens a tuned connection: through the Unix domain socket of the listener a TCP connection would reach
    /// when <paramref name="host"/> is this machine and that socket answers (<see cref="DataPlaneOptions.UnixSockets"/>,
    /// <see cref="UnixSocketPaths.Candidates"/>), else TCP to the first address of <paramref name="host"/> that answers.</summary>
    private static Socket ConnectSocket(string host, int port, DataPlaneOptions options, CancellationToken ct)
    {
        var addresses = IPAddress.TryParse(host, out var ip) ? [ip] : Dns.GetHostAddresses(host);
        if (options.UnixSockets && UnixSocketPaths.Supported && Clustering.LocalHost.Is(host))
            foreach (var path in UnixSocketPaths.Candidates(addresses, port))
            {
                var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    DataPlaneHandshake.Tune(unix, options);
                    ConnectBlocking(unix, new UnixDomainSocketEndPoint(path), options.EffectiveHandshakeTimeout, ct);
                    return unix;
                }
                catch (Exception e) when (e is SocketException or TimeoutException && !ct.IsCancellationRequested)
                {
                    unix.Dispose();   // a stale file, or a listener of another user: the next, then TCP below
                }
            }
        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                DataPlaneHandshake.Tune(socket, options);
                ConnectBlocking(socket, new IPEndPoint(address, port), options.EffectiveHandshakeTimeout, ct);
                return socket;
            }
            catch (Exception e) when (e is SocketException or TimeoutException && !ct.IsCancellationRequested)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw new IOException($"data plane: cannot connect to {host}:{port}: {last?.Message ?? "no address"}", last);
    }

    /// <summary>Connects with a blocking connect(), never ConnectAsync: a socket that has run one asynchronous
    /// operation stays non-blocking in the kernel, and .NET then emulates every blocking Read/Write on it through epoll
    /// and the thread pool (a thread-pool hand-off and spinning workers for every read that has to wait, which cost
    /// about a third of the CPU of a TLS transfer). The timeout or <paramref name="ct"/> abort the connect by disposing
    /// the socket: TimeoutException or OperationCanceledException.</summary>
    private static void ConnectBlocking(Socket socket, EndPoint endpoint, TimeSpan timeout, CancellationToken ct)
    {
        var state = 0; // 0: connecting, 1: finished, 2: timed out (the timer disposed the socket)
        using var timer = new Timer(_ => { if (Interlocked.CompareExchange(ref state, 2, 0) == 0) socket.Dispose(); }, null, timeout, Timeout.InfiniteTimeSpan);
        using var abort = ct.Register(static s => ((Socket)s!).Dispose(), socket);
        try { socket.Connect(endpoint); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException && (Volatile.Read(ref state) == 2 || ct.IsCancellationRequested))
        {
            ct.ThrowIfCancellationRequested();
            throw new TimeoutException($"data plane connect to {endpoint} timed out after {timeout.TotalSeconds:0.###} s", e);
        }
        ct.ThrowIfCancellationRequested();
        if (Interlocked.CompareExchange(ref state, 1, 0) != 0)
            throw new TimeoutException($"data plane connect to {endpoint} timed out after {timeout.TotalSeconds:0.###} s");
    }

    /// <summary>Runs the handshake on a connected socket and wraps it; disposes the socket on failure. Cancelling
    /// <paramref name="ct"/> aborts the handshake (OperationCanceledException).</summary>
    internal static TensorConnection Establish(Socket socket, DataPlaneOptions options, DataPlaneTlsAuthenticator? tls, bool asServer, IDisposable? owned, CancellationToken ct)
    {
        var remote = PeerName(socket);
        try
        {
            if (socket.AddressFamily != AddressFamily.Unix) socket.NoDelay = true;
            using var abort = ct.Register(static s => ((Socket)s!).Dispose(), socket);
            var stream = DataPlaneHandshake.Run(socket, remote, options, tls, asServer);
            ct.ThrowIfCancellationRequested();
            return new TensorConnection(socket, stream, remote, options, owned);
        }
        catch (Exception e)
        {
            socket.Dispose();
            if (ct.IsCancellationRequested && e is not OperationCanceledException) throw new OperationCanceledException("data plane handshake cancelled", e, ct);
            throw;
        }
    }

    /// <summary>The peer's endpoint for messages: its address and port, or for a Unix domain socket the socket's path
    /// (an accepted one's peer has no name; its local end is the listener's path).</summary>
    private static EndPoint PeerName(Socket socket)
    {
        if (socket.AddressFamily != AddressFamily.Unix) return socket.RemoteEndPoint ?? new IPEndPoint(IPAddress.None, 0);
        string Name(EndPoint? e) => e?.ToString() ?? "";
        var path = Name(socket.RemoteEndPoint) is { Length: > 0 } r ? r : Name(socket.LocalEndPoint);
        return new UnixDomainSocketEndPoint(path.Length > 0 ? path : "unix-socket");
    }

    /// <summary>True when the peer is gone while this end waits for nothing from it: the socket is readable with no
    /// byte to read (the peer closed or reset it: a killed process) or has failed. Only for a connection nobody reads
    /// now (between frames); a disposed connection counts as closed. Never blocks.</summary>
    public bool PeerClosed
    {
        get
        {
            if (_disposed) return true;
            try { return _socket.Poll(0, SelectMode.SelectError) || (_socket.Poll(0, SelectMode.SelectRead) && _socket.Available == 0); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return true; }
        }
    }

    /// <summary>Closes the connection; a blocked reader or writer gets an IOException or ObjectDisposedException, and
    /// the peer sees the end of the stream. The socket is shut down first: closing a blocking socket while a thread
    /// is blocked reading it would otherwise be an abortive close (the peer gets "connection reset", not the end).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try { _socket.Shutdown(SocketShutdown.Both); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        try { _stream.Dispose(); }
        catch (IOException) { }
        _socket.Dispose();
        _owned?.Dispose();
    }

    /// <summary>Blocking read of exactly <paramref name="into"/>.Length bytes of part <paramref name="part"/> of a
    /// frame (-2: header, -1: section table, else the section index). A close before that throws
    /// EndOfStreamException naming the endpoint and the part; a read timeout an IOException. Allocates only on error.</summary>
    private void ReadExactly(Span<byte> into, int part)
    {
        var got = 0;
        while (got < into.Length)
        {
            int n;
            try { n = _stream.Read(into[got..]); }
            catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut })
            {
                throw new IOException($"data plane connection {RemoteEndPoint}: no data for {_options.IoTimeout?.TotalSeconds:0.###} s (IoTimeout) after {got} of {into.Length} bytes of {PartName(part)}", e);
            }
            if (n == 0)
                throw new EndOfStreamException(got == 0 && part == HeaderPart
                    ? $"data plane connection {RemoteEndPoint}: closed by the peer"
                    : $"data plane connection {RemoteEndPoint}: closed by the peer after {got} of {into.Length} bytes of {PartName(part)}");
            got += n;
        }
    }

    private const int HeaderPart = -2;
    private const int SectionTablePart = -1;

    /// <summary>Names a frame part in messages.</summary>
    private string PartName(int part) => part switch
    {
        HeaderPart => "a frame header",
        SectionTablePart => "the section table of a frame header",
        _ => $"section {part} ({_lengths[part]} {FrameHeader.UnitName(_types[part])})",
    };

    /// <summary>Bytes of a span of unmanaged elements, for reading straight into it.</summary>
    private static Span<byte> AsBytes<T>(Span<T> span) where T : struct => MemoryMarshal.AsBytes(span);
}
