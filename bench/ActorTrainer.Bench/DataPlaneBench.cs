using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Bench;

/// <summary>
/// `dataplane`: throughput of the data plane between processes on loopback TCP (with `--unix`: through the listener's
/// Unix domain socket, as nodes on one host connect). This process listens and starts N
/// copies of itself (`dataplane-peer`) that connect. Per step and peer it sends a weights frame (the reference model's
/// 784×512, 512, 512×10, 10 floats = 407,050 floats, plus a batch of 128×784 float rows and 128 int labels) and waits
/// for a gradient frame of the four weight shapes. Reports steps/s, MB/s down/up/total (MB = 10^6 bytes), median and
/// p99 round-trip time; plain and TLS, 1 and 2 peers, round-robin over --rounds, with medians.
/// Usage: dataplane [--steps 300] [--warmup 20] [--rounds 3] [--tls | --plain] [--workers 1|2] [--socket-buffer BYTES] [--unix]
/// </summary>
public static class DataPlaneBench
{
    private static readonly int[] WeightShapes = [784 * 512, 512, 512 * 10, 10];
    private const int RowFloats = 128 * 784;
    private const int LabelCount = 128;
    private const byte KindWeights = 1;
    private const byte KindGradients = 2;
    private const byte KindPeerCpu = 3;
    private const double TargetMBps = 500;
    private const long WeightBytes = 407_050L * 4;
    private const long DownBytes = WeightBytes + RowFloats * 4L + LabelCount * 4L;
    private const long UpBytes = WeightBytes;

    private static string? s_tlsReported;

    private sealed record Config(bool Tls, int Workers)
    {
        public override string ToString() => $"{(Tls ? "TLS  " : "plain")} × {Workers}";
    }

    /// <summary>CpuMsPerStep: CPU time of the parent and all peers over the measured steps, per step and peer;
    /// MBPerCpuSecond: bytes moved per CPU-second (load-independent: what the channel costs, not what the shared
    /// machine happened to grant).</summary>
    private sealed record Result(double StepsPerSecond, double DownMBps, double UpMBps, double TotalMBps, double RttP50Ms, double RttP99Ms,
        double CpuMsPerStep, double MBPerCpuSecond);

