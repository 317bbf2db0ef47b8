using ActorTrainer.Core;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>One coordinator connection on a worker node (<see cref="NodeProtocol"/>): reads the Job (plan, rows,
/// threads, sync flag), then answers each Work with the shard's gradient computed by <see cref="LocalShardCompute"/> — the
/// same engine a local worker runs — or by the node's own computation (`factory`: a GPU), which refuses sync jobs with
/// `syncRefusal`. A sync Job that names a weights share computes with the copy its <see cref="NodeWeightsGroup"/> in
/// `groups` holds: a Work frame without weights waits for the weights a sibling connection brings. `weightsArrived`:
/// called for each Work frame that brought weights. Every frame is checked against the plan before anything is read into a buffer: wrong
/// kinds, section counts, types or lengths end the session with InvalidDataException (the server sends it back as an
/// Error frame).</summary>
internal sealed class NodeSession(TensorConnection conn, int defaultThreads, Action counted, ShardComputeFactory? factory = null,
    string? syncRefusal = null, NodeWeightsGroups? groups = null, Action? weightsArrived = null, DataPlaneOptions? linkOptions = null,
    LocalSlices? localSlices = null)
{
    /// <summary>Most rows per shard a coordinator may ask for (bounds the buffers a Job allocates).</summary>
    public const int MaxRows = 1 << 20;

    private ModelPlan _plan = null!;
    private int[] _sizes = [];
    private float[][]? _weights;
    private long _key = long.MinValue;
    private float[] _x = [], _targets = [];
    private int[] _labels = [];
    private float[][] _grads = [];
    private Section[] _gradSections = [];
    private CodedTensor _xCode = null!;
    private CodedTensor[] _down = [], _up = [];
    private bool _coded;
    private NodeWeightsGroup? _group;
    private long _token;
    private SliceLinks? _links;                    // a ps job: this session's gradients go to the ps nodes
    private NodeSlicePuller? _puller;              // a ps job: the node's one pull of each step's weights from them
    private readonly int[] _route = new int[7];
    private NodeSharedWork? _shared;               // a shared-memory job: the tensors are in the mapped file

    /// <summary>True once the Job gave this session memory shared with the coordinator (tensors not on the socket).</summary>
    public bool SharedMemory => _shared is not null;

    /// <summary>Why this session's Job offered shared memory and the node could not map it (the socket carries the
    /// tensors instead), or null.</summary>
    public string? SharedMemoryRefusal => _sharedRefusal;

    private string? _sharedRefusal;

    /// <summary>Seconds this session spent waiting for work, reading it, computing and sending results.</summary>
    public (double Waiting, double Reading, double Computing, double Sending) Seconds =>
        (_waiting.Elapsed.TotalSeconds, _reading.Elapsed.TotalSeconds, _computing.Elapsed.TotalSeconds, _sending.Elapsed.TotalSeconds);

    private readonly System.Diagnostics.Stopwatch _waiting = new(), _reading = new(), _computing = new(), _sending = new();

    /// <summary>Serves the job whose first frame is `job` (its header, read by the server) until the coordinator closes the connection (EndOfStreamException) or breaks the protocol.</summary>
    public void Run(FrameHeader job)
    {
        try { Serve(job); }
        finally
        {
            if (_group is not null) groups!.Detach(_token);
            _links?.Dispose();
            _shared?.Dispose();
        }
    }

    private void Serve(FrameHeader job)
    {
        using var compute = StartJob(job);
        while (true)
        {
            _waiting.Start();
            var h = conn.ReceiveHeader();
            _waiting.Stop();
            if (h.Kind != NodeProtocol.Work) throw Bad($"expected a Work frame, got kind {h.Kind}");
            if (_shared is not null)
            {
                ServeShared(h, (LocalShardCompute)compute);
                continue;
            }
            _reading.Start();
            var (rows, batchRows) = ReadWork(h);
            _reading.Stop();
            _computing.Start();
            var stats = compute.Compute(_group?.Weights ?? _weights!, _group is null ? _key : h.B, _x.AsMemory(0, rows * _plan.InputDim),
                _plan.Loss.SparseTargets ? _labels.AsMemory(0, rows) : Memory<int>.Empty,
                _plan.Loss.SparseTargets ? Memory<float>.Empty : _targets.AsMemory(0, rows * _plan.OutputDim),
                rows, batchRows, h.D, _grads);
            _computing.Stop();
            counted();
            _sending.Start();
            _links?.Push(_route, batchRows, stats, _grads);
            _puller?.AskAhead(h.B);
            for (int i = 0; _coded && _links is null && i < _grads.Length; i++)
            {
                _up[i].Encode(_grads[i]);
                _gradSections[2 * i] = _up[i].MaskSection;
                _gradSections[2 * i + 1] = _up[i].PackedSection;
            }
            conn.Send(NodeProtocol.Result, h.A, BitConverter.DoubleToInt64Bits(stats.LossSum),
                BitConverter.DoubleToInt64Bits(stats.Correct), stats.Count, _links is null ? _gradSections : []);
            _sending.Stop();
        }
    }

    /// <summary>A Work frame of a shared-memory job: the tensors are in the mapping (<see cref="NodeSharedWork"/>).</summary>
    private void ServeShared(FrameHeader h, LocalShardCompute compute)
    {
        int rows = (int)(h.C & 0xFFFFFFFF), batchRows = (int)(h.C >> 32);
        if (rows < 1 || rows > _x.Length / _plan.InputDim || batchRows < rows)
            throw Bad($"work of {rows} rows (batch {batchRows}) does not fit this job ({_x.Length / _plan.InputDim} rows)");
        _computing.Start();
        ShardStats stats;
        try { stats = _shared!.Compute(conn, h, compute, rows, batchRows); }
        catch (InvalidDataException e) { throw Bad(e.Message); }
        _computing.Stop();
        counted();
        _sending.Start();
        conn.Send(NodeProtocol.Result, h.A, BitConverter.DoubleToInt64Bits(stats.LossSum), BitConverter.DoubleToInt64Bits(stats.Correct), stats.Count);
        _sending.Stop();
    }

    private IShardCompute StartJob(FrameHeader h)
    {
        if (h.Kind != NodeProtocol.Job) throw Bad($"expected a Job frame first, got kind {h.Kind}");
        long flags = h.D & 0xFF, token = h.D >> 8;
        if (h.D < 0 || flags > 31) throw Bad($"job flags {flags} outside [0, 31] (bit 0: sync, bit 1: block-sparse tensors, bit 2: weights shared, bit 3: slices on ps nodes, bit 4: shared memory)");
        bool ps = (flags & 8) != 0, shm = (flags & 16) != 0;
        if (shm && (ps || (flags & 3) != 1)) throw Bad("a shared-memory job must be a sync job with plain tensors and its slices at the coordinator");
        if (ps && (flags & 5) != 5) throw Bad("a job whose slices live on ps nodes must be a sync job that shares weights (the node pulls them once per step)");
        if (h.SectionCount != (ps || shm ? 2 : 1)) throw Bad($"job frame has {h.SectionCount} sections, expected {(ps || shm ? 2 : 1)}");
        var plan = PlanCodec.Decode(NodeProtocol.ReadText(conn, h, 0, "job"));
        var shmText = shm ? System.Text.Encoding.UTF8.GetString(NodeProtocol.ReadText(conn, h, 1, "shared memory")) : null;
        var directory = ps ? SliceDirectory.Decode(NodeProtocol.ReadText(conn, h, 1, "ps directory"), plan.WeightSizes) : null;
        if (h.A < 1 || h.A > MaxRows) throw Bad($"rows per shard {h.A} outside [1, {MaxRows}]");
        if (h.B < 0 || h.B > 4096) throw Bad($"threads {h.B} outside [0, 4096]");
        if ((flags & 1) != 0 && syncRefusal is not null) throw new InvalidDataException(syncRefusal);
        bool shared = (flags & 4) != 0;
        if (shared && ((flags & 1) == 0 || token <= 0 || groups is null))
            throw Bad($"job shares weights (token {token}) but is not a sync job with a positive token, or this node keeps no shared weights");
        if (!shared && token != 0) throw Bad($"job names weights token {token} without the shared flag");
        _coded = (flags & 2) != 0;
        _plan = plan;
        _sizes = plan.WeightSizes;
        if (h.C != _sizes.Length) throw Bad($"job announces {h.C} weight tensors, the plan has {_sizes.Length}");
        int rows = (int)h.A;
        _x = new float[checked(rows * plan.InputDim)];
        if (plan.Loss.SparseTargets) _labels = new int[rows]; else _targets = new float[checked(rows * plan.OutputDim)];
        _grads = _sizes.Select(n => new float[n]).ToArray();
        // the Result frame's sections: each gradient's mask and values, or each gradient as it is
        _gradSections = _coded ? new Section[2 * _sizes.Length] : _grads.Select(g => Section.Of(g)).ToArray();
        if (_coded)
        {
            _xCode = new CodedTensor(_x.Length);
            _down = _sizes.Select(n => new CodedTensor(n)).ToArray();
            _up = _sizes.Select(n => new CodedTensor(n)).ToArray();
        }
        int threads = h.B > 0 ? (int)h.B : defaultThreads;
        IShardCompute compute = factory is null ? new LocalShardCompute(plan, rows, threads) : factory.Invoke(0, plan, rows, threads);
        if (shared)
        {
            _group = groups!.Attach(token, _sizes);
            _token = token;
        }
        if (directory is not null)
        {
            if (linkOptions is null) throw Bad("this node cannot reach parameter-server nodes (no data-plane options for them)");
            _puller = _group!.PullerFor(directory, linkOptions, localSlices);   // one pull per step for the node's sessions
            _links = new SliceLinks(directory, _sizes, linkOptions, localSlices);   // this session's pushes
            _links.Open();
        }
        // shared memory where this node computes on the CPU with the plan's own layers and can map the file; else the socket
        if (shmText is not null && compute is LocalShardCompute && !plan.Layers.Any(l => l.IsCustom))
            try { _shared = NodeSharedWork.TryOpen(shmText, plan, out _sharedRefusal); }
            catch (InvalidDataException e) { throw Bad(e.Message); }
        conn.Send(NodeProtocol.Ready, Environment.ProcessorCount, _group?.Key ?? long.MinValue, _shared is null ? 0 : 1, 0);
        return compute;
    }

    /// <summary>Reads a Work frame's rows (and weights, when sent) after checking every section against the plan.</summary>
    private (int Rows, int BatchRows) ReadWork(FrameHeader h)
    {
        int rows = (int)(h.C & 0xFFFFFFFF), batchRows = (int)(h.C >> 32);
        if (rows < 1 || rows * (long)_plan.InputDim > _x.Length || batchRows < rows)
            throw Bad($"work of {rows} rows (batch {batchRows}) does not fit this job ({_x.Length / _plan.InputDim} rows)");
        // x (mask and values, or values), labels | targets; then, shared, the weights' base key; then the weights
        int per = _coded ? 2 : 1, head = per + 1, baseKey = _group is null ? 0 : 1;
        if (_links is not null) return ReadPsWork(h, rows, batchRows, head);
        bool withWeights = h.SectionCount == head + baseKey + per * _sizes.Length;
        if (h.SectionCount != head && !withWeights) throw Bad($"work frame has {h.SectionCount} sections, expected {head} or {head + baseKey + per * _sizes.Length}");
        int xLength = rows * _plan.InputDim;
        CheckTensor(h, 0, xLength, "x");
        if (_plan.Loss.SparseTargets) Expect(h, head - 1, SectionType.Int32, rows, "labels");
        else Expect(h, head - 1, SectionType.Float32, rows * (long)_plan.OutputDim, "targets");
        if (withWeights && baseKey == 1) Expect(h, head, SectionType.Int32, 2, "base key");
        for (int i = 0; withWeights && i < _sizes.Length; i++) CheckTensor(h, head + baseKey + per * i, _sizes[i], $"weight {i}");
        if (!withWeights && _group is null && (_weights is null || h.B != _key)) throw Bad($"work for weights key {h.B} carries no weights and the node holds key {_key}");
        ReadRows(h, rows);
        if (withWeights && _group is { } g) ReadSharedWeights(h, head, g);
        else if (withWeights) ReadWeights(h, head);
        else _group?.WaitFor(h.B);
        return (rows, batchRows);
    }

    /// <summary>Receives x (coded or as it is) and the labels or targets of `rows` rows (checked before).</summary>
    private void ReadRows(FrameHeader h, int rows)
    {
        int xLength = rows * _plan.InputDim;
        if (_coded)
        {
            _xCode.Receive(conn, h, 0, xLength, "x");
            _xCode.DecodeInto(_x.AsSpan(0, xLength));
        }
        else conn.ReceiveSection(_x.AsSpan(0, xLength));
        if (_plan.Loss.SparseTargets) conn.ReceiveSection(_labels.AsSpan(0, rows));
        else conn.ReceiveSection(_targets.AsSpan(0, rows * _plan.OutputDim));
    }

    /// <summary>A ps job's Work frame: x, labels | targets, the route (7 Int32: step low and high, shard, shard count,
    /// epoch, step in epoch, worker id); the weights of key B come from the ps nodes into the node's shared copy
    /// (pulled once for all its sessions of the run).</summary>
    private (int Rows, int BatchRows) ReadPsWork(FrameHeader h, int rows, int batchRows, int head)
    {
        if (h.SectionCount != head + 1) throw Bad($"work frame of a ps job has {h.SectionCount} sections, expected {head + 1}");
        CheckTensor(h, 0, rows * _plan.InputDim, "x");
        if (_plan.Loss.SparseTargets) Expect(h, head - 1, SectionType.Int32, rows, "labels");
        else Expect(h, head - 1, SectionType.Float32, rows * (long)_plan.OutputDim, "targets");
        Expect(h, head, SectionType.Int32, _route.Length, "route");
        ReadRows(h, rows);
        conn.ReceiveSection(_route.AsSpan());
        _puller!.Pull(h.B, _group!.Weights);
        _key = h.B;
        return (rows, batchRows);
    }

    /// <summary>The weights, as they are, or in a block-sparse session as the XOR with the copy this session holds
    /// (zeros at first); a frame that breaks off ends the session, and the coordinator starts the next one from zeros
    /// too.</summary>
    private void ReadWeights(FrameHeader h, int head)
    {
        _weights ??= _sizes.Select(n => new float[n]).ToArray();
        _key = long.MinValue;
        ReceiveWeights(h, head, _weights);
        _key = h.B;
        weightsArrived?.Invoke();
    }

    /// <summary>The weight tensors from section `first` on into `into`: as they are, or block-sparse as the XOR with
    /// what `into` holds.</summary>
    private void ReceiveWeights(FrameHeader h, int first, float[][] into)
    {
        for (int i = 0; i < _sizes.Length; i++)
        {
            if (!_coded)
            {
                conn.ReceiveSection(into[i].AsSpan());
                continue;
            }
            _down[i].Receive(conn, h, first + 2 * i, _sizes[i], $"weight {i}");
            _down[i].DecodeXorInto(into[i]);
        }
    }

    /// <summary>The weights into the share's copy: the base key (two Int32, low then high), then the tensors as they are
    /// or, block-sparse, as the XOR with the copy (which must hold that base key; long.MinValue: zeros).</summary>
    private void ReadSharedWeights(FrameHeader h, int head, NodeWeightsGroup g)
    {
        Span<int> b = stackalloc int[2];
        conn.ReceiveSection(b);
        g.BeginReceive(h.B, (long)(uint)b[0] | ((long)b[1] << 32), _coded);
        bool ok = false;
        try
        {
            ReceiveWeights(h, head + 1, g.Weights);
            ok = true;
            weightsArrived?.Invoke();
        }
        finally { g.EndReceive(h.B, ok); }
    }

    /// <summary>Checks the section(s) of a tensor of n values at index i: a block-sparse code or n Float32.</summary>
    private void CheckTensor(FrameHeader h, int i, int n, string what)
    {
        if (CodedTensor.Check(h, i, n, what, _coded) is { } bad) throw Bad(bad);
    }

    private void Expect(FrameHeader h, int i, SectionType type, long length, string what)
    {
        if (h.Types[i] != type || h.Lengths[i] != length)
            throw Bad($"section {i} ({what}) has {h.Lengths[i]} elements of {h.Types[i]}, expected {length} {type}");
    }

    private InvalidDataException Bad(string what) => new($"data plane: frame from {conn.RemoteEndPoint}: {what}");
}
