using System.Diagnostics;
using System.Globalization;
using System.Net;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Kernels;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Bench;

/// <summary>
/// `cluster --ceiling`: the best case of parameter-server slices on the worker nodes (issue 12's `ps` role) on this
/// machine, measured without building the role. Two processes each compute one 128-row shard gradient of the reference
/// model per step (the trainer's GradientEngine, one GEMM thread, rows gathered from their own copy of MNIST: no
/// coordinator in the step), send each other the half of the gradient the other owns over the data plane
/// (TensorConnection: through a Unix domain socket, as nodes on one host connect; over loopback TCP with `--tcp`), fold their own half in shard order, apply RMSprop to it and send each other the
/// updated halves of the weights — 1.63 MB out and 1.63 MB in per node and step, the least an exact (float32) exchange
/// between two nodes moves. Against it, in the same rounds: the same two lanes as two threads of one process sharing the
/// arrays (spin barriers, no copies: what the trainer's single-process run does at best) and one thread computing both
/// shards. All three must end with the same weights (checked). Alternating order; medians.
/// Usage: cluster --ceiling [--rounds 8] [--steps 3000] [--tcp]
/// </summary>
public static class SliceExchangeBench
{
    internal const int Warm = 200;
    private static readonly string[] Modes = ["nodes", "lanes", "one"];

    public static int Run(string[] args)
    {
        string Opt(string name, string dflt) { var i = Array.IndexOf(args, "--" + name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt; }
        int rounds = int.Parse(Opt("rounds", "8"), CultureInfo.InvariantCulture), steps = int.Parse(Opt("steps", "3000"), CultureInfo.InvariantCulture);
        if (rounds < 1 || steps <= Warm) { Console.Error.WriteLine($"error: --rounds must be >= 1 and --steps > {Warm}"); return 2; }
        Console.WriteLine($"cluster --ceiling: nodes over {(args.Contains("--tcp") ? "loopback TCP" : "a Unix domain socket")}, {steps} steps per run ({Warm} warm-up), {rounds} rounds, {Environment.ProcessorCount} cores; loadavg {ProcCpu.LoadAverage()}");
        var rates = Modes.ToDictionary(m => m, _ => new List<double>());
        var ratio = new List<double>();
        var hashes = new HashSet<string>();
        for (int r = 0; r < rounds; r++)
        {
            var round = new Dictionary<string, double>();
            foreach (var m in r % 2 == 0 ? Modes : Modes.Reverse())
            {
                var (rate, cpuMs, hash) = m == "nodes" ? RunNodes(steps, args.Contains("--tcp")) : Parse(RunChild([m, steps.ToString(CultureInfo.InvariantCulture)]).WaitOutput());
                rates[m].Add(rate); round[m] = rate; hashes.Add(hash);
                Console.WriteLine($"round {r + 1} {m,-5}: {rate,7:F1} steps/s, {cpuMs:F2} CPU ms per step (all threads, after warm-up), weights {hash}");
            }
            ratio.Add(round["nodes"] / round["lanes"]);
        }
        double Med(string m) => ServiceBench.Median(rates[m]);
        Console.WriteLine($"medians: nodes {Med("nodes"):F1}, lanes {Med("lanes"):F1}, one thread {Med("one"):F1} steps/s; " +
                          $"nodes / lanes per round: median {ServiceBench.Median(ratio):F3} [{ratio.Min():F3}, {ratio.Max():F3}] (issue 12's target for a real cluster: >= 0.8); " +
                          $"lanes / one thread {Med("lanes") / Med("one"):F2}");
        Console.WriteLine($"weights: {(hashes.Count == 1 ? "identical in every run" : "DIFFERENT: " + string.Join(", ", hashes))}; loadavg after {ProcCpu.LoadAverage()}");
        return hashes.Count == 1 ? 0 : 1;
    }

    /// <summary>Hidden child modes: `one STEPS`, `lanes STEPS`, `node STEPS ID PORT unix|tcp`; prints "rate cpuMs hash".</summary>
    public static int Child(string[] args)
    {
        int steps = int.Parse(args[1], CultureInfo.InvariantCulture);
        var lanes = new SliceLanes();
        var (rate, cpuMs) = args[0] switch
        {
            "one" => lanes.One(steps),
            "lanes" => lanes.Two(steps),
            "node" => lanes.Node(steps, int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture), args[4] == "unix"),
            _ => throw new ArgumentException($"cluster --ceiling child: unknown mode '{args[0]}'"),
        };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rate} {cpuMs} {lanes.WeightsHash()}"));
        return 0;
    }

    private static (double Rate, double CpuMs, string Hash) RunNodes(int steps, bool tcp)
    {
        int port = ServiceBench.FreePort();
        string via = tcp ? "tcp" : "unix";
        var a = RunChild(["node", steps.ToString(CultureInfo.InvariantCulture), "0", port.ToString(CultureInfo.InvariantCulture), via]);
        var b = RunChild(["node", steps.ToString(CultureInfo.InvariantCulture), "1", port.ToString(CultureInfo.InvariantCulture), via]);
        var (ra, ca, ha) = Parse(a.WaitOutput());
        var (rb, cb, hb) = Parse(b.WaitOutput());
        if (ha != hb) throw new InvalidOperationException($"the two nodes ended with different weights ({ha}, {hb})");
        return (Math.Min(ra, rb), ca + cb, ha);
    }

    private static (double, double, string) Parse(string line)
    {
        var p = line.Trim().Split(' ');
        if (p.Length != 3) throw new InvalidOperationException($"cluster --ceiling child printed '{line.Trim()}'");
        return (double.Parse(p[0], CultureInfo.InvariantCulture), double.Parse(p[1], CultureInfo.InvariantCulture), p[2]);
    }

    private static ChildRun RunChild(string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(typeof(SliceExchangeBench).Assembly.Location);
        psi.ArgumentList.Add("cluster-ceiling-child");
        foreach (var a in args) psi.ArgumentList.Add(a);
        return new ChildRun(Process.Start(psi)!);
    }

    private sealed class ChildRun(Process p)
    {
        private readonly Task<string> _out = p.StandardOutput.ReadToEndAsync();

        public string WaitOutput()
        {
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"cluster --ceiling child exited with {p.ExitCode}");
            return _out.Result;
        }
    }
}

