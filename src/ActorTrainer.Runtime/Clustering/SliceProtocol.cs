using System.Globalization;
using System.Text;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>The data-plane frames of parameter-server slices hosted on `ps` nodes (<see cref="SliceHost"/>). Two kinds
/// of connection reach a ps node; the first frame says which (kinds apart from <see cref="NodeProtocol"/>'s):
/// <list type="bullet">
/// <item>The coordinator's control connection, one per ps node and run. SliceJob (→ node): A = the run's token
/// (positive), B = first global step, C = optimizer iterations done, D = weights version; sections: [job text
/// (<see cref="SliceJobSpec"/>)], then each hosted slice's weights (one Float32 section per <see cref="ActorTrainer.Core.WeightRange"/>,
/// slices in index order), then each hosted slice's optimizer slots (slot by slot, segment by segment). Answer:
/// SliceReady or Error. Then, either way, any time: Vote (A = step, B = slice, C = 1 finite / 0 not): the node's slices'
/// checks go to the coordinator, which relays each to the other ps nodes. Node → coordinator: Applied (A = step, B =
/// slice | applied &lt;&lt; 32, C / D = loss sum / hits (double bits); sections: [Int32: count, epoch, step in epoch,
/// busy microseconds], [UTF-8 why not applied]). Coordinator → node, each answered in turn: SetRate (A = learning rate,
/// double bits) → RateSet; Load (A = version; sections: the hosted weights as in SliceJob) → Loaded; StateRequest →
/// State (sections: per hosted slice, per slot name, its range as one flat Float32 section); WeightsRequest (A = version wanted, long.MinValue = the current
/// one) → Weights (A = version; sections: the hosted weights).</item>
/// <item>A worker node's connection, one per remote gradient worker and ps node (plus one per worker node that pulls
/// the weights for all its workers). Attach (→ node): A = token, B = 1 for block-sparse codes (<see cref="SliceRangeCodes"/>:
/// every segment section below is then two, its mask and values; weights go as the XOR with what the connection
/// delivered before, zeros at first), 0 for none. Answer: Attached or Error. Then WeightsRequest → Weights (as above; answered once the slices have applied the steps up to that
/// version, without holding up the connection's pushes: a worker asks for the next version right after its push), and
/// Push (one way): A = step, B = shard | the step's count of non-empty shards &lt;&lt; 32, C = batch rows | epoch &lt;&lt;
/// 32, D = step in epoch | worker id &lt;&lt; 32; sections: [Int32 ×5: loss sum and hits (double bits, low then high),
/// count], then the shard's gradient over every hosted slice (one Float32 section per segment).</item>
/// <item>Error (either way): [UTF-8 message]; the connection is closed after it.</item>
/// </list></summary>
public static class SliceProtocol
{
    /// <summary>Frame kinds.</summary>
    public const byte SliceJob = 16, SliceReady = 17, Vote = 18, Applied = 19, SetRate = 20, RateSet = 21, Load = 22, Loaded = 23,
        StateRequest = 24, State = 25, WeightsRequest = 26, Weights = 27, Attach = 28, Attached = 29, Push = 30;

    /// <summary>True for the first frame of a connection to a ps node (SliceJob or Attach).</summary>
    public static bool Opens(byte kind) => kind is SliceJob or Attach;

    /// <summary>The sections of `slices`' ranges of per-tensor arrays `a` (one per segment, slices in order): views, no copy.</summary>
    public static void AddRanges(List<Section> into, ParameterSlices layout, int first, int last, float[][] a)
    {
        for (int s = first; s <= last; s++)
            foreach (var g in layout[s]) into.Add(Section.Of(a[g.Tensor].AsMemory(g.Offset, g.Count)));
    }

    /// <summary>Copies the segments of slices first..last from per-tensor arrays `from` into `to` (in-process: a worker
    /// node that hosts slices itself).</summary>
    public static void CopyRanges(ParameterSlices layout, int first, int last, float[][] from, float[][] to)
    {
        for (int s = first; s <= last; s++)
            foreach (var g in layout[s]) from[g.Tensor].AsSpan(g.Offset, g.Count).CopyTo(to[g.Tensor].AsSpan(g.Offset, g.Count));
    }

    /// <summary>Number of segment sections slices first..last take.</summary>
    public static int RangeSections(ParameterSlices layout, int first, int last)
    {
        int n = 0;
        for (int s = first; s <= last; s++) n += layout[s].Length;
        return n;
    }

