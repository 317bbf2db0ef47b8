using System.Net;
using System.Net.Sockets;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Bulk traffic over mutual TLS (SslStream over the batching socket stream): frames larger and smaller than
/// its 256 KB buffers arrive intact and in order in both directions, steady state allocates nothing per frame,
/// AES-GCM over TLS 1.3 is negotiated, and timeouts and disposal behave as over plain TCP.</summary>
public sealed class DataPlaneTlsStreamTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly DataPlaneOptions _server;
    private readonly DataPlaneOptions _client;

    public DataPlaneTlsStreamTests()
    {
        var (ca, caPem) = _pki.CreateCa("dataplane-stream-ca");
        using var _ = ca;
        _server = DataPlaneKit.Options(tls: TestPki.Tls(_pki.CreateLeaf("server", ca), caPem));
        _client = DataPlaneKit.Options(tls: TestPki.Tls(_pki.CreateLeaf("client", ca), caPem));
    }

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task Large_and_small_frames_cross_both_ways_intact_and_in_order()
    {
        using var link = DataPlaneKit.Connected(_server, _client);
        var (server, client) = (link.Server, link.Client);
        Assert.StartsWith("Tls13 TLS_AES_", client.TlsDescription);
        Assert.Contains("_GCM_", client.TlsDescription);
        Assert.Equal(client.TlsDescription, server.TlsDescription);
        int[] sizes = [1, 0, 700_000, 3, 65_536, 300_000, 17];
        var echo = Task.Factory.StartNew(() =>
        {
            for (var i = 0; i < sizes.Length; i++)
            {
                var (h, s) = server.ReceiveFrame();
                server.Send(2, h.A, 0, 0, 0, (float[])s[0], (byte[])s[1]);
            }
        }, TaskCreationOptions.LongRunning);
        for (var i = 0; i < sizes.Length; i++)
        {
            var floats = Enumerable.Range(0, sizes[i]).Select(k => k * 0.5f + i).ToArray();
            var bytes = Enumerable.Range(0, i * 5).Select(k => (byte)k).ToArray();
            client.Send(1, i, 0, 0, 0, floats, bytes);
            var (h, s) = client.ReceiveFrame();
            Assert.Equal(i, h.A);
            Assert.Equal(floats, (float[])s[0]);
            Assert.Equal(bytes, (byte[])s[1]);
        }
        await echo.WaitAsync(DataPlaneKit.Limit);
    }

    [Fact]
    public async Task Steady_state_send_and_receive_over_tls_allocate_nothing_per_frame()
    {
        using var link = DataPlaneKit.Connected(_server, _client);
        var (server, client) = (link.Server, link.Client);
        await DataPlaneKit.AssertSteadyStateAllocatesNothing(server, client, 100_000, 300, "TLS");
    }

    [Fact]
    public void A_tls_read_with_nothing_arriving_fails_after_the_io_timeout()
    {
        var quick = TimeSpan.FromMilliseconds(1500);   // also bounds the TLS handshake: room for a loaded test machine
        // a first handshake under the default limits (the TLS stack's JIT, the certificates' first use): a cold one on a
        // loaded machine could take longer than `quick` before the read under test began
        using (DataPlaneKit.Connected(_server, _client)) { }
        using var link = DataPlaneKit.Connected(_server with { IoTimeout = quick }, _client with { IoTimeout = quick });
        var (server, client) = (link.Server, link.Client);
        var ex = Assert.Throws<IOException>(() => client.ReceiveHeader());
        Assert.Contains("no data for 1.5 s (IoTimeout)", ex.Message);
        Assert.Contains("127.0.0.1:", ex.Message);
    }

    [Fact]
    public async Task Disposing_a_tls_connection_releases_a_blocked_reader_and_the_peer_sees_end_of_stream()
    {
        using var link = DataPlaneKit.Connected(_server, _client);
        var eof = await DataPlaneKit.DisposeUnderBlockedReader(link);   // TLS: end of stream without close_notify
        Assert.Contains("127.0.0.1:", eof.Message);
    }
}

/// <summary>Connect's own limits: the blocking connect is abandoned after HandshakeTimeout when the listener never
/// completes it, and at once when the caller cancels.</summary>
public sealed class DataPlaneConnectTests
{
    /// <summary>A listener whose accept queue is full, so that further connects hang in SYN-SENT.</summary>
    private static (Socket Listener, List<Socket> Fillers) Saturated()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var fillers = new List<Socket>();
        for (var i = 0; i < 4; i++)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
            try { s.Connect(listener.LocalEndPoint!); }
            catch (SocketException) { }
            fillers.Add(s);
        }
        Thread.Sleep(200);
        return (listener, fillers);
    }

    [Fact]
    public void A_connect_the_listener_never_completes_times_out_after_the_handshake_timeout()
    {
        var (listener, fillers) = Saturated();
        using var _ = listener;
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var options = new DataPlaneOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(500) };
        var ex = Assert.Throws<IOException>(() => TensorConnection.Connect("127.0.0.1", port, options));
        Assert.Contains($"cannot connect to 127.0.0.1:{port}", ex.Message);
        Assert.Contains("timed out after 0.5 s", ex.Message);
        fillers.ForEach(f => f.Dispose());
    }

    [Fact]
    public void Cancelling_a_pending_connect_throws_operation_cancelled()
    {
        var (listener, fillers) = Saturated();
        using var _ = listener;
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.ThrowsAny<OperationCanceledException>(() => TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions(), cts.Token));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"cancel took {watch.Elapsed}");
        fillers.ForEach(f => f.Dispose());
    }
}
