using System.Reflection;

namespace ActorTrainer.Daemon.Service;

/// <summary>The status page served at <c>/</c>: a job table, a live loss/accuracy chart fed by the selected job's
/// event stream, and its plots. Plain HTML, CSS and JavaScript (Service/status.html, embedded), no framework.</summary>
public static class StatusPage
{
    /// <summary>The page's HTML.</summary>
    public static string Html { get; } = Read();

    private static string Read()
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("ActorTrainer.Daemon.Service.status.html")
            ?? throw new InvalidOperationException("Service/status.html is not embedded in the daemon assembly");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }
}
