using System.Net;
using System.Net.Sockets;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Peers on the same host through the listener's Unix domain socket (DataPlaneOptions.UnixSockets): frames,
/// TLS, the switch on either end, a stale socket file, and the file's removal.</summary>
public sealed class DataPlaneUnixSocketTests
{
    private static readonly bool Supported = Socket.OSSupportsUnixDomainSockets && (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS());

    private static (TensorConnection Server, TensorConnection Client) Pair(TensorListener listener, DataPlaneOptions client, string host = "127.0.0.1")
    {
        var accept = DataPlaneKit.AcceptAsync(listener);
        var c = TensorConnection.Connect(host, listener.Endpoint.Port, client);
        Assert.True(accept.Wait(DataPlaneKit.Limit), "Accept did not return within the limit");
        return (accept.Result, c);
    }

    private static void RoundTrip(TensorConnection from, TensorConnection to)
    {
        var values = Enumerable.Range(0, 100_000).Select(i => i * 0.25f - 7f).ToArray();
        var send = Task.Run(() => from.Send(7, 1, 2, 3, 4, values, new[] { 5, 6 }));
        var h = to.ReceiveHeader();
        Assert.Equal((7, 1L, 2L, 3L, 4L, 2), (h.Kind, h.A, h.B, h.C, h.D, h.SectionCount));
        var got = new float[values.Length];
        var ints = new int[2];
        to.ReceiveSection(got);
        to.ReceiveSection(ints);
        Assert.True(send.Wait(DataPlaneKit.Limit));
        Assert.Equal(values, got);
        Assert.Equal(new[] { 5, 6 }, ints);
    }

