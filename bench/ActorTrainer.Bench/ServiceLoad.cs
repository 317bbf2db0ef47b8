using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ActorTrainer.Bench;

/// <summary>
/// N clients polling one path (GET /jobs/{id}) every interval, switched on and off as a whole. While off they wait
/// on a gate (no requests, no timer wake-ups); on every switch-on each client first waits a random part of the
/// interval, so the clients do not fire in one burst per interval.
/// </summary>
internal sealed partial class ServiceLoad : ILoadGenerator
{
    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int prio);

    private readonly HttpClient _http;
    private readonly string _path;
    private readonly int _interval;
    private readonly int _nice;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<double> _latencies = [];
    private readonly Task[] _clients;
    private volatile TaskCompletionSource _gate = NewGate();
    private volatile bool _on;
    private long _requests, _errors;

    /// <summary>Starts <paramref name="clients"/> clients, switched off.</summary>
    public ServiceLoad(HttpClient http, string path, int clients, int intervalMs, int clientNice)
    {
        (_http, _path, _interval, _nice) = (http, path, intervalMs, clientNice);
        _clients = Enumerable.Range(0, clients).Select(_ => Task.Run(Client)).ToArray();
    }

    /// <summary>Requests answered so far.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Requests that failed so far.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>The latencies (ms) recorded since the last call.</summary>
    public List<double> TakeLatencies() { lock (_latencies) { var l = _latencies.ToList(); _latencies.Clear(); return l; } }

    /// <summary>Switches the clients on.</summary>
    public void On() { _on = true; _gate.TrySetResult(); }

    /// <summary>Switches the clients off (requests in flight finish). Called by one controlling thread.</summary>
    public void Off()
    {
        if (_gate.Task.IsCompleted) _gate = NewGate();   // an open gate only: clients may be waiting on a closed one
        _on = false;
    }

    private static TaskCompletionSource NewGate() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task Client()
    {
        var ct = _stop.Token;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (!_on)
                {
                    await _gate.Task.WaitAsync(ct);
                    await Task.Delay(Random.Shared.Next(_interval + 1), ct);   // a random phase in the interval
                    continue;
                }
                if (_nice > 0) SetPriority(0, 0, _nice);   // this thread (tasks hop between pool threads)
                var sw = Stopwatch.StartNew();
                try
                {
                    using var _ = await _http.GetAsync(_path, ct);
                    Interlocked.Increment(ref _requests);
                    lock (_latencies) _latencies.Add(sw.Elapsed.TotalMilliseconds);
                }
                catch (HttpRequestException) { Interlocked.Increment(ref _errors); }
                if (_interval > 0) await Task.Delay(_interval, ct);
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Stops every client.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        Task.WaitAll(_clients);
        _stop.Dispose();
    }
}