/// <summary>The reference model's two shard lanes of the weak-scaling config (batch 256 in 2 shards of 128) with the
/// parameter vector in two contiguous slices, run one of three ways (see <see cref="SliceExchangeBench"/>).</summary>
internal sealed class SliceLanes
{
    private readonly Dataset _train = Mnist.LoadBundled().Item1;
    private readonly ModelPlan _plan = new(784,
        [PlanLayer.NewDense(784, 512, true, Activation.Relu), PlanLayer.NewDense(512, 10, true, Activation.Softmax)],
        Loss.SparseCategoricalCrossentropy);
    private readonly float[][] _w;
    private readonly Optimizer _opt = new RMSprop(learningRate: 1e-3);
    private readonly int[] _order;
    private readonly List<(int T, int O, int C)>[] _slices;

    public SliceLanes()
    {
        _w = _plan.WeightShapes.Select((s, k) => s.Length == 1 ? new float[s[0]] : Initializer.GlorotUniform.Create(s, 42 + k)).ToArray();
        _opt.EnsureSlots(_w.Select(a => a.Length).ToArray());
        _order = Batching.permutation(1, 0, _train.Count, true);
        _slices = [Slice(0), Slice(1)];
    }

    /// <summary>Slice k of 2: flat positions [k·P/2, (k+1)·P/2) as (tensor, offset, count) segments.</summary>
    private List<(int T, int O, int C)> Slice(int k)
    {
        long total = _w.Sum(a => (long)a.Length), a = k * total / 2, b = (k + 1) * total / 2, pos = 0;
        var list = new List<(int, int, int)>();
        for (int t = 0; t < _w.Length; t++)
        {
            long s = Math.Max(a, pos), e = Math.Min(b, pos + _w[t].Length);
            if (e > s) list.Add((t, (int)(s - pos), (int)(e - s)));
            pos += _w[t].Length;
        }
        return list;
    }

    private float[][] NewGrads() => _w.Select(a => new float[a.Length]).ToArray();

    private sealed class Lane(SliceLanes o)
    {
        public readonly GradientEngine Engine = new(o._plan, 128) { MaxDegreeOfParallelism = 1 };
        public readonly float[] X = new float[128 * 784];
        public readonly int[] Y = new int[128];
    }

    /// <summary>Shard `shard` of step `step` (rows from a fixed permutation) into `g`.</summary>
    private void Shard(Lane lane, int step, int shard, float[][] g)
    {
        int start = (int)((step * 256L + shard * 128) % (_train.Count - 256));
        Batching.gather(_train.Images, 784, _order, start, 128, lane.X);
        Batching.gatherLabels(_train.Labels, _order, start, 128, lane.Y);
        lane.Engine.ComputeGradients(_w, lane.X, lane.Y, ReadOnlySpan<float>.Empty, 128, 256, 1, g);
    }

    /// <summary>Slice k: g0 += g1 (shard order), then RMSprop with the sum.</summary>
    private void FoldUpdate(int k, float[][] g0, float[][] g1, int step)
    {
        foreach (var (t, o, c) in _slices[k]) GradientFold.Add(g0[t].AsSpan(o, c), g1[t].AsSpan(o, c));
        foreach (var (t, o, c) in _slices[k]) _opt.UpdateRange(t, _w[t], g0[t], o, c, 1e-3f, step + 1);
    }

