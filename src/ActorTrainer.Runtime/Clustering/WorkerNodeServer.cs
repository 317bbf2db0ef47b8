using System.Net;
using ActorTrainer.Core;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>A worker node's data-plane endpoint: accepts one connection per remote gradient worker of a coordinator
/// and serves it on its own thread (<see cref="NodeProtocol"/>: Job, then Work → Result). Workers × ThreadsPerWorker
/// is what the node offers (a coordinator opens Workers connections). Bad frames end that connection with an Error
/// frame and a log line (one per coordinator host and reason per <see cref="RefusalLogInterval"/>, <see cref="RefusalLog"/>;
/// so do connections refused at the handshake, such as a peer's failed TLS handshake);
/// the node keeps serving the others.</summary>
public sealed class WorkerNodeServer : IDisposable
{
    private readonly TensorListener _listener;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _acceptor;
    private readonly List<TensorConnection> _open = new();
    private readonly ShardComputeFactory? _compute;
    private readonly string? _syncRefusal;
    private readonly NodeWeightsGroups _groups;
    private readonly RefusalLog _refusals;
    private readonly DataPlaneOptions _options;

    /// <summary>How long a refusal of the same reason to the same coordinator host is not logged again (counted instead):
    /// its N connections (one per gradient worker of this node) bring the same job at once.</summary>
    public static readonly TimeSpan RefusalLogInterval = TimeSpan.FromSeconds(30);

