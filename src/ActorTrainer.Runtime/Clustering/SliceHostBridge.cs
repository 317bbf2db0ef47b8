using ActorTrainer.Runtime.DataPlane;
using Akka.Actor;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>On a `ps` node, the hosted slices' parameter server and their peer for every slice on another node
/// (<see cref="SliceHost"/>): a hosted slice's vote goes to the coordinator once (the slice tells it once per remote
/// peer), each SliceApplied goes to the coordinator as an Applied frame, and once every hosted slice is done with a
/// step the host's version and buffers move on. Loaded and State answers are gathered over the hosted slices. A
/// frame that cannot be sent ends the run on this node (the coordinator has gone).</summary>
internal sealed class SliceHostBridge : ReceiveActor
{
    /// <summary>A Load is under way: Slices answers to wait for, then the version.</summary>
    public sealed record Loading(int Slices, long Version);

    /// <summary>A StateRequest is under way: Slices answers to wait for.</summary>
    public sealed record Collecting(int Slices);

    private readonly SliceHost _host;
    private readonly HashSet<(long Step, int Slice)> _sent = new();
    private readonly Dictionary<long, (int Done, bool Applied)> _steps = new();
    private (int Left, long Version)? _loading;
    private SliceState?[]? _states;

    public SliceHostBridge(SliceHost host)
    {
        _host = host;
        Receive<SliceChecked>(OnVote);
        Receive<SliceApplied>(OnApplied);
        Receive<Loading>(m => _loading = (m.Slices, m.Version));
        Receive<SliceLoaded>(_ => OnLoaded());
        Receive<Collecting>(m => _states = new SliceState?[m.Slices]);
        Receive<SliceState>(OnState);
    }

    private void OnVote(SliceChecked m)
    {
        if (!_sent.Add((m.Step, m.Slice))) return;
        Send(() => _host.Control.Send(SliceProtocol.Vote, m.Step, m.Slice, m.Finite ? 1 : 0, 0));
    }

    private void OnApplied(SliceApplied m)
    {
        var what = SliceProtocol.Text(m.What);
        int[] v = [m.Count, m.Epoch, m.StepInEpoch, (int)Math.Min(int.MaxValue, m.BusySeconds * 1e6)];
        Send(() => _host.Control.Send(SliceProtocol.Applied, m.Step, (uint)m.Slice | (m.Applied ? 1L << 32 : 0),
            SliceProtocol.Bits(m.LossSum), SliceProtocol.Bits(m.Correct), v, what));
        var (done, applied) = _steps.GetValueOrDefault(m.Step, (0, true));
        done++; applied &= m.Applied;
        if (done < _host.Slices.Length) { _steps[m.Step] = (done, applied); return; }
        _steps.Remove(m.Step);
        _sent.RemoveWhere(k => k.Step <= m.Step);
        _host.StepDone(m.Step, applied);
    }

    private void OnLoaded()
    {
        if (_loading is not { } l) return;
        if (l.Left > 1) { _loading = l with { Left = l.Left - 1 }; return; }
        _loading = null;
        _host.Loaded(l.Version);
        Send(() => _host.Control.Send(SliceProtocol.Loaded, l.Version, 0, 0, 0));
    }

    /// <summary>Each hosted slice's flat slots, slice by slice, slot by slot.</summary>
    private void OnState(SliceState m)
    {
        if (_states is not { } states) return;
        states[m.Slice - _host.Spec.First] = m;
        if (states.Any(s => s is null)) return;
        _states = null;
        var sections = states.SelectMany(s => s!.Slots.Select(a => (Section)a)).ToArray();
        Send(() => _host.Control.Send(SliceProtocol.State, 0, 0, 0, 0, sections));
    }

    private void Send(Action send)
    {
        try { send(); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException or DataPlaneException)
        {
            _host.Close($"the coordinator's connection failed: {e.Message}");
        }
    }
}
