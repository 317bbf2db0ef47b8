namespace ActorTrainer.Kernels;

/// <summary>How the optimizer updates store large weight tensors (<see cref="KernelSettings.StreamingStores"/>).</summary>
public enum StreamingStoresMode
{
    /// <summary>Streaming stores when the kernels may run on more than one thread (the default).</summary>
    Auto,
    /// <summary>Streaming stores for every large update.</summary>
    On,
    /// <summary>Plain stores.</summary>
    Off,
}

public static partial class KernelSettings
{
    // 0: not read yet; else 1 + (int)StreamingStoresMode
    private static int _streaming;

    /// <summary>The environment variable read by <see cref="StreamingStores"/>.</summary>
    public const string StreamingStoresVariable = "ACTORTRAINER_STREAMING_STORES";

    /// <summary>The smallest update (elements) that <see cref="StreamWeights"/> streams: 64 Ki floats (256 KiB).</summary>
    public const int StreamingStoresMinLength = 65536;

    /// <summary>Whether the RMSprop, Adam and SGD (without momentum) updates write weight ranges of at least
    /// <see cref="StreamingStoresMinLength"/> elements with non-temporal (streaming) stores. The values are the same
    /// bits either way; what changes is where they land: a plain store first takes the cache line into this core for
    /// ownership — slow when the other cores read those weights in the step before (a 2-core VM: the update 4–5× slower
    /// than in cache) — while a streaming store writes to memory without fetching it. A single-threaded run reads its
    /// weights back from this core's cache, so there streaming costs (≈ 5 %). Auto (default): streaming when the
    /// calling thread's kernels may use more than one thread. The environment variable
    /// ACTORTRAINER_STREAMING_STORES = auto | on | off (or 1, true, 0, false) sets it; any other value throws
    /// <see cref="KernelSettingException"/> at the first read.</summary>
    public static StreamingStoresMode StreamingStores
    {
        get
        {
            int v = Volatile.Read(ref _streaming);
            if (v == 0) Volatile.Write(ref _streaming, v = 1 + (int)ParseStreamingStores(Environment.GetEnvironmentVariable(StreamingStoresVariable)));
            return (StreamingStoresMode)(v - 1);
        }
        set => Volatile.Write(ref _streaming, 1 + (int)(Enum.IsDefined(value) ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "StreamingStores must be Auto, On or Off")));
    }

    /// <summary>Whether an update of `length` weights made on the calling thread writes them with streaming stores:
    /// length ≥ <see cref="StreamingStoresMinLength"/>, and On, or Auto with <see cref="MaxDegreeOfParallelism"/> &gt; 1.</summary>
    public static bool StreamWeights(int length) =>
        length >= StreamingStoresMinLength && StreamingStores switch
        {
            StreamingStoresMode.On => true,
            StreamingStoresMode.Off => false,
            _ => MaxDegreeOfParallelism > 1,
        };

    /// <summary>The mode a value of ACTORTRAINER_STREAMING_STORES names: null, empty or auto → Auto; 1, true, on, yes → On;
    /// 0, false, off, no → Off (any case, surrounding blanks ignored); anything else throws KernelSettingException naming
    /// the variable and the value.</summary>
    public static StreamingStoresMode ParseStreamingStores(string? value)
    {
        var v = value?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(v) || v == "auto") return StreamingStoresMode.Auto;
        return SwitchSpelling(v) switch
        {
            true => StreamingStoresMode.On,
            false => StreamingStoresMode.Off,
            null => throw new KernelSettingException($"{StreamingStoresVariable} = '{value}': expected auto, on (1, true) or off (0, false)"),
        };
    }
}
