using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>The status page at `/` in headless Chromium (Debian's `chromium` package): after a job has run, the
/// rendered DOM holds the job's table row, the four loss/accuracy chart series built from the event stream, and
/// each plot once; a screenshot renders. Returns without checking when /usr/bin/chromium is not installed.</summary>
public class ServiceStatusPageTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public void Status_page_shows_the_job_table_live_chart_and_plots_in_headless_chromium()
    {
        if (!File.Exists(Chromium)) return;   // .ci/run installs Debian's chromium when it can
        using var t = new TempDir();
        using var d = new ServiceDaemon(t["runs"]);
        var id = d.Submit(new Dictionary<string, string>(ServiceRuns.Small) { ["output.plots"] = "true" });
        var job = d.WaitFor(id, j => j["state"]!.GetValue<string>() is "succeeded" or "failed" or "cancelled", 300, "done");
        Assert.Equal("succeeded", job["state"]!.GetValue<string>());

        var dom = RunChromium(t, "--virtual-time-budget=8000", "--dump-dom", d.Url + "/");
        Assert.Matches($"<tr class=\"job selected\" data-id=\"{id}\" data-state=\"succeeded\">", dom);
        foreach (var series in new[] { "loss", "val_loss", "accuracy", "val_accuracy" })
        {
            var m = Regex.Match(dom, $"<polyline points=\"([^\"]+)\"[^>]*class=\"series series-{series}\"");
            Assert.True(m.Success, $"no {series} series in the chart\n{dom}");
            Assert.Equal(2, m.Groups[1].Value.Split(' ').Length);               // one point per epoch
        }
        foreach (var plot in new[] { "learning_curves.png", "misclassified.png", "predictions.png" })
            Assert.Single(Regex.Matches(dom, $"<img src=\"blob:[^\"]+\" alt=\"{Regex.Escape(plot)}\""));
        // a signed link (GET /jobs/{id}/file-links), which opens in the browser when serve.token-file is set as well
        Assert.Matches($"href=\"/jobs/{id}/files/summary.json\\?expires=[0-9]+&amp;sig=[A-Za-z0-9_-]+\"", dom);

        RunChromium(t, "--window-size=1000,1000", "--screenshot=" + t["page.png"], d.Url + "/");
        Assert.True(RunDir.IsPng(File.ReadAllBytes(t["page.png"])));
    }

    private static string RunChromium(TempDir t, params string[] args)
    {
        var psi = new ProcessStartInfo(Chromium) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = t.Path };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + t["chromium-profile"] }.Concat(args))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(90)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"chromium did not finish within 90 s: {string.Join(' ', args)}\n{stderr.Result}");
        }
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"chromium exit {p.ExitCode}\n{stderr.Result}");
        return stdout.Result;
    }
}