    /// <summary>Checks that sections from `at` on are the Float32 segments of slices first..last; the problem, or null.</summary>
    public static string? CheckRanges(FrameHeader h, int at, ParameterSlices layout, int first, int last, string what)
    {
        if (h.SectionCount < at + RangeSections(layout, first, last)) return $"{what}: {h.SectionCount} sections, expected at least {at + RangeSections(layout, first, last)}";
        for (int s = first; s <= last; s++)
            foreach (var g in layout[s])
            {
                if (h.Types[at] != SectionType.Float32 || h.Lengths[at] != g.Count)
                    return $"{what}: section {at} (slice {s}, tensor {g.Tensor}) has {h.Lengths[at]} elements of {h.Types[at]}, expected {g.Count} Float32";
                at++;
            }
        return null;
    }

    /// <summary>Receives the segment sections of slices first..last into per-tensor arrays `a` (checked before).</summary>
    public static void ReceiveRanges(TensorConnection c, ParameterSlices layout, int first, int last, float[][] a)
    {
        for (int s = first; s <= last; s++)
            foreach (var g in layout[s]) c.ReceiveSection(a[g.Tensor].AsSpan(g.Offset, g.Count));
    }

    /// <summary>UTF-8 text as a section.</summary>
    public static byte[] Text(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>A double as header bits, and back.</summary>
    public static long Bits(double v) => BitConverter.DoubleToInt64Bits(v);

    /// <summary>Reads an Applied frame's two sections after checking them (count etc. and the reason text).</summary>
    public static (int Count, int Epoch, int StepInEpoch, double Busy, string What) ReadApplied(TensorConnection c, FrameHeader h)
    {
        if (h.SectionCount != 2 || h.Types[0] != SectionType.Int32 || h.Lengths[0] != 4 || h.Types[1] != SectionType.Bytes
            || h.Lengths[1] > NodeProtocol.MaxTextBytes)
            throw new DataPlaneException($"applied frame from {c.RemoteEndPoint}: expected [4 Int32][text]");
        Span<int> v = stackalloc int[4];
        c.ReceiveSection(v);
        var what = new byte[h.Lengths[1]];
        c.ReceiveSection(what.AsSpan());
        return (v[0], v[1], v[2], v[3] / 1e6, Encoding.UTF8.GetString(what));
    }
}

/// <summary>What a coordinator's SliceJob frame tells a ps node besides the tensors: the weight tensors' sizes (plan
/// order), the slice count of the layout (<see cref="ParameterSlices.Split"/>: both ends cut the same way), the hosted
/// slices First..Last, shards per batch, the learning rate and the optimizer's Keras config ({"class_name", "config"}).</summary>
/// <param name="Sizes">Elements of each weight tensor, in plan order.</param>
/// <param name="Slices">Slice count of the layout (ParameterSlices.Split).</param>
/// <param name="First">First slice the ps node hosts.</param>
/// <param name="Last">Last slice it hosts (inclusive).</param>
/// <param name="Shards">Shards per batch.</param>
/// <param name="LearningRate">The optimizer's learning rate.</param>
/// <param name="Optimizer">The optimizer's Keras config JSON ({"class_name", "config"}).</param>
public sealed record SliceJobSpec(int[] Sizes, int Slices, int First, int Last, int Shards, double LearningRate, string Optimizer)
{
    private const string Magic = "actortrainer-slices 1";

    /// <summary>The spec as text.</summary>
    public byte[] Encode() => SliceProtocol.Text(string.Join('\n', Magic,
        "sizes " + string.Join(' ', Sizes.Select(n => n.ToString(CultureInfo.InvariantCulture))),
        FormattableString.Invariant($"slices {Slices} {First} {Last}"), FormattableString.Invariant($"shards {Shards}"),
        "rate " + LearningRate.ToString("R", CultureInfo.InvariantCulture), "optimizer " + Optimizer) + "\n");

    /// <summary>Parses Encode's text; InvalidDataException names what is wrong.</summary>
    public static SliceJobSpec Decode(byte[] text)
    {
        var lines = Encoding.UTF8.GetString(text).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length != 6 || lines[0] != Magic) throw Bad($"expected 6 lines starting with '{Magic}'");
        int[] sizes = Field(lines[1], "sizes").Split(' ').Select(s => Int(s, "sizes")).ToArray();
        var sl = Field(lines[2], "slices").Split(' ');
        if (sl.Length != 3) throw Bad("slices: expected COUNT FIRST LAST");
        int count = Int(sl[0], "slices"), first = Int(sl[1], "first slice"), last = Int(sl[2], "last slice");
        int shards = Int(Field(lines[3], "shards"), "shards");
        if (!double.TryParse(Field(lines[4], "rate"), NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) || !(rate > 0) || double.IsInfinity(rate))
            throw Bad($"rate '{Field(lines[4], "rate")}' is not a finite number > 0");
        if (sizes.Any(n => n < 0) || count < 1 || count > ParameterSlices.MaxSlices || first < 0 || last < first || shards < 1 || shards > 1 << 20)
            throw Bad($"sizes, slices {count} {first}..{last} or shards {shards} out of range");
        return new SliceJobSpec(sizes, count, first, last, shards, rate, Field(lines[5], "optimizer"));
    }

