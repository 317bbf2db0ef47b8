using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Serialization;
using SerializationException = System.Runtime.Serialization.SerializationException;

namespace ActorTrainer.Runtime;

/// <summary>Hand-written little-endian binary serializer of every <see cref="ITrainingMessage"/> (manifest = short
/// type tag). Arrays are length-prefixed (−1 = null). Used for remote messages; in-process messages pass by reference.</summary>
public sealed class TrainingMessageSerializer : SerializerWithStringManifest
{
    /// <summary>Serializer id (the binding is made by <see cref="CreateSetup"/> or Akka.Hosting's WithCustomSerializer,
    /// both of which take the id from <see cref="Identifier"/>).</summary>
    public const int Id = 4711;

    /// <summary>The alias the serializer is registered under.</summary>
    public const string Alias = "actor-trainer";

    /// <summary>The types bound to this serializer: every <see cref="ITrainingMessage"/>.</summary>
    public static IReadOnlyList<Type> BoundTypes { get; } = [typeof(ITrainingMessage)];

    /// <summary>The manifests a cluster node accepts from its peers: the coordinator asks worker nodes to describe
    /// themselves (DN) and they answer (NI); every other training message stays inside a process (tensors travel on the
    /// data plane), so a peer — even one holding a trusted certificate — cannot inject parameter-server or worker
    /// traffic.</summary>
    public static IReadOnlySet<string> ClusterInbound { get; } = new HashSet<string>(["DN", "NI", "NR"], StringComparer.Ordinal);

    /// <summary>A SerializationSetup binding every ITrainingMessage to this serializer, for an ActorSystem built
    /// without Akka.Hosting (combine it with a BootstrapSetup); `inbound`: the only manifests it deserializes (null:
    /// all; a cluster node uses <see cref="ClusterInbound"/>).</summary>
    public static SerializationSetup CreateSetup(IReadOnlySet<string>? inbound = null) => SerializationSetup.Create(system =>
        ImmutableHashSet.Create(SerializerDetails.Create(Alias, new TrainingMessageSerializer(system, inbound), BoundTypes.ToImmutableHashSet())));

    private readonly IReadOnlySet<string>? _inbound;

    /// <summary>Created by Akka through the SerializationSetup (see <see cref="CreateSetup"/> and Akka.Hosting's WithCustomSerializer).</summary>
    public TrainingMessageSerializer(ExtendedActorSystem system) : this(system, null) { }

    /// <summary>A serializer that deserializes only the manifests in `inbound` (null: all).</summary>
    public TrainingMessageSerializer(ExtendedActorSystem system, IReadOnlySet<string>? inbound) : base(system) => _inbound = inbound;

    /// <inheritdoc/>
    public override int Identifier => Id;

    /// <inheritdoc/>
    public override string Manifest(object o) => o switch
    {
        RequestWork => "RW", WorkFailed => "WF", ShardWork => "SW", ShardResult => "SR", ReleaseGradients => "RG",
        PullWeights => "PW", StartEpoch => "SE", RegisterPeers => "RP", ApplyGradient => "AG", SliceApplied => "SA",
        SliceWeights => "SV", LoadSlice => "LS", SliceLoaded => "SL", SliceStateRequest => "TQ", SliceState => "ST", OpenStep => "OS", StopDispatch => "SD",
        DispatchStopped => "DS", CheckTimeouts => "CT", WorkItemAbandoned => "WA", StepResolved => "RS",
        StepDiverged => "DV", SnapshotRequest => "SQ", ServerState => "SS", LoadWeights => "LW", WeightsLoaded => "WL",
        Clustering.DescribeWorkerNode => "DN", Clustering.WorkerNodeInfo => "NI", Clustering.WorkerNodeRefused => "NR", SliceChecked => "SC",
        OpenNextStep => "ON", StepApplied => "AP",
        _ => throw new ArgumentException($"TrainingMessageSerializer: cannot serialize {o?.GetType().FullName ?? "null"}", nameof(o)),
    };

