using System.Text.Json;
using System.Text.Json.Nodes;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Interop;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ActorTrainer.Daemon.Service;

/// <summary>The HTTP API of the training service (ASP.NET Core minimal APIs).</summary>
public static class JobEndpoints
{
    /// <summary>Maps every endpoint. <c>GET /jobs/{id}</c>, the one clients poll, answers from
    /// <paramref name="status"/> (at most 250 ms old, rebuilt at once when the job's state changes).</summary>
    public static void MapJobApi(this IEndpointRouteBuilder app, JobStore store, JobRunner runner, JobProgressBook progress, JobStatusCache status, FileLinks links, ServeOptions options)
    {
        // The body is read as JSON whatever its Content-Type (curl -d sends form encoding), so errors name the field.
        app.MapPost("/jobs", async (HttpRequest req) => await Submit(req, store, runner, options))
           .Produces(StatusCodes.Status201Created).Produces(StatusCodes.Status400BadRequest).Produces(StatusCodes.Status413PayloadTooLarge)
           .WithSummary("Submit a training job: {\"config\": \"<HOCON>\", \"set\": {\"key\": \"value\"}}; 201 {\"id\"}, 400 naming the bad key");
        app.MapGet("/jobs", () =>
            {
                var places = store.QueuePositions();
                return Results.Json(new JsonArray(store.All().Select(j => (JsonNode)JobViews.View(j, progress.For(j), false, places.GetValueOrDefault(j.Id))).ToArray()));
            })
           .WithSummary("All jobs in submission order");
        app.MapGet("/jobs/{id}", (string id) => Find(store, id) is { } j
                ? new JsonBytesResult(status.Body(j)) : NotFound(id))
           .WithSummary("One job: state, epoch, step, metrics, run_dir and, once done, summary");
        app.MapGet("/jobs/{id}/config", (string id) => Find(store, id) is { } j
                ? Results.Text(j.Config, "text/plain; charset=utf-8") : NotFound(id))
           .WithSummary("The job's exact effective configuration (HOCON)");
        app.MapPost("/jobs/{id}/cancel", (string id) => Find(store, id) is not { } was ? NotFound(id)
                : Stored(runner, () => Answer(runner.Cancel(id)!, progress, was.State is JobStates.Queued or JobStates.Running ? null
                    : $"job '{id}' is {was.State}: only a queued or running job can be cancelled")))
           .WithSummary("Cancel: a queued job at once; a running one checkpoints and stops (resumable)");
        app.MapPost("/jobs/{id}/resume", (string id) => Find(store, id) is null ? NotFound(id)
                : Stored(runner, () => Answer(runner.Resume(id, out var refused)!, progress, refused, store.QueuePositions().GetValueOrDefault(id))))
           .WithSummary("Queue a cancelled or failed job again, at the back of the queue; it continues from its newest checkpoint " +
                        "(409 when it has none: it stopped before its first)");
        app.MapGet("/jobs/{id}/events", async (HttpContext ctx, string id) =>
            {
                if (Find(store, id) is not { } j) { await NotFound(id).ExecuteAsync(ctx); return; }
                await EventStream.Write(ctx, store, j);
            })
           .WithSummary("Server-sent events: state, log, epoch, test, end");
        app.MapGet("/jobs/{id}/files", (string id) => Find(store, id) is { } j
                ? Results.Json(new JsonArray(JobFiles.List(j.RunDir).Select(f => (JsonNode)f).ToArray())) : NotFound(id))
           .WithSummary("The files of the job's run directory");
        app.MapGet("/jobs/{id}/file-links", (string id) => Find(store, id) is { } j ? Results.Json(Links(j, links)) : NotFound(id))
           .WithSummary("Signed links to the job's files that open without a bearer token, each for 10 minutes (for browsers)");
        app.MapGet("/jobs/{id}/files/{**name}", (string id, string name) => File(store, id, name))
           .WithSummary("One file of the run directory (plots, summary.json, history.csv, model files, train.log)");
        app.MapGet("/healthz", () => Results.Json(new JsonObject
            {
                ["status"] = "ok",
                ["jobs"] = store.All().Count,
                ["running"] = runner.Running,
            }))
           .WithSummary("Liveness: 200 {\"status\": \"ok\"}");
        app.MapGet("/metrics", () => Results.Text(ServiceMetrics.Render(store, progress, runner.Running), PrometheusEndpoint.ContentType))
           .WithSummary("Prometheus metrics (text format 0.0.4)");
        app.MapGet("/", () => Results.Content(StatusPage.Html, "text/html; charset=utf-8")).ExcludeFromDescription();
    }

