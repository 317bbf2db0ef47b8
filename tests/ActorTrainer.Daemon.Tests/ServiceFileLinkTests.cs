using System.Net;
using System.Net.Http.Json;
using System.Runtime.Versioning;
using System.Text.Json.Nodes;
using ActorTrainer.Daemon.Service;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>With serve.token-file set, the status page's file links open in a browser, which sends no Authorization
/// header on link navigation: each is a short-lived signed link for one file (GET /jobs/{id}/file-links) that holds
/// nothing of the token. Before, every click on summary.json, history.csv or train.log answered 401.</summary>
public class ServiceFileLinkTests
{
    private const string Token = "test-token-0123456789abcdef";

    [UnixFact]
    [UnsupportedOSPlatform("windows")]
    public async Task Signed_file_links_open_one_file_without_the_token_and_nothing_else()
    {
        using var t = new TempDir();
        File.WriteAllText(t["token"], Token + "\n");
        File.SetUnixFileMode(t["token"], UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using var d = new ServiceDaemon(t["runs"], token: Token, sets: $"serve.token-file={t["token"]}");
        var id = d.Submit(new Dictionary<string, string>(ServiceRuns.Small) { ["trainer.epochs"] = "1" });
        Assert.Equal("succeeded", d.WaitFor(id, j => j["state"]!.GetValue<string>() is "succeeded" or "failed", 300, "done")["state"]!.GetValue<string>());
        using var browser = new HttpClient { BaseAddress = d.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        using (var plain = await browser.GetAsync($"jobs/{id}/files/summary.json"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, plain.StatusCode);
            Assert.Contains("(the client verbs: --token-file FILE)", await plain.Content.ReadAsStringAsync());
        }

        var body = await d.Http.GetStringAsync($"jobs/{id}/file-links");
        Assert.DoesNotContain(Token, body);
        var files = JsonNode.Parse(body)!["files"]!.AsArray().ToDictionary(f => f!["name"]!.GetValue<string>(), f => f!["url"]!.GetValue<string>());
        var summary = files["summary.json"];
        Assert.StartsWith($"/jobs/{id}/files/summary.json?expires=", summary);
        using (var link = await browser.GetAsync(summary))
        {
            Assert.True(link.StatusCode == HttpStatusCode.OK, $"{summary}: {(int)link.StatusCode} {await link.Content.ReadAsStringAsync()}");
            Assert.Equal(File.ReadAllText(Path.Combine(t["runs"], id, "summary.json")), await link.Content.ReadAsStringAsync());
        }
        Assert.True(files.ContainsKey("train.log") && files.ContainsKey("history.csv"), string.Join(", ", files.Keys));

        // The signature opens that one file: not another file, the listing, the API, nor a POST.
        var query = summary[summary.IndexOf('?')..];
        foreach (var other in new[] { $"jobs/{id}/files/history.csv{query}", $"jobs/{id}/files{query}", $"jobs/{id}{query}", $"jobs{query}" })
        {
            using var r = await browser.GetAsync(other);
            Assert.True(r.StatusCode == HttpStatusCode.Unauthorized, $"{other}: {(int)r.StatusCode}");
        }
        using (var forged = await browser.GetAsync(summary.Replace("expires=", "expires=1")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
            Assert.Contains("signature does not match", (await forged.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());
        }
        using (var post = await browser.PostAsync($"jobs/{id}/resume{query}", null))
            Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);
        Assert.DoesNotContain(Token, d.Output);
    }

    [Fact]
    public void A_signed_link_expires_after_its_lifetime_and_binds_its_path_and_expiry()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 12, 4, 10, 0, 0, TimeSpan.Zero));
        var links = new FileLinks(clock);
        var (url, expires) = links.Sign("j20261204-100000-abcdef", "model/config.json");
        Assert.Equal(clock.Now + FileLinks.Lifetime, expires);
        Assert.Equal(FileLinkCheck.Valid, links.Check(Request("GET", url)));
        Assert.Equal(FileLinkCheck.Valid, links.Check(Request("HEAD", url)));
        Assert.Equal(FileLinkCheck.None, links.Check(Request("POST", url)));
        Assert.Equal(FileLinkCheck.Invalid, links.Check(Request("GET", url.Replace("config.json", "other.json"))));
        Assert.Equal(FileLinkCheck.Invalid, links.Check(Request("GET", url.Replace("expires=", "expires=9"))));
        Assert.Equal(FileLinkCheck.Invalid, new FileLinks(clock).Check(Request("GET", url)));   // another serve process
        clock.Now += FileLinks.Lifetime - TimeSpan.FromSeconds(1);
        Assert.Equal(FileLinkCheck.Valid, links.Check(Request("GET", url)));
        clock.Now += TimeSpan.FromSeconds(1);
        Assert.Equal(FileLinkCheck.Expired, links.Check(Request("GET", url)));
    }

    private static HttpRequest Request(string method, string url)
    {
        var q = url.IndexOf('?');
        var ctx = new DefaultHttpContext();
        ctx.Request.Method = method;
        ctx.Request.Path = url[..q];
        ctx.Request.QueryString = new QueryString(url[q..]);
        return ctx.Request;
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
