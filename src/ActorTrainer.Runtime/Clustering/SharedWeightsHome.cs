using ActorTrainer.Runtime.SharedMemory;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>A sync run's weight home in memory shared with the worker nodes on this host: one file per run (a
/// <see cref="SharedTensorRegion"/>) mapped over the home's large arrays, so the weights the parameter-server slices
/// update in place are the bytes every same-host node reads (read-only) — no copy per step and connection. The home's
/// small arrays and the partial pages at its arrays' ends are copied into the file once per weights key; weights that are
/// not the home's arrays go through copy slots, also once per key. The file is made on the first connection's demand
/// (<see cref="Region"/>, named /dev/shm/actortrainer-PID-HEX-weights). Dispose gives the home arrays their own pages back
/// with the same contents and removes the file: the coordinator's PostStop (after its workers have stopped), and in any
/// case the executor's Dispose before it hands the weights back, also when the actors' stop timed out.</summary>
internal sealed class SharedWeightsHome(float[][] home) : IDisposable
{
    /// <summary>The last part of the file's name.</summary>
    internal const string FileRole = "weights";

    private readonly object _gate = new();
    private SharedTensorRegion? _region;
    private long[] _homeAt = [], _copyAt = [];
    private long _key = long.MinValue;
    private bool _keyIsHome, _tried, _disposed;
    private string? _why;

    /// <summary>The run's file, made on the first call; null where this host has none or it was disposed (`why`).</summary>
    internal SharedTensorRegion? Region(out string? why)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                why = "the run is over";
                return null;
            }
            if (!_tried)
            {
                _tried = true;
                Create();
            }
            why = _why;
            return _region;
        }
    }

    private void Create()
    {
        long page = SharedMemoryNative.Page, bytes = home.Sum(a => 2 * (4L * a.Length + 2 * page));
        var region = SharedTensorRegion.TryCreate(bytes, out _why, FileRole);
        if (region is null) return;
        try
        {
            _homeAt = home.Select(region.Place).ToArray();
            _copyAt = home.Select(a => region.Reserve(4L * a.Length)).ToArray();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            region.Dispose();
            _why = e.Message;
            return;
        }
        if (Array.IndexOf(_homeAt, -1L) >= 0)
        {
            region.Dispose();
            _why = $"shared memory {region.Path}: no room for the weights";
            return;
        }
        _region = region;
    }

    /// <summary>Writes into `into` the file offsets of `weights` (weights key `key`) for a Work frame: the home's own
    /// places when `weights` are the home's arrays (their copied parts refreshed once per key), else copy slots (filled
    /// once per key). ObjectDisposedException once the run is over.</summary>
    internal void Offsets(float[][] weights, long key, Span<long> into)
    {
        lock (_gate)
        {
            var region = _region;
            ObjectDisposedException.ThrowIf(_disposed || region is null, this);
            bool isHome = weights.Length == home.Length;
            for (int i = 0; i < home.Length && isHome; i++) isHome = ReferenceEquals(weights[i], home[i]);
            if (key != _key || isHome != _keyIsHome)
            {
                _key = long.MinValue;   // a copy that throws leaves no key behind
                for (int i = 0; i < home.Length; i++)
                {
                    if (isHome) region!.Publish(home[i]);
                    else weights[i].AsSpan(0, home[i].Length).CopyTo(region!.At<float>(_copyAt[i], home[i].Length));
                }
                _key = key;
                _keyIsHome = isHome;
            }
            for (int i = 0; i < home.Length; i++) into[i] = isHome ? _homeAt[i] : _copyAt[i];
        }
    }

    /// <summary>Gives the home arrays their own pages back (same contents), unpins them and removes the file; later
    /// calls do nothing.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _region?.Dispose();
            _region = null;
        }
    }
}
