using ActorTrainer.Core;
using ActorTrainer.Runtime.DataPlane;
using Akka.Actor;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>The coordinator's end of one `ps` node (<see cref="SliceProtocol"/>): it opens the run's slices First..Last
/// there (the weights and optimizer slots of their ranges go with the SliceJob) and then stands in for them: the
/// parameter server counts it once per hosted slice (SliceApplied comes from the node; Load and state requests are
/// answered once the node has answered), and it is the other nodes' peer in the all-or-none vote — each vote of a
/// hosted slice goes to the other links, which pass it to their nodes. Remote workers send it no shard results: their
/// nodes push the gradients to the ps nodes directly. A failure of the connection is reported to the parent
/// (<see cref="SliceHostLost"/>); the run cannot go on without the slices' optimizer state.</summary>
internal sealed class SliceHostLink : ReceiveActor
{
    private readonly WorkerNodeInfo _node;
    private readonly long _token;
    private readonly SliceJobSpec _spec;
    private readonly ParameterSlices _layout;
    private readonly float[][] _weights;
    private readonly IActorRef _server;
    private readonly Optimizer _optimizer;
    private readonly (long FirstStep, long Iterations, long Version) _start;
    private readonly DataPlaneOptions _options;
    private TensorConnection? _conn;
    private IActorRef[] _peers = [];
    private readonly List<IActorRef> _loads = new(), _states = new();   // askers not yet answered, in request order
    private SliceState[]? _stateAnswer;      // the node's states of the snapshot under way (one per hosted slice)
    private int _statesGiven;                // of them, handed out: the k-th request of a snapshot is for slice First + k
    private bool _stateAsked;
    private readonly Queue<IActorRef> _waiting = new();      // askers of RefreshWeights and SetRate, in request order
    private volatile bool _stopping;

    /// <summary>Reader thread → link: the node answered a request (Kind: the answer's frame kind; States: State's).</summary>
    public sealed record Answer(byte Kind, SliceState[]? States = null);

    /// <summary>Parent → link: the node's ranges of the weights into the coordinator's home (between steps); answered
    /// with Answer(Weights).</summary>
    public sealed record RefreshWeights;

    /// <summary>Parent → link: the learning rate for the steps from now on; answered with Answer(RateSet).</summary>
    public sealed record SetRate(double Rate);

    public SliceHostLink(WorkerNodeInfo node, long token, SliceJobSpec spec, ParameterSlices layout, float[][] weights,
        Optimizer optimizer, (long FirstStep, long Iterations, long Version) start, DataPlaneOptions options, IActorRef server)
    {
        _node = node; _token = token; _spec = spec; _layout = layout; _weights = weights; _optimizer = optimizer; _start = start;
        _options = options; _server = server;
        Receive<RegisterPeers>(m => _peers = m.Slices.Distinct().Where(p => !p.Equals(Self)).ToArray());
        Receive<SliceChecked>(m => Send(SliceProtocol.Vote, m.Step, m.Slice, m.Finite ? 1 : 0));
        Receive<NodeVote>(m => { var v = new SliceChecked(m.Step, m.Slice, m.Finite); foreach (var p in _peers) p.Tell(v); });
        Receive<LoadSlice>(OnLoad);
        Receive<SliceStateRequest>(_ =>
        {
            _states.Add(Sender);
            if (_stateAnswer is not null) GiveStates();
            else if (!_stateAsked)
            {
                _stateAsked = true;
                Send(SliceProtocol.StateRequest, 0, 0, 0);
            }
        });
        Receive<RefreshWeights>(_ => { _waiting.Enqueue(Sender); Send(SliceProtocol.WeightsRequest, long.MinValue, 0, 0); });
        Receive<SetRate>(m => { _waiting.Enqueue(Sender); Send(SliceProtocol.SetRate, SliceProtocol.Bits(m.Rate), 0, 0); });
        Receive<Answer>(OnAnswer);
    }

    private sealed record NodeVote(long Step, int Slice, bool Finite);

    private string Where => $"parameter-server node {_node.Host}:{_node.Port} (slices {_spec.First}..{_spec.Last})";

    /// <inheritdoc/>
    protected override void PreStart()
    {
        try
        {
            _conn = TensorConnection.Connect(_node.Host, _node.Port, _options with { IoTimeout = null });
            var sections = new List<Section> { _spec.Encode() };
            SliceProtocol.AddRanges(sections, _layout, _spec.First, _spec.Last, _weights);
            for (int k = 0; k < _optimizer.SlotNames.Length; k++)
                SliceProtocol.AddRanges(sections, _layout, _spec.First, _spec.Last, _weights.Select((w, t) => _optimizer.SlotsFor(t, w.Length)[k]).ToArray());
            _conn.Send(SliceProtocol.SliceJob, _token, _start.FirstStep, _start.Iterations, _start.Version, sections.ToArray());
            var h = _conn.ReceiveHeader();
            if (h.Kind == NodeProtocol.Error) throw new InvalidDataException($"it refused the slices: {NodeProtocol.ReadError(_conn, h)}");
            if (h.Kind != SliceProtocol.SliceReady || h.SectionCount != 0) throw new InvalidDataException($"expected SliceReady, got frame kind {h.Kind}");
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or DataPlaneException or InvalidDataException)
        {
            Context.Parent.Tell(new SliceHostLost(_node.Key, $"{Where}: {e.Message}"));
            return;
        }
        var (self, parent) = (Self, Context.Parent);
        new Thread(() => Read(self, parent)) { IsBackground = true, Name = "ps-link-" + _spec.First }.Start();
        Context.Parent.Tell(new SliceHostReady(_node.Key));
    }

    /// <inheritdoc/>
    protected override void PostStop()
    {
        _stopping = true;
        _conn?.Dispose();
    }

