using System.Text.Json.Nodes;
using ActorTrainer.Daemon.Cli;
using ActorTrainer.Daemon.Output;

namespace ActorTrainer.Daemon.Service;

/// <summary>The <c>fetch</c> verb: copies a job's files (all, or the named ones) from the service into a local
/// directory, each written atomically.</summary>
public static partial class ClientCommands
{
    private static int Fetch(ServiceHttp http, string id, IReadOnlyList<string> names, string? output, CancellationToken ct)
    {
        var path = "jobs/" + Uri.EscapeDataString(id);
        var job = Send(http, HttpMethod.Get, path, null, ct)!;            // an unknown job or a missing token: exit 2
        var files = Send(http, HttpMethod.Get, path + "/files", null, ct)!.AsArray().Select(f => f!.GetValue<string>()).ToList();
        foreach (var name in names.Where(n => !files.Contains(n)))
            throw new UsageException($"fetch: job {id} has no file '{name}' (its files: {(files.Count == 0 ? "none yet" : string.Join(", ", files))})");
        var dir = Path.GetFullPath(output ?? id);
        if (File.Exists(dir)) throw new UsageException($"--output '{dir}' is a file, not a directory");
        var wanted = names.Count > 0 ? names : files;
        foreach (var name in wanted)
        {
            if (JobFiles.Resolve(dir, name).Error is { } bad)                 // a name from the server, written below dir
                throw new NotTheServiceException($"the service listed a file that cannot be written below --output: {bad}");
            Download(http, $"{path}/files/{name}", Path.Combine(dir, name), ct);
        }
        var state = job["state"]?.GetValue<string>();
        Console.Out.WriteLine($"fetched {wanted.Count} file(s) of job {id} ({state}) into {dir}");
        if (state is JobStates.Queued or JobStates.Running)
            Console.Error.WriteLine($"warning: job {id} is {state}: its files will change; fetch again once it has ended");
        return 0;
    }

    /// <summary>GETs one file into <paramref name="target"/> through a temporary file renamed into place, so that an
    /// interrupted download never leaves a truncated file under the real name.</summary>
    private static void Download(ServiceHttp http, string url, string target, CancellationToken ct)
    {
        using var timeout = http.Deadline(ct);
        using var res = http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token).GetAwaiter().GetResult();
        if (!res.IsSuccessStatusCode) throw Failure(res, res.Content.ReadAsStringAsync(ct).GetAwaiter().GetResult());
        using var body = res.Content.ReadAsStream(ct);
        try
        {
            RunFiles.WriteStream(target, body, ct);      // a signal ends the copy; the temporary file is deleted
        }
        catch (Exception e) when (e is (IOException and not HttpIOException) or UnauthorizedAccessException)
        {
            throw new IOException($"cannot write '{target}': {e.Message}", e);
        }
    }
}
