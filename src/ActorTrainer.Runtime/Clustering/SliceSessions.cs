using ActorTrainer.Runtime.DataPlane;
using Akka.Actor;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>The connections a `ps` node serves (<see cref="SliceProtocol"/>): a coordinator's control connection, which
/// opens a run's <see cref="SliceHost"/> and ends it when it closes, and worker nodes' connections, which attach to a
/// run by its token to push gradients and pull weights. The hosts of the runs under way are kept here, by token.</summary>
internal sealed class SliceSessions(Func<ActorSystem> system, Action<string> log) : IDisposable
{
    private readonly Dictionary<long, SliceHost> _hosts = new();

    private long _served;

    /// <summary>Weights answers sent to worker nodes' connections since start (all runs).</summary>
    public long WeightsServed => Interlocked.Read(ref _served);

    /// <summary>The slices of run `token` hosted here, or null.</summary>
    public SliceHost? Find(long token)
    {
        lock (_hosts) return _hosts.GetValueOrDefault(token);
    }

    /// <summary>Runs whose slices this node hosts now.</summary>
    public int Count { get { lock (_hosts) return _hosts.Count; } }

    /// <summary>Serves a connection whose first frame is `first` (SliceJob or Attach) until it closes or breaks the protocol.</summary>
    public void Serve(TensorConnection c, FrameHeader first)
    {
        if (first.Kind == SliceProtocol.SliceJob) ServeControl(c, first);
        else ServeWorker(c, first);
    }

    private void ServeControl(TensorConnection c, FrameHeader job)
    {
        var host = SliceHost.Open(system(), c, job);
        lock (_hosts)
        {
            if (!_hosts.TryAdd(host.Token, host))
            {
                host.Close("a run with the same token is under way");
                throw new InvalidDataException($"slice job: token {host.Token:x} is in use by another run on this node");
            }
        }
        log($"parameter server: coordinator {c.RemoteEndPoint}: slices {host.Spec.First}..{host.Spec.Last} of {host.Layout.Count} ({host.Optimizer.Name})");
        string why = "the coordinator closed the run";
        try
        {
            c.Send(SliceProtocol.SliceReady, 0, 0, 0, 0);
            while (true) Control(c, host, c.ReceiveHeader());
        }
        catch (Exception e)
        {
            why = e is EndOfStreamException ? why : e.Message;
            throw;
        }
        finally
        {
            lock (_hosts) _hosts.Remove(host.Token);
            host.Close(why);
            log($"parameter server: coordinator {c.RemoteEndPoint}: run ended ({why})");
        }
    }

    private static void Control(TensorConnection c, SliceHost host, FrameHeader h)
    {
        switch (h.Kind)
        {
            case SliceProtocol.Vote when h.SectionCount == 0:
                host.RemoteVote(h.A, h.B, h.C);
                break;
            case SliceProtocol.SetRate when h.SectionCount == 0:
                double rate = BitConverter.Int64BitsToDouble(h.A);
                if (!(rate > 0) || double.IsInfinity(rate)) throw new InvalidDataException($"set rate: {rate} is not a finite number > 0");
                host.Optimizer.LearningRate = rate;     // between steps: no slice is updating (the executor's contract)
                c.Send(SliceProtocol.RateSet, 0, 0, 0, 0);
                break;
            case SliceProtocol.Load:
                host.Load(h);
                break;
            case SliceProtocol.StateRequest when h.SectionCount == 0:
                host.RequestState();
                break;
            case SliceProtocol.WeightsRequest when h.SectionCount == 0:
                host.SendWeights(v => host.TrySend(c, v), h.A);
                break;
            default:
                throw new InvalidDataException($"data plane: frame from {c.RemoteEndPoint}: kind {h.Kind} with {h.SectionCount} sections is not a control frame of a slice job");
        }
    }

    private void ServeWorker(TensorConnection c, FrameHeader attach)
    {
        if (attach.SectionCount != 0 || attach.B is not (0 or 1)) throw new InvalidDataException($"attach: expected no sections and B = 0 or 1 (block-sparse codes), got {attach.SectionCount} sections and B = {attach.B}");
        SliceHost? host;
        lock (_hosts) _hosts.TryGetValue(attach.A, out host);
        if (host is null) throw new InvalidDataException($"attach: no run with token {attach.A:x} on this parameter-server node (its coordinator has not opened it, or it ended)");
        // a coded link: gradients in, weights out as the XOR with what this connection delivered (two threads, two codes)
        var (up, down) = attach.B == 1 ? (host.Codes(), host.Codes()) : (null, null);
        c.Send(SliceProtocol.Attached, 0, 0, 0, 0);
        // the weights go out on a thread of this connection's own: a worker that asked ahead reads them only when its
        // next work arrives, and meanwhile neither this reader (the node's pushes) nor the slices may wait for it
        var versions = new System.Collections.Concurrent.BlockingCollection<long>();
        var sender = new Thread(() =>
        {
            try
            {
                foreach (long v in versions.GetConsumingEnumerable())
                {
                    host.TrySend(c, v, down);
                    Interlocked.Increment(ref _served);
                }
            }
            catch (Exception e) { log($"parameter server: weights to {c.RemoteEndPoint} not sent: {e.Message}"); }   // the session ends by its reader
        }) { IsBackground = true, Name = "ps-weights-sender" };
        sender.Start();
        try
        {
            while (true)
            {
                var h = c.ReceiveHeader();
                if (h.Kind == SliceProtocol.Push) host.Push(c, h, up);
                else if (h.Kind == SliceProtocol.WeightsRequest && h.SectionCount == 0) host.SendWeights(v => Offer(versions, v), h.A);
                else throw new InvalidDataException($"data plane: frame from {c.RemoteEndPoint}: kind {h.Kind} is neither Push nor WeightsRequest");
            }
        }
        finally { versions.CompleteAdding(); }
    }

    private static void Offer(System.Collections.Concurrent.BlockingCollection<long> versions, long v)
    {
        try { versions.Add(v); }
        catch (InvalidOperationException) { }   // the session has ended
    }

    /// <summary>Ends every run hosted here.</summary>
    public void Dispose()
    {
        lock (_hosts)
        {
            foreach (var h in _hosts.Values) h.Close("the node is stopping");
            _hosts.Clear();
        }
    }
}
