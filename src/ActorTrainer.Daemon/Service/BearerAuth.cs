using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ActorTrainer.Daemon.Service;

/// <summary>
/// Bearer-token check (serve.token-file): when a token is configured every request except <c>GET /healthz</c> and
/// the status page's HTML (<c>GET /</c>, which holds no data and asks for the token itself) must carry
/// <c>Authorization: Bearer &lt;token&gt;</c>, else 401. Compared in constant time. A GET of one job file may carry a
/// signed link from <c>GET /jobs/{id}/file-links</c> instead (<see cref="FileLinks"/>), as the status page's links do.
/// </summary>
public static class BearerAuth
{
    /// <summary>Paths served without a token.</summary>
    public static bool IsPublic(HttpRequest req) =>
        HttpMethods.IsGet(req.Method) && req.Path.Value is "/healthz" or "/";

    /// <summary>Adds the check to the pipeline (no-op without a token).</summary>
    public static void UseBearerToken(this WebApplication app, string? token, FileLinks links)
    {
        if (token is null) return;
        var expected = Encoding.UTF8.GetBytes(token);
        app.Use(async (ctx, next) =>
        {
            var link = FileLinkCheck.None;
            if (IsPublic(ctx.Request) || Matches(ctx.Request.Headers.Authorization.ToString(), expected)
                || (link = links.Check(ctx.Request)) == FileLinkCheck.Valid)
            {
                await next(ctx);
                return;
            }
            ctx.Response.StatusCode = StatusCodes.Status401Unauthorized;
            ctx.Response.Headers.WWWAuthenticate = "Bearer realm=\"actortrainer\"";
            await ctx.Response.WriteAsJsonAsync(JobViews.Error(Refusal(link)));
        });
    }

    private static string Refusal(FileLinkCheck link) => link switch
    {
        FileLinkCheck.Expired => $"this file link has expired (signed links last {FileLinks.Lifetime.TotalMinutes:0} minutes): " +
                                 "reload the status page, or send 'Authorization: Bearer <token>'",
        FileLinkCheck.Invalid => "this file link's signature does not match (altered, or from before the service restarted): " +
                                 "reload the status page, or send 'Authorization: Bearer <token>'",
        _ => "missing or wrong bearer token: send 'Authorization: Bearer <token>' with the token in serve.token-file " +
             "(the client verbs: --token-file FILE)",
    };

    private static bool Matches(string header, byte[] expected)
    {
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        var given = Encoding.UTF8.GetBytes(header[scheme.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(given, expected);
    }
}
