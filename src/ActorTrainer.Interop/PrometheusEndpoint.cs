using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ActorTrainer.Interop;

/// <summary>
/// Serves <see cref="TrainingMetrics"/> at http://127.0.0.1:{Port}/metrics in Prometheus text format 0.0.4 (a minimal
/// HTTP/1.1 server on a loopback socket): any other path → 404, other methods on /metrics → 405, a malformed request →
/// 400; every response closes its connection. At most <see cref="MaxConnections"/> connections are served at once
/// (more are closed on accept) and a connection that has not sent its whole request head within
/// <see cref="IdleTimeout"/> is closed, so idle or slow clients cannot exhaust file descriptors. Port 0 picks a free port.
/// </summary>
public sealed class PrometheusEndpoint : IDisposable
{
    /// <summary>Content-Type of the /metrics response.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Default cap on connections served at once.</summary>
    public const int DefaultMaxConnections = 32;

    /// <summary>Default time a client has to send its request head.</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(5);

    private const int MaxRequestHead = 8192;
    private readonly TcpListener _listener;
    private readonly TrainingMetrics _metrics;
    private readonly Task _loop;
    private readonly CancellationTokenSource _cts = new();
    private int _open, _disposed;
    private long _refused;

    /// <summary>Starts listening on 127.0.0.1:<paramref name="port"/> (0 = any free port, see <see cref="Port"/>);
    /// throws InvalidOperationException naming the address when the port is in use.</summary>
    public PrometheusEndpoint(int port, TrainingMetrics metrics, int maxConnections = DefaultMaxConnections, TimeSpan? idleTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (port is < 0 or > 65535)
            throw new ArgumentOutOfRangeException(nameof(port), port, $"Prometheus port {port} is not in [0, 65535].");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConnections, 1);
        _metrics = metrics;
        MaxConnections = maxConnections;
        IdleTimeout = idleTimeout ?? DefaultIdleTimeout;
        _listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            _listener.Start(backlog: 128);
        }
        catch (SocketException e)
        {
            _listener.Stop();
            throw new InvalidOperationException($"Prometheus endpoint cannot listen on http://127.0.0.1:{port}/: " +
                                                (e.SocketErrorCode == SocketError.AddressAlreadyInUse ? "the port is already in use" : e.Message), e);
        }
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _loop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The TCP port being listened on.</summary>
    public int Port { get; }

    /// <summary>The full URL of the metrics endpoint.</summary>
    public Uri MetricsUri => new($"http://127.0.0.1:{Port}/metrics");

    /// <summary>Connections served at once; more are closed as soon as they are accepted.</summary>
    public int MaxConnections { get; }

    /// <summary>Time a client has to send its request head before its connection is closed.</summary>
    public TimeSpan IdleTimeout { get; }

    /// <summary>Connections open now.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    /// <summary>Connections closed on accept because <see cref="MaxConnections"/> were open.</summary>
    public long RefusedConnections => Interlocked.Read(ref _refused);

    private async Task AcceptLoopAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or InvalidOperationException)
            {
                return; // listener stopped
            }
            catch (SocketException)
            {
                // e.g. out of file descriptors: back off instead of spinning; the endpoint must never end training
                try { await Task.Delay(100, _cts.Token).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
                continue;
            }
            if (Interlocked.Increment(ref _open) > MaxConnections)
            {
                Interlocked.Decrement(ref _open);
                Interlocked.Increment(ref _refused);
                socket.Dispose();
                continue;
            }
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
            timeout.CancelAfter(IdleTimeout);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            var head = await ReadHeadAsync(stream, timeout.Token).ConfigureAwait(false);
            if (head is null) return;
            var response = HttpResponse(head);
            await stream.WriteAsync(response, timeout.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // idle, slow or vanished client: drop the connection, keep serving others
        }
        finally
        {
            socket.Dispose();
            Interlocked.Decrement(ref _open);
        }
    }

    /// <summary>The request head up to the blank line (null if the client closed first), or "" when it is too long.</summary>
    private static async Task<string?> ReadHeadAsync(NetworkStream stream, CancellationToken ct)
    {
        var buf = new byte[MaxRequestHead];
        int n = 0;
        while (true)
        {
            if (n == buf.Length) return "";
            int r = await stream.ReadAsync(buf.AsMemory(n), ct).ConfigureAwait(false);
            if (r == 0) return null;
            n += r;
            var text = Encoding.ASCII.GetString(buf, 0, n);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0) end = text.IndexOf("\n\n", StringComparison.Ordinal);
            if (end >= 0) return text[..end];
        }
    }

    private byte[] HttpResponse(string head)
    {
        var requestLine = head.Split('\n')[0].TrimEnd('\r').Split(' ');
        string method = requestLine.Length == 3 && requestLine[2].StartsWith("HTTP/", StringComparison.Ordinal) ? requestLine[0] : "";
        string path = method.Length > 0 ? PathOf(requestLine[1]) : "";
        int status;
        string body, contentType = "text/plain; charset=utf-8", extra = "";
        if (method.Length == 0) (status, body) = (400, "Bad request.\n");
        else if (path != "/metrics") (status, body) = (404, $"Not found: {path}. Metrics are served at /metrics.\n");
        else if (method is "GET" or "HEAD") (status, body, contentType) = (200, _metrics.ToPrometheusText(), ContentType);
        else (status, body, extra) = (405, $"Method {method} not allowed on /metrics; use GET.\n", "Allow: GET, HEAD\r\n");
        var bytes = Encoding.UTF8.GetBytes(body);
        var reason = status switch { 200 => "OK", 400 => "Bad Request", 404 => "Not Found", _ => "Method Not Allowed" };
        var header = $"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {bytes.Length}\r\n{extra}Connection: close\r\n\r\n";
        var h = Encoding.ASCII.GetBytes(header);
        return method == "HEAD" ? h : [.. h, .. bytes];
    }

    private static string PathOf(string target)
    {
        if (Uri.TryCreate(target, UriKind.Absolute, out var abs) && abs.Scheme is "http" or "https") return abs.AbsolutePath;
        var q = target.IndexOfAny(['?', '#']);
        return q >= 0 ? target[..q] : target;
    }

    /// <summary>Stops listening and waits for the accept loop to end.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _cts.Cancel();
        _listener.Stop();
        _loop.Wait(TimeSpan.FromSeconds(5));
        _cts.Dispose();
    }
}