    public (double Rate, double CpuMs) One(int steps)
    {
        float[][] g0 = NewGrads(), g1 = NewGrads();
        var lane = new Lane(this);
        return Timed(steps, step =>
        {
            Shard(lane, step, 0, g0);
            Shard(lane, step, 1, g1);
            FoldUpdate(0, g0, g1, step);
            FoldUpdate(1, g0, g1, step);
        });
    }

    public (double Rate, double CpuMs) Two(int steps)
    {
        float[][][] g = [NewGrads(), NewGrads()];
        int arrived = 0;
        var helper = new Thread(() => LaneLoop(1, steps, g, ref arrived)) { IsBackground = true };
        helper.Start();
        int gen = 0;
        var lane = new Lane(this);
        var result = Timed(steps, step =>
        {
            Shard(lane, step, 0, g[0]);
            Barrier(ref arrived, ref gen);
            FoldUpdate(0, g[0], g[1], step);
            Barrier(ref arrived, ref gen);
        });
        helper.Join();
        return result;
    }

    private void LaneLoop(int me, int steps, float[][][] g, ref int arrived)
    {
        var lane = new Lane(this);
        int gen = 0;
        for (int step = 0; step < steps; step++)
        {
            Shard(lane, step, me, g[me]);
            Barrier(ref arrived, ref gen);
            FoldUpdate(me, g[0], g[1], step);
            Barrier(ref arrived, ref gen);
        }
    }

    /// <summary>Two-party spin barrier: each pass adds 1 per party; a party waits until both of this pass arrived.</summary>
    private static void Barrier(ref int arrived, ref int gen)
    {
        gen += 2;
        if (Interlocked.Increment(ref arrived) >= gen) return;
        var spin = new SpinWait();
        while (Volatile.Read(ref arrived) < gen) spin.SpinOnce(-1);
    }

    public (double Rate, double CpuMs) Node(int steps, int me, int port, bool unix)
    {
        using var conn = Connect(me, port, unix);
        if (conn.IsUnixSocket != unix) throw new InvalidOperationException($"node {me}: expected a {(unix ? "Unix domain socket" : "TCP")} connection");
        int other = 1 - me;
        float[][][] g = [NewGrads(), NewGrads()];      // g[me]: this node's shard; g[other]: the peer's half for this slice
        var lane = new Lane(this);
        var gradOut = _slices[other].Select(s => Section.Of(g[me][s.T].AsMemory(s.O, s.C))).ToArray();
        var weightsOut = _slices[me].Select(s => Section.Of(_w[s.T].AsMemory(s.O, s.C))).ToArray();
        return Timed(steps, step =>
        {
            Shard(lane, step, me, g[me]);
            conn.Send(1, step, 0, 0, 0, gradOut);
            Receive(conn, _slices[me], g[other]);
            FoldUpdate(me, g[0], g[1], step);
            conn.Send(2, step, 0, 0, 0, weightsOut);
            Receive(conn, _slices[other], _w);
        });
    }

    private static TensorConnection Connect(int me, int port, bool unix)
    {
        var options = new DataPlaneOptions { UnixSockets = unix };
        if (me == 0)
        {
            using var listener = TensorListener.Start(IPAddress.Loopback, port, options);
            return listener.Accept(CancellationToken.None);
        }
        for (int attempt = 0; ; attempt++)
            try { return TensorConnection.Connect("127.0.0.1", port, options); }
            catch (Exception) when (attempt < 200) { Thread.Sleep(50); }
    }

    private static void Receive(TensorConnection conn, List<(int T, int O, int C)> slice, float[][] into)
    {
        var h = conn.ReceiveHeader();
        if (h.SectionCount != slice.Count) throw new InvalidDataException($"expected {slice.Count} sections, got {h.SectionCount}");
        foreach (var (t, o, c) in slice) conn.ReceiveSection(into[t].AsSpan(o, c));
    }

    /// <summary>Runs `step` for 0..steps-1; steps/s and CPU ms per step (this process) after the warm-up.</summary>
    private static (double Rate, double CpuMs) Timed(int steps, Action<int> step)
    {
        var sw = new Stopwatch();
        TimeSpan cpu0 = default;
        for (int s = 0; s < steps; s++)
        {
            if (s == SliceExchangeBench.Warm) { cpu0 = Process.GetCurrentProcess().TotalProcessorTime; sw.Start(); }
            step(s);
        }
        double secs = sw.Elapsed.TotalSeconds, cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
        return ((steps - SliceExchangeBench.Warm) / secs, cpu / (steps - SliceExchangeBench.Warm));
    }

    /// <summary>A digest of the weights' bits (equal across the three ways when the arithmetic is the same).</summary>
    public string WeightsHash()
    {
        ulong h = 14695981039346656037UL;
        foreach (var a in _w)
            foreach (var v in a) h = (h ^ (uint)BitConverter.SingleToInt32Bits(v)) * 1099511628211UL;
        return h.ToString("x16", CultureInfo.InvariantCulture);
    }
}