    public static int Run(string[] args)
    {
        string Opt(string name, string dflt) { var i = Array.IndexOf(args, "--" + name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt; }
        var steps = int.Parse(Opt("steps", "300"), CultureInfo.InvariantCulture);
        var warmup = int.Parse(Opt("warmup", "20"), CultureInfo.InvariantCulture);
        var rounds = int.Parse(Opt("rounds", "3"), CultureInfo.InvariantCulture);
        var socketBuffer = int.Parse(Opt("socket-buffer", (4 << 20).ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        bool[] tlsModes = args.Contains("--tls") ? [true] : args.Contains("--plain") ? [false] : [false, true];
        int[] workerCounts = args.Contains("--workers") ? [int.Parse(Opt("workers", "1"), CultureInfo.InvariantCulture)] : [1, 2];
        var configs = tlsModes.SelectMany(t => workerCounts.Select(w => new Config(t, w))).ToArray();

        Console.WriteLine($"cpu: {CpuModel()}, {Environment.ProcessorCount} cores; load before: {LoadAvg()}");
        s_unix = args.Contains("--unix");
        Console.WriteLine($"transport: {(s_unix ? "Unix domain socket" : "loopback TCP")}");
        Console.WriteLine($"per step and peer: down {DownBytes:N0} B (weights {WeightBytes:N0} + rows + labels), up {UpBytes:N0} B; steps {steps} (+{warmup} warm-up), rounds {rounds}, socket buffer {socketBuffer:N0} B");
        using var pki = tlsModes.Contains(true) ? BenchPki.Create() : null;
        var results = configs.ToDictionary(c => c, _ => new List<Result>());
        for (var r = 0; r < rounds; r++)
            foreach (var config in r % 2 == 0 ? configs : configs.Reverse())
            {
                var load = LoadAvg();
                var result = RunConfig(config, steps, warmup, socketBuffer, pki);
                results[config].Add(result);
                Console.WriteLine($"round {r + 1} {config}: {Format(result)}   (load {load})");
            }
        PrintSummary(results);
        return 0;
    }

    private static void PrintSummary(Dictionary<Config, List<Result>> results)
    {
        Console.WriteLine();
        Console.WriteLine("| config | steps/s | down MB/s | up MB/s | total MB/s | RTT p50 ms | RTT p99 ms | total vs 500 MB/s | CPU ms/step | MB per CPU-s |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var (config, list) in results)
        {
            double M(Func<Result, double> f) => ServiceBench.Median(list.Select(f).ToList());
            var total = M(x => x.TotalMBps);
            Console.WriteLine($"| {config} | {M(x => x.StepsPerSecond):F1} | {M(x => x.DownMBps):F0} | {M(x => x.UpMBps):F0} | {total:F0} | {M(x => x.RttP50Ms):F2} | {M(x => x.RttP99Ms):F2} | {total / TargetMBps:F2}× {(total >= TargetMBps ? "(meets)" : "(below)")} | {M(x => x.CpuMsPerStep):F2} | {M(x => x.MBPerCpuSecond):F0} |");
        }
        Console.WriteLine("Medians over rounds. The 500 MB/s target is compared with total MB/s = (down + up bytes) / wall time, all peers together.");
    }

    private static string Format(Result r) =>
        $"{r.StepsPerSecond,7:F1} steps/s  down {r.DownMBps,6:F0} MB/s  up {r.UpMBps,6:F0} MB/s  total {r.TotalMBps,6:F0} MB/s  RTT p50 {r.RttP50Ms:F2} ms p99 {r.RttP99Ms:F2} ms  CPU {r.CpuMsPerStep:F2} ms/step ({r.MBPerCpuSecond:F0} MB/CPU-s)";

    /// <summary>One measurement: listen, start the peers, run warm-up + measured steps on one thread per peer.</summary>
    private static Result RunConfig(Config config, int steps, int warmup, int socketBuffer, BenchPki? pki)
    {
        var options = new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(60), Tls: config.Tls ? pki!.Server : null) { SocketBufferBytes = socketBuffer, UnixSockets = s_unix };
        using var listener = TensorListener.Start(IPAddress.Loopback, 0, options);
        listener.OnRejected = m => Console.Error.WriteLine(m);
        var peers = Enumerable.Range(0, config.Workers)
            .Select(_ => StartPeer(listener.Endpoint.Port, steps, warmup, socketBuffer, config.Tls ? pki : null)).ToList();
        var connections = new List<TensorConnection>();
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            for (var i = 0; i < config.Workers; i++) connections.Add(listener.Accept(cts.Token));
            if (config.Tls && s_tlsReported is null) Console.WriteLine($"TLS negotiated: {s_tlsReported = connections[0].TlsDescription}");
            var runs = new (double[] Rtt, TimeSpan PeerCpu)[config.Workers];
            using var start = new Barrier(config.Workers + 1);
            var threads = connections.Select((c, i) => new Thread(() => runs[i] = Drive(c, steps, warmup, start)) { IsBackground = true }).ToList();
            threads.ForEach(t => t.Start());
            start.SignalAndWait();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            threads.ForEach(t => t.Join());
            var seconds = wall.Elapsed.TotalSeconds;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0 + runs.Aggregate(TimeSpan.Zero, (sum, r) => sum + r.PeerCpu);
            var all = runs.SelectMany(x => x.Rtt).OrderBy(x => x).ToArray();
            long totalSteps = (long)steps * config.Workers;
            var totalBytes = totalSteps * (DownBytes + UpBytes);
            return new Result(totalSteps / seconds, totalSteps * DownBytes / seconds / 1e6, totalSteps * UpBytes / seconds / 1e6,
                totalBytes / seconds / 1e6, Percentile(all, 50), Percentile(all, 99), cpu.TotalMilliseconds / totalSteps, totalBytes / cpu.TotalSeconds / 1e6);
        }
        finally
        {
            connections.ForEach(c => c.Dispose());
            foreach (var p in peers)
            {
                if (!p.WaitForExit(30_000)) p.Kill(entireProcessTree: true);
                p.Dispose();
            }
        }
    }

    /// <summary>The parent's side for one peer: warm-up steps, the start barrier, then measured steps; returns the
    /// round-trip times (ms) of the measured steps and the CPU time the peer reports for them.</summary>
    private static (double[] Rtt, TimeSpan PeerCpu) Drive(TensorConnection connection, int steps, int warmup, Barrier start)
    {
        var weights = WeightShapes.Select(n => Filled(n, 0.01f)).ToArray();
        var rows = Filled(RowFloats, 0.5f);
        var labels = new int[LabelCount];
        var grads = WeightShapes.Select(n => new float[n]).ToArray();
        var rtt = new double[steps];
        var sw = new Stopwatch();
        for (var step = 0; step < warmup + steps; step++)
        {
            if (step == warmup) start.SignalAndWait();
            sw.Restart();
            connection.Send(KindWeights, step, 0, 0, 0, Section.Of(weights[0]), Section.Of(weights[1]), Section.Of(weights[2]),
                Section.Of(weights[3]), Section.Of(rows), Section.Of(labels));
            var header = connection.ReceiveHeader();
            if (header.Kind != KindGradients || header.A != step || header.SectionCount != 4)
                throw new InvalidOperationException($"unexpected frame kind {header.Kind} step {header.A} with {header.SectionCount} sections");
            foreach (var g in grads) connection.ReceiveSection(g);
            if (step >= warmup) rtt[step - warmup] = sw.Elapsed.TotalMilliseconds;
        }
        if (warmup == 0) start.SignalAndWait();
        var report = connection.ReceiveHeader();
        if (report.Kind != KindPeerCpu) throw new InvalidOperationException($"expected the peer's CPU report, got kind {report.Kind}");
        return (rtt, TimeSpan.FromTicks(report.A));
    }

    /// <summary>Hidden verb `dataplane-peer`: connects, answers every weights frame with a gradient frame.</summary>
    public static int Peer(string[] args)
    {
        string Opt(string name) { var i = Array.IndexOf(args, "--" + name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : ""; }
        var port = int.Parse(Opt("port"), CultureInfo.InvariantCulture);
        var steps = int.Parse(Opt("steps"), CultureInfo.InvariantCulture);
        var warmup = int.Parse(Opt("warmup"), CultureInfo.InvariantCulture);
        var tls = Opt("cert") is { Length: > 0 } cert ? new DataPlaneTls(cert, Opt("password"), Opt("ca")) : null;
        var options = new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(60), Tls: tls)
            { SocketBufferBytes = int.Parse(Opt("socket-buffer"), CultureInfo.InvariantCulture), UnixSockets = Opt("unix") == "1" };
        using var connection = TensorConnection.Connect("127.0.0.1", port, options);
        if (connection.IsUnixSocket != options.UnixSockets) throw new InvalidOperationException($"expected a {(options.UnixSockets ? "Unix domain socket" : "TCP")} connection");
        var weights = WeightShapes.Select(n => new float[n]).ToArray();
        var rows = new float[RowFloats];
        var labels = new int[LabelCount];
        var grads = WeightShapes.Select(n => Filled(n, -0.01f)).ToArray();
        var cpu0 = TimeSpan.Zero;
        for (var step = 0; step < warmup + steps; step++)
        {
            if (step == warmup) cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var header = connection.ReceiveHeader();
            if (header.Kind != KindWeights || header.SectionCount != 6)
                throw new InvalidOperationException($"peer: unexpected frame kind {header.Kind} with {header.SectionCount} sections");
            foreach (var w in weights) connection.ReceiveSection(w);
            connection.ReceiveSection(rows);
            connection.ReceiveSection(labels);
            connection.Send(KindGradients, header.A, 0, 0, 0, Section.Of(grads[0]), Section.Of(grads[1]), Section.Of(grads[2]), Section.Of(grads[3]));
        }
        connection.Send(KindPeerCpu, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).Ticks, 0, 0, 0);
        return 0;
    }

    /// <summary>Set by --unix: the peers connect through the listener's Unix domain socket.</summary>
    private static bool s_unix;

    /// <summary>Starts this program as `dataplane-peer` (through the dotnet host when that is what runs us).</summary>
    private static Process StartPeer(int port, int steps, int warmup, int socketBuffer, BenchPki? pki)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var psi = new ProcessStartInfo(self) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(typeof(DataPlaneBench).Assembly.Location);
        string[] rest = ["dataplane-peer", "--port", port.ToString(CultureInfo.InvariantCulture), "--steps", steps.ToString(CultureInfo.InvariantCulture), "--warmup", warmup.ToString(CultureInfo.InvariantCulture),
            "--socket-buffer", socketBuffer.ToString(CultureInfo.InvariantCulture), "--unix", s_unix ? "1" : "0"];
        foreach (var a in rest) psi.ArgumentList.Add(a);
        if (pki is not null)
            foreach (var a in new[] { "--cert", pki.Client.CertificatePath, "--password", pki.Client.Password!, "--ca", pki.Client.TrustedCaPath })
                psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new InvalidOperationException("cannot start the data plane peer");
    }

