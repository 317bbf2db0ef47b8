using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ActorTrainer.Interop;

/// <summary>
/// Serves <see cref="TrainingMetrics"/> at http://127.0.0.1:{Port}/metrics in Prometheus text format 0.0.4 via HttpListener;
/// any other path → 404, other methods on /metrics → 405. Port 0 picks a free port.
/// </summary>
public sealed class PrometheusEndpoint : IDisposable
{
    /// <summary>Content-Type of the /metrics response.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly HttpListener _listener;
    private readonly TrainingMetrics _metrics;
    private readonly Task _loop;
    private readonly CancellationTokenSource _cts = new();
    private int _disposed;

    /// <summary>Starts listening on 127.0.0.1:<paramref name="port"/> (0 = any free port, see <see cref="Port"/>).</summary>
    public PrometheusEndpoint(int port, TrainingMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (port is < 0 or > 65535)
            throw new ArgumentOutOfRangeException(nameof(port), port, $"Prometheus port {port} is not in [0, 65535].");
        _metrics = metrics;
        (_listener, Port) = port == 0 ? StartOnFreePort() : (Start(port), port);
        _loop = Task.Run(ServeAsync);
    }

    /// <summary>The TCP port being listened on.</summary>
    public int Port { get; }

    /// <summary>The full URL of the metrics endpoint.</summary>
    public Uri MetricsUri => new($"http://127.0.0.1:{Port}/metrics");

    private static HttpListener Start(int port)
    {
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        try
        {
            listener.Start();
        }
        catch (HttpListenerException e)
        {
            listener.Close();
            throw new InvalidOperationException($"Prometheus endpoint cannot listen on http://127.0.0.1:{port}/: {e.Message}", e);
        }
        return listener;
    }

    private static (HttpListener, int) StartOnFreePort()
    {
        InvalidOperationException? last = null;
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            try
            {
                return (Start(port), port);
            }
            catch (InvalidOperationException e)
            {
                last = e; // Someone took the port between probe and bind; retry with another.
            }
        }
        throw new InvalidOperationException("Prometheus endpoint could not find a free port on 127.0.0.1 after 20 attempts.", last);
    }

    private async Task ServeAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return; // Listener stopped.
            }
            try
            {
                Respond(ctx);
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // Client went away mid-response; keep serving others.
            }
        }
    }

    private void Respond(HttpListenerContext ctx)
    {
        var req = ctx.Request;
        var res = ctx.Response;
        var path = req.Url?.AbsolutePath ?? "/";
        int status;
        string body;
        string contentType = "text/plain; charset=utf-8";
        if (path == "/metrics")
        {
            if (req.HttpMethod is "GET" or "HEAD")
            {
                status = 200;
                body = _metrics.ToPrometheusText();
                contentType = ContentType;
            }
            else
            {
                status = 405;
                body = $"Method {req.HttpMethod} not allowed on /metrics; use GET.\n";
                res.AddHeader("Allow", "GET, HEAD");
            }
        }
        else
        {
            status = 404;
            body = $"Not found: {path}. Metrics are served at /metrics.\n";
        }
        var bytes = Encoding.UTF8.GetBytes(body);
        res.StatusCode = status;
        res.ContentType = contentType;
        res.ContentLength64 = bytes.Length;
        if (req.HttpMethod != "HEAD")
            res.OutputStream.Write(bytes);
        res.Close();
    }

    /// <summary>Stops listening and waits for the serving loop to end.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _cts.Cancel();
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
        _cts.Dispose();
    }
}
