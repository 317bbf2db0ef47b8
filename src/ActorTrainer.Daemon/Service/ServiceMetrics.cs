using System.Text;
using ActorTrainer.Interop;

namespace ActorTrainer.Daemon.Service;

/// <summary>
/// The service's Prometheus exposition (text format 0.0.4, the format and "actortrainer_" prefix of
/// <see cref="TrainingMetrics"/>): jobs per state, trainer processes running, and per running job its epoch,
/// step and latest loss / accuracy / val_loss / val_accuracy, labelled <c>job="&lt;id&gt;"</c>.
/// </summary>
public static class ServiceMetrics
{
    private static readonly string[] States = [JobStates.Queued, JobStates.Running, JobStates.Succeeded, JobStates.Failed, JobStates.Cancelled];
    private static readonly string[] JobMetrics = ["loss", "accuracy", "val_loss", "val_accuracy"];

    /// <summary>Renders the current metrics.</summary>
    public static string Render(JobStore store, JobProgressBook progress, int runningProcesses)
    {
        var sb = new StringBuilder(2048);
        var jobs = store.All();
        Header(sb, "jobs", "Jobs in the store by state.", "gauge");
        foreach (var s in States)
            Sample(sb, "jobs", $"state=\"{s}\"", jobs.Count(j => j.State == s));
        Header(sb, "trainer_processes", "Trainer child processes running.", "gauge");
        Sample(sb, "trainer_processes", null, runningProcesses);
        var running = jobs.Where(j => j.State == JobStates.Running).Select(j => (j, p: progress.For(j))).ToList();
        Header(sb, "job_epoch", "Epochs completed by a running job.", "gauge");
        foreach (var (j, p) in running) Sample(sb, "job_epoch", Label(j), p.Epoch);
        Header(sb, "job_step", "Global step of a running job's newest checkpoint.", "gauge");
        foreach (var (j, p) in running) Sample(sb, "job_step", Label(j), p.Step);
        foreach (var m in JobMetrics)
        {
            Header(sb, "job_" + m, $"Latest per-epoch {m} of a running job.", "gauge");
            foreach (var (j, p) in running)
                if (p.Metrics[m] is { } v) Sample(sb, "job_" + m, Label(j), v.GetValue<double>());
        }
        return sb.ToString();
    }

    private static string Label(JobRecord j) => $"job=\"{j.Id}\"";

    private static void Header(StringBuilder sb, string name, string help, string type) =>
        sb.Append("# HELP ").Append(TrainingMetrics.Prefix).Append(name).Append(' ').Append(help).Append('\n')
          .Append("# TYPE ").Append(TrainingMetrics.Prefix).Append(name).Append(' ').Append(type).Append('\n');

    private static void Sample(StringBuilder sb, string name, string? labels, double value)
    {
        sb.Append(TrainingMetrics.Prefix).Append(name);
        if (labels is not null) sb.Append('{').Append(labels).Append('}');
        sb.Append(' ').Append(TrainingMetrics.FormatValue(value)).Append('\n');
    }
}
