using System.Net;
using System.Net.Sockets;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A TCP relay between two loopback addresses, port for port (listen:P → target:P), through which a test
/// reaches a node that binds `target` and announces `listen` (cluster.hostname / cluster.public-hostname): the test can
/// then <see cref="Reset"/> the node's connections of one port while the node lives, as a failing network or a peer's
/// protocol error would end them.</summary>
internal sealed class TcpRelay : IDisposable
{
    private readonly List<TcpListener> _listeners = new();
    private readonly List<(int Port, Socket In, Socket Out)> _pairs = new();

    public TcpRelay(IPAddress listen, IPAddress target, params int[] ports)
    {
        foreach (int port in ports)
        {
            var l = new TcpListener(listen, port);
            l.Start();
            _listeners.Add(l);
            _ = Accept(l, new IPEndPoint(target, port));
        }
    }

    /// <summary>Whether this host can bind both loopback addresses (Linux: all of 127/8; macOS only 127.0.0.1 unless aliased).</summary>
    public static bool CanBind(params IPAddress[] addresses)
    {
        try
        {
            foreach (var a in addresses)
            {
                using var s = new Socket(SocketType.Stream, ProtocolType.Tcp);
                s.Bind(new IPEndPoint(a, 0));
            }
            return true;
        }
        catch (SocketException) { return false; }
    }

    private async Task Accept(TcpListener l, IPEndPoint target)
    {
        while (true)
        {
            Socket inbound;
            try { inbound = await l.AcceptSocketAsync(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
            var outbound = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try { await outbound.ConnectAsync(target); }
            catch (SocketException) { inbound.Dispose(); outbound.Dispose(); continue; }
            inbound.NoDelay = true;
            lock (_pairs) _pairs.Add((target.Port, inbound, outbound));
            _ = Pump(inbound, outbound);
            _ = Pump(outbound, inbound);
        }
    }

    /// <summary>Copies until either end stops; then closes both (the other pump ends with them).</summary>
    private async Task Pump(Socket from, Socket to)
    {
        var buffer = new byte[1 << 16];
        try
        {
            int n;
            while ((n = await from.ReceiveAsync(buffer)) > 0)
                for (int sent = 0; sent < n;) sent += await to.SendAsync(buffer.AsMemory(sent, n - sent));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        lock (_pairs) _pairs.RemoveAll(p => p.In == from || p.Out == from);
        from.Dispose();
        to.Dispose();
    }

    /// <summary>Resets every relayed connection of `port` at both ends (RST, no orderly close); returns how many.</summary>
    public int Reset(int port)
    {
        List<(int Port, Socket In, Socket Out)> cut;
        lock (_pairs)
        {
            cut = _pairs.Where(p => p.Port == port).ToList();
            _pairs.RemoveAll(p => p.Port == port);
        }
        foreach (var (_, a, b) in cut)
            foreach (var s in new[] { a, b })
            {
                try { s.LingerState = new LingerOption(true, 0); }
                catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
                s.Dispose();
            }
        return cut.Count;
    }

    public void Dispose()
    {
        foreach (var l in _listeners) l.Stop();
        lock (_pairs)
            foreach (var (_, a, b) in _pairs) { a.Dispose(); b.Dispose(); }
    }
}