    private static async Task<IResult> Submit(HttpRequest req, JobStore store, JobRunner runner, ServeOptions options)
    {
        JsonElement body;
        try
        {
            using var doc = await JsonDocument.ParseAsync(req.Body);
            body = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return Results.Json(JobViews.Error($"request body is not valid JSON: {e.Message}"), statusCode: 400);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Results.Json(JobViews.Error($"request body is larger than serve.max-request-bytes = {options.MaxRequestBytes}"), statusCode: 413);
        }
        ValidatedJob job;
        try
        {
            job = JobSubmission.Validate(body);
        }
        catch (ConfigException e)
        {
            return Results.Json(JobViews.Error(e.Message), statusCode: 400);
        }
        var id = JobSubmission.NewId();
        var runDir = Path.Combine(options.RunsRoot, id);
        return Stored(runner, () =>
        {
            var record = store.Insert(id, job.ConfigText, runDir);   // durable before the 201
            runner.Wake();
            return Results.Json(new JsonObject { ["id"] = id, ["state"] = record.State, ["run_dir"] = runDir }, statusCode: 201);
        });
    }

    /// <summary>Runs a request that changes the job store. When the store cannot write it, the client gets 503 naming
    /// serve.database, and the service stops (<see cref="JobRunner.StoreFailure"/>).</summary>
    private static IResult Stored(JobRunner runner, Func<IResult> request)
    {
        try
        {
            return request();
        }
        catch (JobStoreException e)
        {
            runner.OnStoreFailure(e);
            return Results.Json(JobViews.Error(e.Message), statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    private static JobRecord? Find(JobStore store, string id) => JobSubmission.IsWellFormedId(id) ? store.Get(id) : null;

    private static IResult NotFound(string id) => Results.Json(JobViews.Error($"no job '{id}'"), statusCode: 404);

    /// <summary>202 with the job when the request changed it (cancel: it was queued or running; resume: it can be
    /// resumed, <see cref="JobResumability"/>), else 409 with <paramref name="refused"/>, the reason naming its state.</summary>
    private static IResult Answer(JobRecord job, JobProgressBook progress, string? refused, int? place = null)
    {
        var view = JobViews.View(job, progress.For(job), false, place);
        if (refused is not null) view["error"] = refused;
        return Results.Json(view, statusCode: refused is null ? 202 : 409);
    }

    /// <summary><c>{"expires_at", "files": [{"name", "url"}]}</c>: a signed link to every file of the run directory.</summary>
    private static JsonObject Links(JobRecord job, FileLinks links)
    {
        var files = new JsonArray();
        var expires = DateTimeOffset.UtcNow + FileLinks.Lifetime;
        foreach (var name in JobFiles.List(job.RunDir))
        {
            (var url, expires) = links.Sign(job.Id, name);
            files.Add(new JsonObject { ["name"] = name, ["url"] = url });
        }
        return new JsonObject { ["expires_at"] = expires, ["files"] = files };
    }

    private static IResult File(JobStore store, string id, string name)
    {
        if (Find(store, id) is not { } job) return NotFound(id);
        var (path, error) = JobFiles.Resolve(job.RunDir, name);
        if (error is not null) return Results.Json(JobViews.Error(error), statusCode: 400);
        if (path is null) return Results.Json(JobViews.Error($"job '{id}' has no file '{name}'"), statusCode: 404);
        return Results.File(path, JobFiles.ContentType(path), enableRangeProcessing: true);
    }
}
