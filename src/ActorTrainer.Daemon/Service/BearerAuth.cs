using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ActorTrainer.Daemon.Service;

/// <summary>
/// Bearer-token check (serve.token-file): when a token is configured every request except <c>GET /healthz</c> and
/// the status page's HTML (<c>GET /</c>, which holds no data and asks for the token itself) must carry
/// <c>Authorization: Bearer &lt;token&gt;</c>, else 401. Compared in constant time.
/// </summary>
public static class BearerAuth
{
    /// <summary>Paths served without a token.</summary>
    public static bool IsPublic(HttpRequest req) =>
        HttpMethods.IsGet(req.Method) && req.Path.Value is "/healthz" or "/";

    /// <summary>Adds the check to the pipeline (no-op without a token).</summary>
    public static void UseBearerToken(this WebApplication app, string? token)
    {
        if (token is null) return;
        var expected = Encoding.UTF8.GetBytes(token);
        app.Use(async (ctx, next) =>
        {
            if (IsPublic(ctx.Request) || Matches(ctx.Request.Headers.Authorization.ToString(), expected))
            {
                await next(ctx);
                return;
            }
            ctx.Response.StatusCode = StatusCodes.Status401Unauthorized;
            ctx.Response.Headers.WWWAuthenticate = "Bearer realm=\"actortrainer\"";
            await ctx.Response.WriteAsJsonAsync(JobViews.Error("missing or wrong bearer token: send 'Authorization: Bearer <token>' with the token in serve.token-file"));
        });
    }

    private static bool Matches(string header, byte[] expected)
    {
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        var given = Encoding.UTF8.GetBytes(header[scheme.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(given, expected);
    }
}