    /// <summary>Listens on address:port (0 = any free port) with the data plane's options (TLS, limits, timeouts).
    /// `compute`: how the node computes shards (null: the CPU engine; a GPU's factory), `syncRefusal`: when set, the
    /// message a sync job is refused with (a GPU node's bits are not a CPU worker's).</summary>
    public WorkerNodeServer(IPAddress address, int port, DataPlaneOptions options, int workers, int threadsPerWorker, Action<string> log,
        ShardComputeFactory? compute = null, string? syncRefusal = null, bool hostsSlices = false)
    {
        _compute = compute;
        _syncRefusal = syncRefusal;
        _options = options;
        // a session waits for weights a sibling connection brings at most as long as a read may take
        _groups = new NodeWeightsGroups(options.EffectiveHandshakeTimeout);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, hostsSlices ? 0 : 1);
        HostsSlices = hostsSlices;
        _slices = hostsSlices ? new SliceSessions(SlicesSystem, log) : null;
        ArgumentOutOfRangeException.ThrowIfNegative(threadsPerWorker);
        Workers = workers; ThreadsPerWorker = threadsPerWorker; _log = log;
        _refusals = new RefusalLog(log, RefusalLogInterval);
        _listener = TensorListener.Start(address, port, options);
        // a peer refused at the handshake (no trusted certificate, another protocol) retries: once per host and reason too
        var rejections = new RefusalLog(log, RefusalLogInterval,
            line: (peer, reason) => $"data plane: refused a connection: data plane listener {_listener!.Endpoint}: refused {peer}: {reason}");
        _listener.OnRejectedPeer = rejections.Refused;
        _acceptor = new Thread(AcceptLoop) { IsBackground = true, Name = "data-plane-accept" };
        _acceptor.Start();
    }

    /// <summary>The bound endpoint.</summary>
    public IPEndPoint Endpoint => _listener.Endpoint;

    /// <summary>The Unix domain socket peers on this host connect through, or null (DataPlaneOptions.UnixSockets).</summary>
    public string? UnixSocketPath => _listener.UnixSocketPath;

    /// <summary>True for a `ps` node: it hosts coordinators' parameter-server slices (<see cref="SliceSessions"/>).</summary>
    public bool HostsSlices { get; }

    /// <summary>Runs whose parameter-server slices this node hosts now.</summary>
    public int SliceRuns => _slices?.Count ?? 0;

    /// <summary>A `ps` node: weights answers it sent to worker nodes since start (in a sync run about one per step per
    /// worker node, however many gradient workers the node serves: <see cref="NodeSlicePuller"/>).</summary>
    public long WeightsServed => _slices?.WeightsServed ?? 0;

    /// <summary>Shards computed since start whose tensors came and went through memory shared with the coordinator
    /// (<see cref="NodeSharedWork"/>; DataPlaneOptions.SharedMemory).</summary>
    public long SharedMemoryShards => Interlocked.Read(ref _sharedShards);

    private long _sharedShards;
    private readonly SliceSessions? _slices;
    private Akka.Actor.ActorSystem? _slicesSystem;
    private readonly object _systemGate = new();

    /// <summary>The local actor system the hosted slices run in (made with the first run; it outlives the node's
    /// cluster memberships, which the `ps` command restarts).</summary>
    private Akka.Actor.ActorSystem SlicesSystem()
    {
        lock (_systemGate) return _slicesSystem ??= ActorTrainingRunner.CreateSystem("actor-trainer-ps");
    }

    /// <summary>Gradient workers this node offers.</summary>
    public int Workers { get; }

    /// <summary>GEMM threads per worker (0 = the process default).</summary>
    public int ThreadsPerWorker { get; }

    /// <summary>Shards computed since start (all connections).</summary>
    public long ShardsComputed => Interlocked.Read(ref _shards);
    private long _shards;

    /// <summary>Work frames that brought weights since start (all connections): in a sync run, once per step per node
    /// however many gradient workers the node serves (<see cref="NodeWeightsShare"/>).</summary>
    public long WeightsReceived => Interlocked.Read(ref _weights);
    private long _weights;

    /// <summary>Weight copies shared by sessions now (one per coordinator run that shares).</summary>
    public int SharedCopies => _groups.Count;

    private void AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TensorConnection c;
            try { c = _listener.Accept(_stop.Token); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                _log("data plane: accept failed: " + e.Message);
                continue;
            }
            lock (_open) _open.Add(c);
            new Thread(() => Serve(c)) { IsBackground = true, Name = "data-plane-worker" }.Start();
        }
    }

    private void Serve(TensorConnection c)
    {
        long mine = 0;
        NodeSession session = null!;
        void Counted()
        {
            Interlocked.Increment(ref _shards);
            if (session.SharedMemory) Interlocked.Increment(ref _sharedShards);
            if (++mine == 1) _log($"data plane: coordinator {c.RemoteEndPoint}: first shard computed{(session.SharedMemory ? " (tensors through shared memory)"
                : session.SharedMemoryRefusal is { } why ? $" (shared memory offered but not used: {why})" : "")}");
        }
        session = new NodeSession(c, ThreadsPerWorker, Counted, _compute, _syncRefusal, _groups, () => Interlocked.Increment(ref _weights), _options,
            _slices is null ? null : new LocalSlices(_slices, Endpoint.Port));
        FrameHeader? first = null;
        try
        {
            first = c.ReceiveHeader();
            Dispatch(c, session, first);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // a slice session's end is logged by SliceSessions (the run's end), a worker node's attachment not at all
            if (!_stop.IsCancellationRequested && (first is null || !SliceProtocol.Opens(first.Kind)))
            {
                var (wait, read, comp, send) = session.Seconds;
                _log($"data plane: coordinator {c.RemoteEndPoint} disconnected after {mine} shards (seconds waiting for work {wait:F2}, " +
                     $"reading {read:F2}, computing {comp:F2}, sending {send:F2}){(e is EndOfStreamException ? "" : ": " + e.Message)}");
            }
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or ResourceLimitException or ShardComputeBusyException
                                      or ActorTrainer.Core.ModelFileException)
        {
            _refusals.Refused(c.RemoteEndPoint, e.Message);   // once for the N connections of one coordinator's job
            // read the rest of the refused frame first (its size is within max-frame-bytes), so that the peer is not
            // cut off while still writing it and gets the Error frame
            try { c.SkipSections(); }
            catch (Exception skip) when (skip is IOException or InvalidOperationException or ObjectDisposedException) { }
            NodeProtocol.TrySendError(c, e.Message, busy: e is ShardComputeBusyException);
        }
        finally
        {
            lock (_open) _open.Remove(c);
            c.Dispose();
        }
    }

    /// <summary>The connection's first frame says what it is: a coordinator's job for this node's gradient workers, or
    /// (a `ps` node) a coordinator's slice job or a worker node's attachment to one.</summary>
    private void Dispatch(TensorConnection c, NodeSession session, FrameHeader first)
    {
        if (SliceProtocol.Opens(first.Kind))
        {
            if (_slices is null) throw new InvalidDataException("this node hosts no parameter-server slices (start a `ps` node for cluster.ps-nodes)");
            _slices.Serve(c, first);
        }
        else if (Workers == 0) throw new InvalidDataException("this node is a parameter-server (`ps`) node: it offers no gradient workers");
        else session.Run(first);
    }

    /// <summary>Stops accepting and closes every connection.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        lock (_open) foreach (var c in _open) c.Dispose();
        _acceptor.Join(TimeSpan.FromSeconds(5));
        _slices?.Dispose();
        lock (_systemGate) _slicesSystem?.Terminate().Wait(TimeSpan.FromSeconds(10));
    }
}
