using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace ActorTrainer.Daemon.Service;

/// <summary>What <see cref="FileLinks.Check"/> found in a request.</summary>
public enum FileLinkCheck
{
    /// <summary>The request carries no signed link (no <c>sig</c> parameter, or not a GET of one job file).</summary>
    None,

    /// <summary>A valid, unexpired link for exactly this file.</summary>
    Valid,

    /// <summary>A link that was valid once but has expired.</summary>
    Expired,

    /// <summary>A signature that does not match this path and expiry (altered, or from an earlier serve process).</summary>
    Invalid,
}

/// <summary>
/// Short-lived signed links to single job files (<c>/jobs/{id}/files/{name}?expires=UNIX&amp;sig=HMAC</c>), so that a
/// browser can open a file by plain link navigation, which sends no <c>Authorization</c> header, while a token is
/// required. The signature is HMAC-SHA256 over the path and the expiry with a key drawn at random when the service
/// starts: a link opens that one file, for at most <see cref="Lifetime"/>, until the service restarts; it holds
/// nothing of the bearer token.
/// </summary>
public sealed class FileLinks
{
    /// <summary>How long a signed link stays valid.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly TimeProvider _time;

    /// <summary>A signer with a fresh random key; <paramref name="time"/> (default: the system clock) for tests.</summary>
    public FileLinks(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    /// <summary>The signed link to file <paramref name="name"/> of job <paramref name="id"/> and when it expires.</summary>
    public (string Url, DateTimeOffset ExpiresAt) Sign(string id, string name)
    {
        var expires = _time.GetUtcNow() + Lifetime;
        var unix = expires.ToUnixTimeSeconds();
        var path = $"/jobs/{id}/files/{name}";
        return ($"{path}?expires={unix.ToString(CultureInfo.InvariantCulture)}&sig={Signature(path, unix)}",
                DateTimeOffset.FromUnixTimeSeconds(unix));
    }

    /// <summary>Checks the signed link a GET or HEAD of <c>/jobs/{id}/files/{name}</c> carries.</summary>
    public FileLinkCheck Check(HttpRequest req)
    {
        var path = req.Path.Value ?? "";
        if (!(HttpMethods.IsGet(req.Method) || HttpMethods.IsHead(req.Method)) || !IsFilePath(path)
            || req.Query["sig"].ToString() is not { Length: > 0 } sig)
            return FileLinkCheck.None;
        if (!long.TryParse(req.Query["expires"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var unix))
            return FileLinkCheck.Invalid;
        var expected = Encoding.ASCII.GetBytes(Signature(path, unix));
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(sig), expected)) return FileLinkCheck.Invalid;
        return _time.GetUtcNow().ToUnixTimeSeconds() < unix ? FileLinkCheck.Valid : FileLinkCheck.Expired;
    }

    /// <summary>True for <c>/jobs/{id}/files/{name}</c> with a non-empty name (not the listing).</summary>
    private static bool IsFilePath(string path)
    {
        var parts = path.Split('/', 5);
        return parts.Length == 5 && parts[0].Length == 0 && parts[1] == "jobs" && parts[2].Length > 0 && parts[3] == "files" && parts[4].Length > 0;
    }

    private string Signature(string path, long unix)
    {
        var mac = HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(path + "\n" + unix.ToString(CultureInfo.InvariantCulture)));
        return Convert.ToBase64String(mac).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