    /// <inheritdoc/>
    public override byte[] ToBinary(object obj)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms))
        {
            switch (obj)
            {
                case RequestWork m: w.Write(m.WorkerId); w.Write(m.CompletedStep); w.Write(m.CompletedShard); w.Write(m.Ready); break;
                case WorkFailed m: w.Write(m.WorkerId); w.Write(m.Step); w.Write(m.Shard); w.Write(m.Error); w.Write(m.WorkerLost); break;
                case ShardWork work: WriteShardWork(w, work.Materialize()); break;
                case ShardResult m: WriteShardResult(w, m); break;
                case ReleaseGradients m: w.Write(m.Step); w.Write(m.AndEarlier); break;
                case PullWeights m: w.Write(m.WorkerId); break;
                case RegisterPeers m: WriteRefs(w, m.Slices); WriteRefs(w, m.Workers); break;
                case ApplyGradient m: WriteShardResult(w, m.Result); w.Write(m.Version); w.Write(m.LearningRateScale); break;
                case SliceApplied m:
                    w.Write(m.Step); w.Write(m.Epoch); w.Write(m.StepInEpoch); w.Write(m.Slice); w.Write(m.Applied); w.Write(m.What);
                    w.Write(m.LossSum); w.Write(m.Correct); w.Write(m.Count); w.Write(m.BusySeconds); break;
                case SliceWeights m: w.Write(m.Slice); w.Write(m.Version); WriteFloats(w, m.Values); break;
                case LoadSlice m: w.Write(m.Version); WriteJagged(w, m.Weights); break;
                case SliceLoaded m: w.Write(m.Slice); break;
                case SliceChecked m: w.Write(m.Step); w.Write(m.Slice); w.Write(m.Finite); break;
                case SliceStateRequest: break;
                case SliceState m: w.Write(m.Slice); WriteJagged(w, m.Slots); break;
                case StartEpoch m: w.Write(m.Epoch); w.Write(m.StartStepInEpoch); w.Write(m.FirstGlobalStep); w.Write(m.Async); break;
                case OpenStep m: w.Write(m.Step); w.Write(m.Epoch); w.Write(m.StepInEpoch); w.Write(m.Version); WriteJagged(w, m.Weights); break;
                case OpenNextStep m: w.Write(m.Step); break;
                case StepApplied m: w.Write(m.Step); w.Write(m.Version); break;
                case StopDispatch: break;
                case DispatchStopped m: w.Write(m.Epoch); w.Write(m.NextStepInEpoch); break;
                case CheckTimeouts: break;
                case WorkItemAbandoned m: w.Write(m.Step); w.Write(m.Shard); w.Write(m.Attempts); w.Write(m.Error); break;
                case StepResolved m:
                    w.Write(m.Step); w.Write(m.Epoch); w.Write(m.StepInEpoch); w.Write(m.Applied); w.Write(m.Version);
                    WriteJagged(w, m.Weights); w.Write(m.LossSum); w.Write(m.Correct); w.Write(m.Count); w.Write(m.Rejected);
                    w.Write(m.Iterations); w.Write(m.ServerSeconds); break;
                case StepDiverged m: w.Write(m.Step); w.Write(m.Epoch); w.Write(m.StepInEpoch); w.Write(m.What); break;
                case SnapshotRequest: break;
                case ServerState m:
                    w.Write(m.Version); w.Write(m.Iterations);
                    w.Write(m.Slots.Length);
                    foreach (var s in m.Slots) WriteJagged(w, s);
                    w.Write(m.Rejected); break;
                case LoadWeights m: WriteJagged(w, m.Weights); break;
                case WeightsLoaded m: w.Write(m.Version); WriteJagged(w, m.Weights); break;
                case Clustering.DescribeWorkerNode: break;
                case Clustering.WorkerNodeInfo m: w.Write(m.Host); w.Write(m.Port); w.Write(m.Incarnation); w.Write(m.Workers); w.Write(m.ThreadsPerWorker); w.Write(m.MaxFrameBytes); w.Write(m.HostsSlices); break;
                case Clustering.WorkerNodeRefused m: w.Write(m.Reason); break;
                default: throw new ArgumentException($"TrainingMessageSerializer: cannot serialize {obj?.GetType().FullName ?? "null"}", nameof(obj));
            }
        }
        return ms.ToArray();
    }

    /// <inheritdoc/>
    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (_inbound is not null && !_inbound.Contains(manifest))
            throw new SerializationException($"TrainingMessageSerializer: refused a message with manifest '{manifest}' ({bytes.Length} bytes) " +
                                             $"from a peer: this node accepts only {string.Join(", ", _inbound.Order())} over remoting");
        using var r = new BinaryReader(new MemoryStream(bytes, false));
        try
        {
            object result = manifest switch
            {
                "RW" => new RequestWork(r.ReadInt32(), r.ReadInt64(), r.ReadInt32(), r.ReadBoolean()),
                "WF" => new WorkFailed(r.ReadInt32(), r.ReadInt64(), r.ReadInt32(), r.ReadString(), r.ReadBoolean()),
                "SW" => new ShardWork(r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt64(),
                    ReadJagged(r), ReadFloats(r)!, ReadInts(r), ReadFloats(r), r.ReadInt32(), r.ReadInt32(), r.ReadInt64(),
                    (InjectedFault)r.ReadByte(), r.ReadInt32()),
                "SR" => ReadShardResult(r),
                "RG" => new ReleaseGradients(r.ReadInt64(), r.ReadBoolean()),
                "PW" => new PullWeights(r.ReadInt32()),
                "RP" => new RegisterPeers(ReadRefs(r), ReadRefs(r)),
                "AG" => new ApplyGradient(ReadShardResult(r), r.ReadInt64(), r.ReadSingle()),
                "SA" => new SliceApplied(r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadBoolean(), r.ReadString(),
                    r.ReadDouble(), r.ReadDouble(), r.ReadInt32(), r.ReadDouble()),
                "SV" => new SliceWeights(r.ReadInt32(), r.ReadInt64(), ReadFloats(r)!),
                "LS" => new LoadSlice(r.ReadInt64(), ReadJagged(r)!),
                "SL" => new SliceLoaded(r.ReadInt32()),
                "SC" => new SliceChecked(r.ReadInt64(), r.ReadInt32(), r.ReadBoolean()),
                "TQ" => new SliceStateRequest(),
                "ST" => new SliceState(r.ReadInt32(), ReadJagged(r)!),
                "SE" => new StartEpoch(r.ReadInt32(), r.ReadInt32(), r.ReadInt64(), r.ReadBoolean()),
                "OS" => new OpenStep(r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), r.ReadInt64(), ReadJagged(r)!),
                "ON" => new OpenNextStep(r.ReadInt64()),
                "AP" => new StepApplied(r.ReadInt64(), r.ReadInt64()),
                "SD" => new StopDispatch(),
                "DS" => new DispatchStopped(r.ReadInt32(), r.ReadInt32()),
                "CT" => new CheckTimeouts(),
                "WA" => new WorkItemAbandoned(r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), r.ReadString()),
                "RS" => new StepResolved(r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), r.ReadBoolean(), r.ReadInt64(),
                    ReadJagged(r)!, r.ReadDouble(), r.ReadDouble(), r.ReadInt32(), r.ReadInt64(), r.ReadInt64(), r.ReadDouble()),
                "DV" => new StepDiverged(r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), r.ReadString()),
                "SQ" => new SnapshotRequest(),
                "SS" => ReadServerState(r),
                "LW" => new LoadWeights(ReadJagged(r)!),
                "WL" => new WeightsLoaded(r.ReadInt64(), ReadJagged(r)!),
                "DN" or "NI" or "NR" => ReadClusterMessage(manifest, r, bytes.Length),
                _ => throw new ArgumentException($"TrainingMessageSerializer: unknown manifest '{manifest}'", nameof(manifest)),
            };
            if (r.BaseStream.Position != bytes.Length)
                throw new InvalidDataException($"TrainingMessageSerializer: {bytes.Length - r.BaseStream.Position} trailing bytes after message '{manifest}'");
            return result;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"TrainingMessageSerializer: message '{manifest}' is truncated ({bytes.Length} bytes)", e);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or FormatException && !e.Message.StartsWith("TrainingMessageSerializer:", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"TrainingMessageSerializer: message '{manifest}' is malformed ({bytes.Length} bytes): {e.Message}", e);
        }
    }

    /// <summary>A work item with its rows (a local item names them; the remote side gets them gathered).</summary>
    private static void WriteShardWork(BinaryWriter w, ShardWork m)
    {
        w.Write(m.Step); w.Write(m.Epoch); w.Write(m.StepInEpoch); w.Write(m.Shard); w.Write(m.ShardCount);
        w.Write(m.Version); WriteJagged(w, m.Weights); WriteFloats(w, m.X); WriteInts(w, m.Labels);
        WriteFloats(w, m.Targets); w.Write(m.Rows); w.Write(m.BatchRows); w.Write(m.DropoutSeed);
        w.Write((byte)m.Fault); w.Write(m.SleepMillis);
    }

    private static void WriteShardResult(BinaryWriter w, ShardResult m)
    {
        w.Write(m.Step); w.Write(m.Epoch); w.Write(m.StepInEpoch); w.Write(m.Shard); w.Write(m.ShardCount);
        w.Write(m.BatchRows); w.Write(m.Version); w.Write(m.WorkerId); w.Write(m.LossSum); w.Write(m.Correct); w.Write(m.Count);
        WriteJagged(w, m.Gradients); w.Write(m.GradientsFinite);
    }

    private static ShardResult ReadShardResult(BinaryReader r) =>
        new(r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt64(),
            r.ReadInt32(), r.ReadDouble(), r.ReadDouble(), r.ReadInt32(), ReadJagged(r)!, r.ReadBoolean());

    /// <summary>Actor references as their serialized paths (with this system's address for local actors).</summary>
    private static void WriteRefs(BinaryWriter w, IActorRef[] refs)
    {
        w.Write(refs.Length);
        foreach (var a in refs) w.Write(Akka.Serialization.Serialization.SerializedActorPath(a));
    }

    private IActorRef[] ReadRefs(BinaryReader r)
    {
        int n = ReadLength(r, "actor reference list");
        var refs = new IActorRef[n];
        for (int i = 0; i < n; i++) refs[i] = system.Provider.ResolveActorRef(r.ReadString());
        return refs;
    }

    /// <summary>The messages a cluster exchanges over Akka (ClusterInbound); a worker node of an earlier version does not
    /// tell its frame limit (WorkerNodeInfo.MaxFrameBytes reads as 0).</summary>
    private static object ReadClusterMessage(string manifest, BinaryReader r, long length) => manifest switch
    {
        "DN" => new Clustering.DescribeWorkerNode(),
        "NI" => new Clustering.WorkerNodeInfo(r.ReadString(), r.ReadInt32(), r.ReadString(), r.ReadInt32(), r.ReadInt32(),
            r.BaseStream.Position < length ? r.ReadInt64() : 0, r.BaseStream.Position < length && r.ReadBoolean()),
        _ => new Clustering.WorkerNodeRefused(r.ReadString()),
    };

    private static ServerState ReadServerState(BinaryReader r)
    {
        long version = r.ReadInt64();
        long iterations = r.ReadInt64();
        int n = ReadLength(r, "slots", sizeof(int));
        var slots = new float[n][][];
        for (int i = 0; i < n; i++) slots[i] = ReadJagged(r)!;
        return new ServerState(version, iterations, slots, r.ReadInt64());
    }

    internal static void WriteFloats(BinaryWriter w, float[]? a)
    {
        if (a is null) { w.Write(-1); return; }
        w.Write(a.Length);
        w.Write(MemoryMarshal.AsBytes(a.AsSpan()));
    }

    internal static void WriteInts(BinaryWriter w, int[]? a)
    {
        if (a is null) { w.Write(-1); return; }
        w.Write(a.Length);
        w.Write(MemoryMarshal.AsBytes(a.AsSpan()));
    }

    internal static void WriteJagged(BinaryWriter w, float[][]? a)
    {
        if (a is null) { w.Write(-1); return; }
        w.Write(a.Length);
        foreach (var x in a) WriteFloats(w, x);
    }

    /// <summary>A length prefix (−1 = null), checked against the bytes left so that a hostile length cannot make the
    /// reader allocate more than the message holds: each element takes at least `minElementBytes` bytes.</summary>
    private static int ReadLength(BinaryReader r, string what, int minElementBytes = 1)
    {
        int n = r.ReadInt32();
        long left = r.BaseStream.Length - r.BaseStream.Position;
        if (n < -1 || (long)n * minElementBytes > left) throw new InvalidDataException($"binary message: invalid {what} length {n} ({left} bytes left)");
        return n;
    }

    internal static float[]? ReadFloats(BinaryReader r)
    {
        int n = ReadLength(r, "float array", sizeof(float));
        if (n < 0) return null;
        var a = new float[n];
        r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
        return a;
    }

    internal static int[]? ReadInts(BinaryReader r)
    {
        int n = ReadLength(r, "int array", sizeof(int));
        if (n < 0) return null;
        var a = new int[n];
        r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
        return a;
    }

    internal static float[][]? ReadJagged(BinaryReader r)
    {
        int n = ReadLength(r, "array list", sizeof(int));
        if (n < 0) return null;
        var a = new float[n][];
        for (int i = 0; i < n; i++) a[i] = ReadFloats(r) ?? throw new InvalidDataException("binary message: null array inside an array list");
        return a;
    }
}
