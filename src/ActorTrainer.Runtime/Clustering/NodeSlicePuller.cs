using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>A worker node's one set of weight pulls from the `ps` nodes of a sync run (<see cref="SliceLinks"/>), shared
/// by the sessions of one <see cref="NodeWeightsGroup"/>: the first session that computes at a new weights key pulls
/// them into the group's copy, its siblings find them there, so a step's weights reach the node once, not once per
/// gradient worker (each session still pushes its own shards on its own links). One caller at a time; in a sync run a
/// key's weights arrive only after every shard of the step before was pushed, so no sibling computes while they are
/// overwritten (a late duplicate of an applied step may: its gradient is dropped as late). A pull or ask that fails
/// drops the connections: what the copy holds and what is on its way are unknown, so the next pull starts afresh.</summary>
internal sealed class NodeSlicePuller(SliceDirectory directory, int[] sizes, DataPlaneOptions options, LocalSlices? local = null) : IDisposable
{
    private readonly object _gate = new();
    private SliceLinks? _links;
    private bool _disposed;

    /// <summary>The ps directory the pulls go to (the first session's; every session of the group has the same).</summary>
    public SliceDirectory Directory => directory;

    /// <summary>The weights at version `key` into `weights` (see <see cref="SliceLinks.Pull"/>); nothing is read when
    /// they are there already.</summary>
    public void Pull(long key, float[][] weights) => Use(l => l.Pull(key, weights));

    /// <summary>After a session pushed work at version `key`: asks for key + 1 unless asked already.</summary>
    public void AskAhead(long key) => Use(l => l.AskAhead(key));

    private void Use(Action<SliceLinks> action)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_links is null)
            {
                var links = new SliceLinks(directory, sizes, options, local);
                try { links.Open(); }
                catch
                {
                    links.Dispose();
                    throw;
                }
                _links = links;
            }
            try { action(_links); }
            catch
            {
                _links.Dispose();
                _links = null;
                throw;
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _links?.Dispose();
            _links = null;
        }
    }
}