    private static float[] Filled(int n, float v)
    {
        var a = new float[n];
        Array.Fill(a, v);
        return a;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];

    private static string LoadAvg() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";

    private static string CpuModel() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
            : "?";

    /// <summary>A throw-away CA and two leaves it issues (ECDSA P-256), as files in a temporary directory.</summary>
    private sealed class BenchPki : IDisposable
    {
        private const string Password = "dataplane-bench";
        private readonly string _dir;

        private BenchPki(string dir, DataPlaneTls server, DataPlaneTls client) { _dir = dir; Server = server; Client = client; }

        public DataPlaneTls Server { get; }
        public DataPlaneTls Client { get; }

        public static BenchPki Create()
        {
            var dir = Directory.CreateTempSubdirectory("actortrainer-dataplane-bench-").FullName;
            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var caRequest = new CertificateRequest("CN=dataplane-bench-ca", caKey, HashAlgorithmName.SHA256);
            caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
            using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
            var caPem = Path.Combine(dir, "ca.pem");
            File.WriteAllText(caPem, ca.ExportCertificatePem());
            return new BenchPki(dir, new DataPlaneTls(Leaf(dir, "server", ca), Password, caPem), new DataPlaneTls(Leaf(dir, "client", ca), Password, caPem));
        }

        private static string Leaf(string dir, string name, X509Certificate2 ca)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN=dataplane-bench-{name}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            using var cert = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8))
                .CopyWithPrivateKey(key);
            var path = Path.Combine(dir, name + ".pfx");
            File.WriteAllBytes(path, cert.Export(X509ContentType.Pfx, Password));
            return path;
        }

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); }
            catch (IOException) { }
        }
    }
}
