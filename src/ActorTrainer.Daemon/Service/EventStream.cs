using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ActorTrainer.Daemon.Service;

/// <summary>
/// <c>GET /jobs/{id}/events</c>: server-sent events for one job, from the start of its train.log and then as they
/// happen: <c>state</c> (the job's state when it changes), <c>log</c> (each line the trainer prints), <c>epoch</c>
/// (per-epoch metrics: epoch, epochs, loss, accuracy, val_loss, val_accuracy), <c>test</c> (final test metrics),
/// and <c>end</c> once the job is succeeded, failed or cancelled and its log is read to the end.
/// </summary>
public static class EventStream
{
    /// <summary>Streams the events of <paramref name="job"/> until it ends, the client goes away or the service stops
    /// (a stream open at SIGTERM would otherwise hold the shutdown — and the trainers' SIGTERM behind it — for the
    /// host's whole shutdown timeout).</summary>
    public static async Task Write(HttpContext ctx, JobStore store, JobRecord job)
    {
        var res = ctx.Response;
        res.ContentType = "text/event-stream";
        res.Headers.CacheControl = "no-cache";
        res.Headers["X-Accel-Buffering"] = "no";
        var stopping = ctx.RequestServices.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, stopping);
        var ct = linked.Token;
        var follower = new TrainLog.Follower(Path.Combine(job.RunDir, TrainerProcess.LogFile));
        string? lastState = null;
        var lastWrite = DateTime.UtcNow;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var state = store.Get(job.Id)?.State ?? JobStates.Failed;
                if (state != lastState)
                {
                    await Send(res, "state", new JsonObject { ["id"] = job.Id, ["state"] = state }.ToJsonString(), ct);
                    lastState = state;
                }
                foreach (var line in follower.ReadNew())
                {
                    var parsed = TrainLog.Parse(line);
                    await Send(res, "log", parsed.Text, ct);
                    if (parsed.Data is not null) await Send(res, parsed.Kind, parsed.Data.ToJsonString(), ct);
                    lastWrite = DateTime.UtcNow;
                }
                // The trainer has exited before its job turns terminal, so its whole log was read above.
                if (JobStates.IsTerminal(state))
                {
                    await Send(res, "end", new JsonObject { ["id"] = job.Id, ["state"] = state }.ToJsonString(), ct);
                    return;
                }
                if (DateTime.UtcNow - lastWrite > TimeSpan.FromSeconds(15))
                {
                    await res.WriteAsync(": keep-alive\n\n", ct);   // a comment line keeps proxies from closing the stream
                    await res.Body.FlushAsync(ct);
                    lastWrite = DateTime.UtcNow;
                }
                await Task.Delay(250, ct);
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
    }

    private static async Task Send(HttpResponse res, string name, string data, CancellationToken ct)
    {
        var sb = new StringBuilder("event: ").Append(name).Append('\n');
        foreach (var line in data.Split('\n')) sb.Append("data: ").Append(line).Append('\n');
        sb.Append('\n');
        await res.WriteAsync(sb.ToString(), ct);
        await res.Body.FlushAsync(ct);
    }
}
