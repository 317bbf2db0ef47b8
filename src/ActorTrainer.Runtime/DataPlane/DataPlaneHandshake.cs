using System.Net;
using System.Net.Sockets;

namespace ActorTrainer.Runtime.DataPlane;

/// <summary>
/// Connection set-up shared by both ends: socket tuning, the hello exchange ("ATDP", version, TLS flag), mutual TLS
/// when configured, then accept markers both ways, so that a refused peer learns of it in Connect/Accept rather
/// than on its first read. Every failure is a DataPlaneException naming the peer.
/// </summary>
internal static class DataPlaneHandshake
{
    /// <summary>Sets TCP_NODELAY and the socket buffers; call before connecting/listening so window scaling applies.</summary>
    public static void Tune(Socket socket, DataPlaneOptions options)
    {
        if (socket.AddressFamily != AddressFamily.Unix) socket.NoDelay = true;
        if (options.SocketBufferBytes > 0)
        {
            socket.SendBufferSize = options.SocketBufferBytes;
            socket.ReceiveBufferSize = options.SocketBufferBytes;
        }
    }

    /// <summary>Runs the handshake on a connected socket as listener (<paramref name="asServer"/>) or client; returns
    /// the stream to use for frames (a NetworkStream, or an SslStream over a BatchingSocketStream whose writes wait for
    /// Flush; neither owns the socket). Socket timeouts are set to
    /// the handshake limit during the handshake and to IoTimeout (or none) afterwards.</summary>
    public static Stream Run(Socket socket, EndPoint? peer, DataPlaneOptions options, DataPlaneTlsAuthenticator? tls, bool asServer)
    {
        var limit = ToMilliseconds(options.EffectiveHandshakeTimeout);
        socket.ReceiveTimeout = limit;
        socket.SendTimeout = limit;
        var batching = tls is null ? null : new BatchingSocketStream(socket);
        Stream stream = batching is null ? new NetworkStream(socket, ownsSocket: false) : batching;
        try
        {
            ExchangeHellos(stream, peer, tls is not null);
            if (tls is not null) stream = tls.Authenticate(stream, peer, asServer);
            ExchangeAccepts(stream, peer, asServer);
            if (batching is not null) batching.BatchWrites = true;
            var io = options.IoTimeout is { } t ? ToMilliseconds(t) : 0;
            socket.ReceiveTimeout = io;
            socket.SendTimeout = io;
            return stream;
        }
        catch (Exception e)
        {
            stream.Dispose();
            // the peer refused this end: TLS says no more, but this end can tell when its own certificate is revoked
            var own = tls?.OwnRevocation() is { } o ? "; " + o : "";
            if (e is DataPlaneException d)
            {
                if (own.Length == 0) throw;
                throw new DataPlaneException(d.Message + own, d);
            }
            if (e is IOException or SocketException or ObjectDisposedException)
                throw new DataPlaneException($"data plane handshake with {peer} failed: {Describe(e, options)}{own}", e);
            throw;
        }
    }

    /// <summary>Both ends send their hello first, then read and check the peer's.</summary>
    private static void ExchangeHellos(Stream stream, EndPoint? peer, bool tls)
    {
        Span<byte> hello = stackalloc byte[WireFormat.HelloBytes];
        WireFormat.WriteHello(hello, tls);
        stream.Write(hello);
        ReadHandshake(stream, hello, peer, "hello");
        WireFormat.CheckHello(hello, peer, tls);
    }

    /// <summary>The listener sends "ATOK" and waits for the client's "ATOK" in return, so that each end learns
    /// in the handshake when the other refused it (with TLS 1.3 the client checks the server's certificate only
    /// after the server has finished its part).</summary>
    private static void ExchangeAccepts(Stream stream, EndPoint? peer, bool asServer)
    {
        Span<byte> marker = stackalloc byte[WireFormat.AcceptBytes];
        if (asServer)
        {
            WireFormat.WriteAccept(marker);
            stream.Write(marker);
        }
        ReadHandshake(stream, marker, peer, "accept marker");
        WireFormat.CheckAccept(marker, peer);
        if (!asServer)
        {
            WireFormat.WriteAccept(marker);
            stream.Write(marker);
        }
    }

    /// <summary>Reads exactly <paramref name="into"/>.Length bytes; a close before that is a DataPlaneException.</summary>
    private static void ReadHandshake(Stream stream, Span<byte> into, EndPoint? peer, string what)
    {
        var got = 0;
        while (got < into.Length)
        {
            var n = stream.Read(into[got..]);
            if (n == 0)
                throw new DataPlaneException($"data plane handshake with {peer}: the peer closed the connection after {got} of {into.Length} bytes of the {what} (it refused this end: protocol version, TLS setting or certificate)");
            got += n;
        }
    }

    /// <summary>A short reason for an I/O failure, naming a timeout as such.</summary>
    private static string Describe(Exception e, DataPlaneOptions options) =>
        e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut } || e is SocketException { SocketErrorCode: SocketError.TimedOut }
            ? $"no answer within {options.EffectiveHandshakeTimeout.TotalSeconds:0.###} s"
            : e.Message;

    /// <summary>Socket timeout in milliseconds (at least 1, at most int.MaxValue).</summary>
    internal static int ToMilliseconds(TimeSpan t) => (int)Math.Clamp(Math.Ceiling(t.TotalMilliseconds), 1, int.MaxValue);
}
