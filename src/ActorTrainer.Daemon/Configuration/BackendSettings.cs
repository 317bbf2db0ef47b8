using ActorTrainer.Cuda;

namespace ActorTrainer.Daemon.Configuration;

/// <summary>Where the math runs: <c>trainer.backend</c> (cpu | cuda) and the GPU backend's <c>trainer.cuda.*</c> keys.
/// Read by <c>train</c> (through <see cref="TrainSettings"/>) and by <c>evaluate</c> / <c>predict</c>, which accept
/// only these keys with <c>--set</c> (<see cref="FromSets"/>).</summary>
/// <param name="Backend">trainer.backend: "cpu" or "cuda".</param>
/// <param name="Cuda">trainer.cuda.accelerator, trainer.cuda.device and trainer.cuda.tf32 (used when Backend is cuda).</param>
public sealed record BackendSettings(string Backend, CudaOptions Cuda)
{
    /// <summary>The keys of this record, the only ones <c>evaluate</c> and <c>predict</c> take with <c>--set</c>.</summary>
    public static readonly string[] Keys = ["trainer.backend", "trainer.cuda.accelerator", "trainer.cuda.device", "trainer.cuda.tf32"];

    /// <summary>True when trainer.backend = cuda.</summary>
    public bool IsCuda => Backend == "cuda";

    /// <summary>Reads and range-checks the keys; throws <see cref="ConfigException"/> naming the first bad key.</summary>
    public static BackendSettings Read(ConfigReader r)
    {
        var backend = r.OneOf("trainer.backend", "cpu", "cuda");
        var accelerator = CudaOptions.ParseAccelerator(r.OneOf("trainer.cuda.accelerator", "cuda", "cpu"));
        var device = r.Int("trainer.cuda.device", 0);
        var tf32 = r.Bool("trainer.cuda.tf32");
        return new BackendSettings(backend, new CudaOptions(accelerator, device, tf32));
    }

    /// <summary>The GPU backend trains on the in-process runtime only, for now: the actor runtime and the cluster have
    /// no GPU worker yet. Throws <see cref="ConfigException"/> naming both keys (lift this check when they do);
    /// returns these settings.</summary>
    public BackendSettings CheckRuntime(string runtime, bool clusterEnabled)
    {
        if (!IsCuda) return this;
        if (clusterEnabled)
            throw new ConfigException("config: trainer.backend = cuda cannot be combined with cluster.enabled = on yet (no GPU worker for the " +
                                      "cluster); turn cluster.enabled off and use trainer.runtime = in-process, or trainer.backend = cpu");
        if (runtime == "actors")
            throw new ConfigException("config: trainer.backend = cuda runs on trainer.runtime = in-process only for now (the actor runtime has no " +
                                      "GPU worker yet); set trainer.runtime = in-process (got trainer.runtime = actors)");
        return this;
    }

    /// <summary>The backend of <c>evaluate</c> / <c>predict</c> from their <c>--set key=value</c> options (layered on
    /// reference.conf). A key train reads but these commands do not is refused naming it and the keys they take.</summary>
    public static BackendSettings FromSets(string command, IReadOnlyList<string> sets)
    {
        var config = ConfigLoader.LoadText(null, "", sets);       // unknown keys and bad syntax: its errors
        foreach (var set in sets)
        {
            var key = set[..set.IndexOf('=')].Trim();
            if (Array.IndexOf(Keys, key) < 0)
                throw new ConfigException($"{command}: --set {set}: {command} does not read '{key}' (it takes only {string.Join(", ", Keys)})");
        }
        return Read(new ConfigReader(config));
    }
}