    private void OnLoad(LoadSlice m)
    {
        _loads.Add(Sender);
        if (_loads.Count > 1) return;    // the server asks once per hosted slice: one Load frame for all
        var sections = new List<Section>();
        SliceProtocol.AddRanges(sections, _layout, _spec.First, _spec.Last, m.Weights);
        Send(SliceProtocol.Load, m.Version, 0, 0, sections.ToArray());
    }

    private void OnAnswer(Answer m)
    {
        switch (m.Kind)
        {
            case SliceProtocol.Loaded:
                foreach (var asker in _loads) asker.Tell(new SliceLoaded(_spec.First));
                _loads.Clear();
                break;
            case SliceProtocol.State:
                _stateAnswer = m.States!;
                GiveStates();
                break;
            default:
                _waiting.Dequeue().Tell(m);
                break;
        }
    }

    /// <summary>The server asks once per hosted slice, in slice order, and one request to the node answers them all:
    /// each asker so far gets the next slice's state; the snapshot ends once every hosted slice's state is handed out
    /// (requests that come after the node's answer get theirs from it, not from a new request).</summary>
    private void GiveStates()
    {
        var answer = _stateAnswer!;
        int given = Math.Min(_states.Count, answer.Length - _statesGiven);
        for (int i = 0; i < given; i++) _states[i].Tell(answer[_statesGiven++]);
        _states.RemoveRange(0, given);
        if (_statesGiven < answer.Length) return;
        (_stateAnswer, _statesGiven, _stateAsked) = (null, 0, false);
        if (_states.Count == 0) return;
        _stateAsked = true;                                   // the next snapshot's first asker is here already
        Send(SliceProtocol.StateRequest, 0, 0, 0);
    }

    private void Send(byte kind, long a, long b, long c, params Section[] sections)
    {
        try { _conn!.Send(kind, a, b, c, 0, sections); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException or DataPlaneException)
        {
            Context.Parent.Tell(new SliceHostLost(_node.Key, $"{Where}: {e.Message}"));
        }
    }

    /// <summary>The node's frames, on a thread of their own: votes and answers to this actor, SliceApplied to the server.</summary>
    private void Read(IActorRef self, IActorRef parent)
    {
        var conn = _conn!;
        try
        {
            while (true)
            {
                var h = conn.ReceiveHeader();
                switch (h.Kind)
                {
                    case SliceProtocol.Vote when h.SectionCount == 0 && h.B >= _spec.First && h.B <= _spec.Last:
                        self.Tell(new NodeVote(h.A, (int)h.B, h.C == 1));
                        break;
                    case SliceProtocol.Applied:
                        var (count, epoch, stepInEpoch, busy, what) = SliceProtocol.ReadApplied(conn, h);
                        int slice = (int)h.B;
                        if (slice < _spec.First || slice > _spec.Last) throw new InvalidDataException($"applied frame for slice {slice}");
                        _server.Tell(new SliceApplied(h.A, epoch, stepInEpoch, slice, (h.B >> 32) == 1, what,
                            BitConverter.Int64BitsToDouble(h.C), BitConverter.Int64BitsToDouble(h.D), count, busy));
                        break;
                    case SliceProtocol.Weights:
                        if (SliceProtocol.CheckRanges(h, 0, _layout, _spec.First, _spec.Last, "weights") is { } bad) throw new InvalidDataException(bad);
                        SliceProtocol.ReceiveRanges(conn, _layout, _spec.First, _spec.Last, _weights);
                        self.Tell(new Answer(h.Kind));
                        break;
                    case SliceProtocol.State:
                        self.Tell(new Answer(h.Kind, ReadState(conn, h)));
                        break;
                    case SliceProtocol.Loaded or SliceProtocol.RateSet when h.SectionCount == 0:
                        self.Tell(new Answer(h.Kind));
                        break;
                    case NodeProtocol.Error:
                        throw new InvalidDataException(NodeProtocol.ReadError(conn, h));
                    default:
                        throw new InvalidDataException($"unexpected frame kind {h.Kind} with {h.SectionCount} sections");
                }
            }
        }
        catch (Exception e) when (!_stopping)
        {
            parent.Tell(new SliceHostLost(_node.Key, $"{Where}: {(e is EndOfStreamException ? "it closed the connection" : e.Message)}"));
        }
        catch (Exception) { }
    }

    /// <summary>A State frame: per hosted slice, per slot name, its flat values.</summary>
    private SliceState[] ReadState(TensorConnection conn, FrameHeader h)
    {
        int names = _optimizer.SlotNames.Length, hosted = _spec.Last - _spec.First + 1;
        if (h.SectionCount != hosted * names) throw new InvalidDataException($"state frame has {h.SectionCount} sections, expected {hosted * names}");
        var states = new SliceState[hosted];
        for (int s = 0; s < hosted; s++)
        {
            var slots = new float[names][];
            for (int k = 0; k < names; k++)
            {
                int i = s * names + k;
                if (h.Types[i] != SectionType.Float32 || h.Lengths[i] != _layout.Length(_spec.First + s))
                    throw new InvalidDataException($"state section {i} has {h.Lengths[i]} elements, expected {_layout.Length(_spec.First + s)}");
                conn.ReceiveSection((slots[k] = new float[h.Lengths[i]]).AsSpan());
            }
            states[s] = new SliceState(_spec.First + s, slots);
        }
        return states;
    }
}

/// <summary>Link → coordinator: the node holds the run's slices and answers.</summary>
internal sealed record SliceHostReady(string Node) : INoSerializationVerificationNeeded;

/// <summary>Link → coordinator: the node's connection failed or the node refused the slices (Reason says which).</summary>
internal sealed record SliceHostLost(string Node, string Reason) : INoSerializationVerificationNeeded;