    private static string Field(string line, string name) =>
        line.StartsWith(name + " ", StringComparison.Ordinal) ? line[(name.Length + 1)..] : throw Bad($"expected a '{name} …' line, got '{line}'");

    private static int Int(string s, string what) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw Bad($"{what}: '{s}' is not an integer");

    private static InvalidDataException Bad(string what) => new($"slice job: {what}");
}

/// <summary>Where a run's slices live, as the coordinator tells its worker nodes in a ps job (<see cref="NodeProtocol"/>):
/// the run's token, the slice count (the layout is cut from the plan's weight sizes) and per ps node its data-plane
/// endpoint and hosted slices First..Last (together every slice, in order). Codes: the coordinator's
/// cluster.data-plane.compress — whether a worker node's links to the ps nodes carry block-sparse codes
/// (<see cref="CodesTo"/>).</summary>
/// <param name="Token">The run's token (the coordinator's SliceJob A).</param>
/// <param name="Slices">Slice count of the layout.</param>
/// <param name="Nodes">Per ps node: its data-plane endpoint (Host, Port) and hosted slices First..Last, in slice order.</param>
/// <param name="Codes">The coordinator's cluster.data-plane.compress ("auto", "on" or "off").</param>
public sealed record SliceDirectory(long Token, int Slices, (string Host, int Port, int First, int Last)[] Nodes, string Codes = "off")
{
    private const string Magic = "actortrainer-ps 1";

    /// <summary>Whether a worker node's link to the ps node at `host` carries block-sparse codes: Codes "on", or "auto"
    /// and `host` is not the machine asking (there the link is memory, and the codes' passes cost more than they save).</summary>
    public bool CodesTo(string host) => Codes == "on" || Codes == "auto" && !LocalHost.Is(host);

    /// <summary>The directory as text.</summary>
    public byte[] Encode() => SliceProtocol.Text(string.Join('\n', new[] { Magic, FormattableString.Invariant($"token {Token} slices {Slices} codes {Codes}") }
        .Concat(Nodes.Select(n => FormattableString.Invariant($"node {n.Host} {n.Port} {n.First} {n.Last}")))) + "\n");

    /// <summary>Parses Encode's text and checks it against a layout of `sizes`; InvalidDataException names what is wrong.</summary>
    public static SliceDirectory Decode(byte[] text, int[] sizes)
    {
        var lines = Encoding.UTF8.GetString(text).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length < 3 || lines[0] != Magic) throw Bad($"expected '{Magic}', a token line and at least one node");
        var head = lines[1].Split(' ');
        if (head.Length != 6 || head[0] != "token" || head[2] != "slices" || head[4] != "codes" || !long.TryParse(head[1], CultureInfo.InvariantCulture, out var token)
            || token <= 0 || !int.TryParse(head[3], CultureInfo.InvariantCulture, out var count) || count < 1 || count > ParameterSlices.MaxSlices
            || !RemoteWorkers.CompressModes.Contains(head[5]))
            throw Bad($"'{lines[1]}' is not 'token T slices N codes auto|on|off' (T > 0, 1 <= N <= {ParameterSlices.MaxSlices})");
        var nodes = lines.Skip(2).Select(l => l.Split(' ')).Select(p =>
            p.Length == 5 && p[0] == "node" && int.TryParse(p[2], CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            && int.TryParse(p[3], CultureInfo.InvariantCulture, out var f) && int.TryParse(p[4], CultureInfo.InvariantCulture, out var l)
                ? (p[1], port, f, l) : throw Bad($"'{string.Join(' ', p)}' is not 'node HOST PORT FIRST LAST'")).ToArray();
        int next = 0;
        foreach (var n in nodes)
        {
            if (n.f != next || n.l < n.f) throw Bad($"node {n.Item1}:{n.port} hosts slices {n.f}..{n.l}, expected a range from {next}");
            next = n.l + 1;
        }
        if (next != count || ParameterSlices.Split(sizes, count).Count != count) throw Bad($"the nodes host slices 0..{next - 1}, the layout has {count}");
        return new SliceDirectory(token, count, nodes, head[5]);
    }

    private static InvalidDataException Bad(string what) => new($"ps directory: {what}");
}
