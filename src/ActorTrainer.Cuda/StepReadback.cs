using ActorTrainer.Core;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda;

/// <summary>A queued step's statistics on their way back to the host: behind the step's kernels, its stats buffer
/// (<see cref="DeviceModel.Stats"/>) is copied into one of two page-locked host buffers and a marker is recorded after
/// the copy, so the host waits for that step alone while the next step is already queued behind it (the executor's
/// IStepLookahead). Slot = global step mod 2; one step per slot in flight.</summary>
internal sealed class StepReadback : IDisposable
{
    private readonly DeviceContext _dev;
    private readonly DeviceModel _model;
    private readonly PageLockedArray1D<int>[] _host;
    private readonly ProfilingMarker?[] _done = new ProfilingMarker?[2];

    public StepReadback(DeviceContext dev, DeviceModel model)
    {
        _dev = dev;
        _model = model;
        var n = model.StatsView.Length;
        _host = new PageLockedArray1D<int>[2];
        try
        {
            for (int s = 0; s < 2; s++) _host[s] = dev.Accelerator.AllocatePageLocked1D<int>(n);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Queues the copy of the stats of the step just queued into slot's host buffer, and a marker after it.</summary>
    public void Queue(int slot)
    {
        var stream = _dev.Accelerator.DefaultStream;
        _model.StatsView.CopyToPageLockedAsync(stream, _host[slot]);
        _done[slot] = stream.AddProfilingMarker();
    }

    /// <summary>Waits for slot's copy (not for what was queued after it) and sums its `rows` rows.</summary>
    public ShardStats Wait(int slot, int rows, out int flag)
    {
        var marker = _done[slot] ?? throw new InvalidOperationException($"step readback: nothing queued in slot {slot}");
        marker.Synchronize();
        Forget(slot);
        return _model.SumStats(_host[slot].Span, rows, out flag);
    }

    /// <summary>Drops slot's marker without reading (a step opened ahead whose result no one will read).</summary>
    public void Forget(int slot)
    {
        _done[slot]?.Dispose();
        _done[slot] = null;
    }

    /// <summary>Frees the markers and the page-locked buffers.</summary>
    public void Dispose()
    {
        for (int s = 0; s < 2; s++)
        {
            Forget(s);
            _host[s]?.Dispose();
        }
    }
}
