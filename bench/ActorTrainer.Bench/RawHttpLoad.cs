using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace ActorTrainer.Bench;

/// <summary>The service benchmark's load generator as a minimal HTTP/1.1 client (wrk-style): N keep-alive connections
/// to 127.0.0.1:port driven by one thread, each sending a pre-built <c>GET /{path}</c> every interval after its last
/// answer (as <see cref="ServiceLoad"/>'s clients do) and reading the answer (Content-Length or chunked). The daemon does
/// the same work per request as for HttpClient; the generator itself costs a few syscalls per request instead of
/// HttpClient's pipeline, timers and thread-pool hops — which matter when the clients share the trainer's 2 cores
/// (on a real deployment they run elsewhere).</summary>
internal sealed partial class RawHttpLoad : ILoadGenerator
{
    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int prio);

    private sealed class Conn(Socket socket)
    {
        public readonly Socket Socket = socket;
        public readonly byte[] Buffer = new byte[64 * 1024];
        public int Filled;
        public long Due, Sent;
        public bool InFlight;
    }

    private readonly Conn[] _conns;
    private readonly byte[] _request;
    private readonly long _interval;
    private readonly int _nice;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _gate = new(false);
    private readonly List<double> _latencies = [];
    private volatile bool _on, _stop;
    private long _requests, _errors;

    /// <summary>Opens <paramref name="clients"/> connections, switched off.</summary>
    public RawHttpLoad(int port, string path, int clients, int intervalMs, int clientNice)
    {
        _request = Encoding.ASCII.GetBytes($"GET /{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n\r\n");
        _interval = intervalMs * Stopwatch.Frequency / 1000;
        _nice = clientNice;
        _conns = Enumerable.Range(0, clients).Select(_ =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            s.Connect(new IPEndPoint(IPAddress.Loopback, port));
            return new Conn(s);
        }).ToArray();
        _thread = new Thread(Loop) { IsBackground = true, Name = "raw-http-load" };
        _thread.Start();
    }

    public long Requests => Interlocked.Read(ref _requests);
    public long Errors => Interlocked.Read(ref _errors);
    public List<double> TakeLatencies() { lock (_latencies) { var l = _latencies.ToList(); _latencies.Clear(); return l; } }

    public void On()
    {
        long now = Stopwatch.GetTimestamp();
        foreach (var c in _conns) if (!c.InFlight) c.Due = now + Random.Shared.NextInt64(_interval + 1);   // random phases
        _on = true;
        _gate.Set();
    }

    public void Off()
    {
        _on = false;
        _gate.Reset();
    }

    private void Loop()
    {
        if (_nice > 0) SetPriority(0, 0, _nice);
        var readable = new List<Socket>(_conns.Length);
        var byHandle = _conns.ToDictionary(c => c.Socket);
        while (!_stop)
        {
            if (!_on && !_conns.Any(c => c.InFlight)) { _gate.Wait(200); continue; }
            long now = Stopwatch.GetTimestamp(), next = long.MaxValue;
            foreach (var c in _conns)
            {
                if (!c.InFlight && _on && c.Due <= now) Send(c, now);
                if (!c.InFlight) next = Math.Min(next, c.Due);
            }
            readable.Clear();
            foreach (var c in _conns) if (c.InFlight) readable.Add(c.Socket);
            var waitUs = next == long.MaxValue ? 5000 : (int)Math.Clamp((next - now) * 1_000_000 / Stopwatch.Frequency, 0, 5000);
            if (readable.Count == 0) { Thread.Sleep(Math.Max(1, waitUs / 1000)); continue; }
            Socket.Select(readable, null, null, Math.Max(1, waitUs));
            foreach (var s in readable) Receive(byHandle[s]);
        }
    }

    private void Send(Conn c, long now)
    {
        c.Sent = now;
        c.Filled = 0;
        c.InFlight = true;
        try { c.Socket.Send(_request); }
        catch (SocketException) { Interlocked.Increment(ref _errors); c.InFlight = false; c.Due = now + _interval; }
    }

    private void Receive(Conn c)
    {
        int n;
        try { n = c.Socket.Receive(c.Buffer, c.Filled, c.Buffer.Length - c.Filled, SocketFlags.None); }
        catch (SocketException) { n = 0; }
        if (n <= 0) { Interlocked.Increment(ref _errors); c.InFlight = false; c.Due = Stopwatch.GetTimestamp() + _interval; return; }
        c.Filled += n;
        var complete = ResponseLength(c.Buffer.AsSpan(0, c.Filled));
        if (complete < 0) return;                               // not all of it yet
        long now = Stopwatch.GetTimestamp();
        if (c.Filled < 12 || c.Buffer[9] != (byte)'2') Interlocked.Increment(ref _errors);
        else
        {
            Interlocked.Increment(ref _requests);
            lock (_latencies) _latencies.Add((now - c.Sent) * 1000.0 / Stopwatch.Frequency);
        }
        c.InFlight = false;
        c.Due = now + _interval;
    }

    /// <summary>The length of a complete response at the start of `b`, or −1 while more bytes are needed
    /// (Content-Length bodies, and chunked ones ending with the zero chunk).</summary>
    internal static int ResponseLength(ReadOnlySpan<byte> b)
    {
        int end = b.IndexOf("\r\n\r\n"u8);
        if (end < 0) return -1;
        var head = Encoding.ASCII.GetString(b[..end]);
        int body = end + 4;
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase))
                return b.Length >= body + int.Parse(line.AsSpan(15).Trim()) ? body + int.Parse(line.AsSpan(15).Trim()) : -1;
            if (line.StartsWith("transfer-encoding:", StringComparison.OrdinalIgnoreCase) && line.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                int last = b[body..].IndexOf("\r\n0\r\n\r\n"u8);
                if (last >= 0) return body + last + 7;
                return b[body..].StartsWith("0\r\n\r\n"u8) ? body + 5 : -1;
            }
        }
        return body;                                            // no body
    }

    public void Dispose()
    {
        _stop = true;
        _gate.Set();
        _thread.Join(TimeSpan.FromSeconds(5));
        foreach (var c in _conns) c.Socket.Dispose();
        _gate.Dispose();
    }
}

/// <summary>What the windowed service benchmark needs of a load generator (<see cref="ServiceLoad"/>, HttpClient;
/// <see cref="RawHttpLoad"/>, raw sockets).</summary>
internal interface ILoadGenerator : IDisposable
{
    long Requests { get; }
    long Errors { get; }
    List<double> TakeLatencies();
    void On();
    void Off();
}
