using System.Net;
using System.Text;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A stand-in for <c>serve</c> on 127.0.0.1 (an <see cref="HttpListener"/>) for the client verbs' failure
/// paths that the real service does not take on demand: a request held open, an event stream that never ends, a 500.
/// Each request goes to the test's handler on its own task; the requests that arrived are recorded
/// ("GET /jobs/ID/events"), so a test can wait until a client is waiting instead of guessing with a sleep. Dispose
/// releases the handlers still holding a request (<see cref="Hold"/>) and stops listening.</summary>
internal sealed class StubService : IDisposable
{
    private readonly HttpListener _web = new();
    private readonly CancellationTokenSource _stop = new();      // not disposed: handlers may still read its token
    private readonly List<string> _requests = new();

    /// <summary>Listens on a free port and hands every request to <paramref name="handle"/> (given a token that
    /// Dispose cancels); a handler that throws answers nothing more, and the response is closed.</summary>
    public StubService(Func<HttpListenerContext, CancellationToken, Task> handle)
    {
        Port = ServiceDaemon.FreePort();
        _web.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _web.Start();
        _ = Task.Run(() => Serve(handle));
    }

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>The --server URL for client verbs.</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>The requests so far, as "METHOD /path".</summary>
    public string[] Requests { get { lock (_requests) return _requests.ToArray(); } }

    private async Task Serve(Func<HttpListenerContext, CancellationToken, Task> handle)
    {
        while (_web.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _web.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            lock (_requests) _requests.Add($"{ctx.Request.HttpMethod} {ctx.Request.Url!.AbsolutePath}");
            _ = Task.Run(async () =>
            {
                try { await handle(ctx, _stop.Token); }
                catch (Exception) { /* the client went away or the stub stops: nothing left to answer */ }
                finally { try { ctx.Response.Close(); } catch (Exception) { } }
            });
        }
    }

    /// <summary>True once a request for <paramref name="request"/> ("GET /jobs/ID") has arrived, false after
    /// <paramref name="limit"/>.</summary>
    public bool WaitForRequest(string request, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (!Requests.Contains(request))
        {
            if (DateTime.UtcNow > until) return false;
            Thread.Sleep(20);
        }
        return true;
    }

    /// <summary>Answers <paramref name="status"/> with a JSON body.</summary>
    public static async Task Json(HttpListenerContext ctx, int status, string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength64 = body.Length;
        await ctx.Response.OutputStream.WriteAsync(body);
    }

    /// <summary>Keeps the request open (no answer, or no end to one begun) until the stub is disposed.</summary>
    public static async Task Hold(CancellationToken stop)
    {
        try { await Task.Delay(Timeout.Infinite, stop); } catch (OperationCanceledException) { }
    }

    /// <summary>Releases the held requests and stops listening.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        try { _web.Stop(); _web.Close(); } catch (ObjectDisposedException) { }
    }
}
