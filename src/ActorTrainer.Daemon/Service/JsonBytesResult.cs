using Microsoft.AspNetCore.Http;

namespace ActorTrainer.Daemon.Service;

/// <summary>An already serialized JSON body, answered as <c>Results.Json</c> answers (200, <c>application/json;
/// charset=utf-8</c>), without serializing per request.</summary>
public sealed class JsonBytesResult(byte[] body) : IResult
{
    /// <inheritdoc />
    public Task ExecuteAsync(HttpContext httpContext)
    {
        var res = httpContext.Response;
        res.StatusCode = StatusCodes.Status200OK;
        res.ContentType = "application/json; charset=utf-8";
        res.ContentLength = body.Length;
        return res.Body.WriteAsync(body, 0, body.Length, httpContext.RequestAborted);
    }
}