    [Fact]
    public void Same_host_peers_connect_through_the_unix_socket_and_the_file_goes_with_the_listener()
    {
        if (!Supported) return;
        var options = DataPlaneKit.Options(unixSockets: true);
        var listener = TensorListener.Start(IPAddress.Loopback, 0, options);
        string? path = listener.UnixSocketPath;
        Assert.NotNull(path);
        Assert.True(File.Exists(path));
        Assert.EndsWith($"/127.0.0.1_{listener.Endpoint.Port}.sock", path);
        var (server, client) = Pair(listener, options);
        using (server)
        using (client)
        {
            Assert.True(client.IsUnixSocket);
            Assert.True(server.IsUnixSocket);
            RoundTrip(client, server);
            RoundTrip(server, client);
            // "localhost" is this machine too
            var (s2, c2) = Pair(listener, options, "localhost");
            using (s2) using (c2) Assert.True(c2.IsUnixSocket);
        }
        listener.Dispose();
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Listeners_on_two_addresses_with_one_port_keep_their_own_sockets_and_a_peer_reaches_the_one_tcp_would()
    {
        if (!OperatingSystem.IsLinux()) return;   // 127.0.0.2 is a loopback address only where all of 127/8 is
        var options = DataPlaneKit.Options(unixSockets: true);
        using var first = TensorListener.Start(IPAddress.Loopback, 0, options);
        int port = first.Endpoint.Port;
        TensorListener second;
        try { second = TensorListener.Start(IPAddress.Parse("127.0.0.2"), port, options); }
        catch (SocketException) { return; }       // another process holds 127.0.0.2 at that port
        using (second)
        {
            Assert.NotNull(first.UnixSocketPath);
            Assert.NotEqual(first.UnixSocketPath, second.UnixSocketPath);
            Assert.True(File.Exists(first.UnixSocketPath) && File.Exists(second.UnixSocketPath));
            foreach (var (listener, host) in new[] { (first, "127.0.0.1"), (second, "127.0.0.2") })
            {
                var (server, client) = Pair(listener, options, host);   // Pair waits for this listener's Accept
                using (server) using (client)
                {
                    Assert.True(client.IsUnixSocket);
                    RoundTrip(client, server);
                }
            }
        }
        // a wildcard listener: peers that TCP would bring to it through 127.0.0.1 take its socket
        using var any = TensorListener.Start(IPAddress.Any, 0, options);
        Assert.EndsWith($"/0.0.0.0_{any.Endpoint.Port}.sock", any.UnixSocketPath);
        var (s2, c2) = Pair(any, options);
        using (s2) using (c2) Assert.True(c2.IsUnixSocket);
    }

    [Fact]
    public void Off_on_either_end_means_tcp()
    {
        using var listener = TensorListener.Start(IPAddress.Loopback, 0, DataPlaneKit.Options(unixSockets: true));
        var (server, client) = Pair(listener, DataPlaneKit.Options(unixSockets: false));
        using (server) using (client)
        {
            Assert.False(client.IsUnixSocket);
            Assert.False(server.IsUnixSocket);
            RoundTrip(client, server);
        }
        using var tcpOnly = TensorListener.Start(IPAddress.Loopback, 0, DataPlaneKit.Options(unixSockets: false));
        Assert.Null(tcpOnly.UnixSocketPath);
        var (s2, c2) = Pair(tcpOnly, DataPlaneKit.Options(unixSockets: true));
        using (s2) using (c2) Assert.False(c2.IsUnixSocket);
    }

    [Fact]
    public void A_stale_socket_file_falls_back_to_tcp_and_a_new_listener_replaces_it()
    {
        if (!Supported) return;
        using var listener = TensorListener.Start(IPAddress.Loopback, 0, DataPlaneKit.Options(unixSockets: false));
        int port = listener.Endpoint.Port;
        string path = UnixSocketPaths.For(IPAddress.Loopback, port, create: true)!;
        // what a killed listener leaves: a file at the path that nothing answers on (.NET removes the socket file when a
        // listening socket is disposed, so a plain file stands in for it)
        File.WriteAllText(path, "");
        Assert.True(File.Exists(path));
        var (server, client) = Pair(listener, DataPlaneKit.Options(unixSockets: true));
        using (server) using (client)
        {
            Assert.False(client.IsUnixSocket);
            RoundTrip(client, server);
        }
        listener.Dispose();
        // the port is free again: a listener that takes it replaces the stale file with its own socket
        TensorListener? again = null;
        try { again = TensorListener.Start(IPAddress.Loopback, port, DataPlaneKit.Options(unixSockets: true)); }
        catch (SocketException) { File.Delete(path); return; }   // another process took the port meanwhile
        using (again)
        {
            Assert.Equal(path, again.UnixSocketPath);
            var (s2, c2) = Pair(again, DataPlaneKit.Options(unixSockets: true));
            using (s2) using (c2) Assert.True(c2.IsUnixSocket);
        }
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void A_new_listener_removes_the_files_of_ports_nothing_listens_on()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var tcpOnly = TensorListener.Start(IPAddress.Loopback, 0, DataPlaneKit.Options(unixSockets: false));
        string kept = UnixSocketPaths.For(IPAddress.Loopback, tcpOnly.Endpoint.Port, create: true)!;
        File.WriteAllText(kept, "");                      // its port is listening: not stale
        int freePort;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            freePort = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        string stale = UnixSocketPaths.For(IPAddress.Loopback, freePort, create: true)!;
        File.WriteAllText(stale, "");                     // nothing listens on its port: a killed listener's
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddMinutes(-1));
        string young = UnixSocketPaths.For(IPAddress.Loopback, freePort == 65535 ? 65534 : freePort + 1, create: true)!;
        bool youngWasThere = File.Exists(young);
        if (!youngWasThere) File.WriteAllText(young, "");    // just made: maybe a listener that started a moment ago
        using var listener = TensorListener.Start(IPAddress.Loopback, 0, DataPlaneKit.Options(unixSockets: true));
        Assert.NotNull(listener.UnixSocketPath);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(kept));
        File.Delete(kept);
        if (!youngWasThere)
        {
            Assert.True(File.Exists(young), "a socket file younger than 10 s is left alone");
            File.Delete(young);
        }
    }

    [Fact]
    public void Accept_on_both_sockets_is_cancelled_by_its_token_and_the_next_accept_still_gets_the_peer()
    {
        if (!Supported) return;
        var options = DataPlaneKit.Options(unixSockets: true);
        using var listener = TensorListener.Start(IPAddress.Loopback, 0, options);
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            var accept = Task.Run(() => listener.Accept(cts.Token));
            var e = Assert.Throws<AggregateException>(() => accept.Wait(TimeSpan.FromSeconds(10)));   // no throw: still waiting
            Assert.IsAssignableFrom<OperationCanceledException>(e.InnerException);
        }
        var (server, client) = Pair(listener, options);
        using (server) using (client)
        {
            Assert.True(server.IsUnixSocket);
            RoundTrip(client, server);
        }
        var (s2, c2) = Pair(listener, DataPlaneKit.Options(unixSockets: false));
        using (s2) using (c2) Assert.False(s2.IsUnixSocket);
    }

    [Fact]
    public void Mutual_tls_runs_over_the_unix_socket_and_refuses_an_untrusted_peer()
    {
        if (!Supported) return;
        using var pki = new TestPki();
        var (ca, caPem) = pki.CreateCa("uds-ca");
        var (_, otherPem) = pki.CreateCa("uds-other-ca");
        var trusted = DataPlaneKit.Options(tls: TestPki.Tls(pki.CreateLeaf("uds-server", ca), caPem), unixSockets: true);
        using var listener = DataPlaneKit.Listen(trusted, out var rejections);
        var (server, client) = Pair(listener, DataPlaneKit.Options(tls: TestPki.Tls(pki.CreateLeaf("uds-client", ca), caPem), unixSockets: true));
        using (server) using (client)
        {
            Assert.True(client.IsUnixSocket);
            Assert.True(client.IsTls);
            RoundTrip(client, server);
        }
        var stranger = DataPlaneKit.Options(tls: TestPki.Tls(pki.CreateLeaf("uds-stranger", null), otherPem), unixSockets: true);
        var accept = DataPlaneKit.AcceptAsync(listener);
        Assert.ThrowsAny<Exception>(() => TensorConnection.Connect("127.0.0.1", listener.Endpoint.Port, stranger).Dispose());
        Assert.True(rejections.TryTake(out var why, DataPlaneKit.Limit), "the listener did not report the refused peer");
        Assert.Contains(listener.UnixSocketPath!, why);
        Assert.False(accept.IsCompleted);
    }
}
