using Xunit;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ActorTrainer.Interop;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Exit code and captured output of one CLI child process (ProcessId: the child's, e.g. to look for files it
/// names after itself).</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr, string[] Args, int ProcessId = 0)
{
    /// <summary>Non-empty stdout lines, trailing whitespace removed.</summary>
    public string[] StdoutLines => Stdout.Split('\n').Select(l => l.TrimEnd('\r', ' ')).Where(l => l.Length > 0).ToArray();

    /// <summary>Everything, for assertion messages.</summary>
    public string Describe() =>
        $"dotnet ActorTrainer.Daemon.dll {string.Join(' ', Args)}\nexit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs the daemon CLI as a child process (<c>dotnet ActorTrainer.Daemon.dll ...</c>) in the repository root.</summary>
public static class Cli
{
    /// <summary>Repository root: the nearest ancestor of the test assembly holding ActorTrainer.sln.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Path of the built ActorTrainer.Daemon.dll (the project's bin folder of this configuration, else beside the tests).</summary>
    public static string DaemonDll { get; } = FindDaemonDll();

    /// <summary>The tiny-training overrides every test run uses unless it needs more data.</summary>
    public static readonly string[] Tiny =
    [
        "--set", "data.train-limit=1000", "--set", "data.test-limit=500", "--set", "trainer.epochs=1",
        "--set", "trainer.runtime=in-process",
    ];

    private static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ActorTrainer.sln"))) return d.FullName;
        throw new InvalidOperationException($"no ActorTrainer.sln above the test assembly folder '{AppContext.BaseDirectory}'");
    }

    private static string FindDaemonDll()
    {
        var baseDir = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        var tfm = Path.GetFileName(baseDir);
        var configuration = Path.GetFileName(Path.GetDirectoryName(baseDir)!);
        var inProject = Path.Combine(RepoRoot, "src", "ActorTrainer.Daemon", "bin", configuration, tfm, "ActorTrainer.Daemon.dll");
        if (File.Exists(inProject)) return inProject;
        var beside = Path.Combine(baseDir, "ActorTrainer.Daemon.dll");
        if (File.Exists(beside) && File.Exists(Path.Combine(baseDir, "ActorTrainer.Daemon.runtimeconfig.json"))) return beside;
        throw new FileNotFoundException($"ActorTrainer.Daemon.dll is neither at '{inProject}' nor beside the tests in '{baseDir}'; build src/ActorTrainer.Daemon first", inProject);
    }

    /// <summary>Starts the CLI with <paramref name="args"/> (and extra environment variables); the caller reads or kills the process.</summary>
    public static Process Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add(DaemonDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        return Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet");
    }

    /// <summary>The watchdog's default limit for one CLI process.</summary>
    public const int DefaultTimeoutSeconds = 120;

    /// <summary>Most characters of stdout or stderr kept per process (the rest is read and dropped), so a runaway
    /// child cannot exhaust the test host's memory.</summary>
    public const int MaxCapturedChars = 1 << 20;

    /// <summary>Runs the CLI to completion under a watchdog: a child still running after
    /// <paramref name="timeoutSeconds"/> is killed (with its process tree) and the test FAILS, so a hang can never
    /// stall the suite. Output beyond <see cref="MaxCapturedChars"/> per stream is dropped.</summary>
    public static CliResult Run(IEnumerable<string> args, int timeoutSeconds = DefaultTimeoutSeconds,
                                IReadOnlyDictionary<string, string>? env = null)
    {
        var list = args.ToArray();
        using var p = Start(list, env);
        p.StandardInput.Close();
        var stdout = Capture(p.StandardOutput);
        var stderr = Capture(p.StandardError);
        if (!p.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            Assert.Fail($"watchdog: the CLI did not finish within {timeoutSeconds} s and was killed: {string.Join(' ', list)}\n" +
                        $"--- stdout ---\n{Tail(stdout.Result)}\n--- stderr ---\n{Tail(stderr.Result)}");
        }
        p.WaitForExit();
        return new CliResult(p.ExitCode, stdout.Result, stderr.Result, list, p.Id);
    }

    private static string Tail(string s) => s.Length > 4000 ? "..." + s[^4000..] : s;

    private static async Task<string> Capture(StreamReader reader)
    {
        var sb = new StringBuilder();
        var buf = new char[8192];
        int n;
        while ((n = await reader.ReadAsync(buf, 0, buf.Length).ConfigureAwait(false)) > 0)
            if (sb.Length < MaxCapturedChars) sb.Append(buf, 0, Math.Min(n, MaxCapturedChars - sb.Length));
        return sb.ToString();
    }

    /// <summary>Waits (up to 120 s) until the `train` process `p` has written its first checkpoint into runDir, and
    /// asserts that it is still running then.</summary>
    public static void WaitForFirstCheckpoint(Process p, string runDir)
    {
        var until = DateTime.UtcNow.AddSeconds(120);
        var checkpoints = Path.Combine(runDir, "checkpoints");
        while (DateTime.UtcNow < until && !p.HasExited && !(Directory.Exists(checkpoints) && Directory.EnumerateFiles(checkpoints, "*.bin").Any()))
            Thread.Sleep(20);
        Assert.False(p.HasExited, "the run went on until its first checkpoint");
    }

    /// <summary>Sends a POSIX signal (TERM, INT, KILL) to a process.</summary>
    public static void Signal(Process p, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, p.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Creates a named pipe (FIFO): opening it for reading blocks until a writer appears.</summary>
    public static void MakeFifo(string path)
    {
        using var mk = Process.Start("mkfifo", [path]);
        mk.WaitForExit();
        Assert.True(mk.ExitCode == 0, $"mkfifo {path} failed");
    }

    /// <summary>Runs <c>train --run-dir DIR</c> with the tiny overrides plus <paramref name="extra"/>; asserts exit code 0.</summary>
    public static CliResult Train(string runDir, params string[] extra)
    {
        var r = Run(["train", "--run-dir", runDir, .. Tiny, .. extra]);
        Assert.True(r.ExitCode == 0, r.Describe());
        return r;
    }

    /// <summary>Asserts exit code 2 and that stderr contains every fragment (case-insensitive); returns stderr.</summary>
    public static string AssertBadInput(CliResult r, params string[] fragments)
    {
        Assert.True(r.ExitCode == 2, "expected exit code 2\n" + r.Describe());
        foreach (var f in fragments)
            Assert.True(r.Stderr.Contains(f, StringComparison.OrdinalIgnoreCase), $"stderr does not mention '{f}'\n" + r.Describe());
        Assert.DoesNotContain("Unhandled exception", r.Stderr);
        return r.Stderr;
    }
}

/// <summary>A fresh temporary directory, deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    /// <summary>Creates actortrainer-clitests-&lt;guid&gt; under the system temp folder.</summary>
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "actortrainer-clitests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    /// <summary>Absolute path.</summary>
    public string Path { get; }

    /// <summary>A path inside the directory.</summary>
    public string this[string name] => System.IO.Path.Combine(Path, name);

    /// <summary>Deletes the directory tree.</summary>
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Readers of the files a run leaves in its directory.</summary>
public static class RunDir
{
    /// <summary>summary.json as a JSON element.</summary>
    public static JsonElement Summary(string runDir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "summary.json")));
        return doc.RootElement.Clone();
    }

    /// <summary>history.csv: header columns and rows of invariant-culture doubles.</summary>
    public static (string[] Header, double[][] Rows) History(string runDir)
    {
        var lines = File.ReadAllLines(Path.Combine(runDir, "history.csv")).Where(l => l.Length > 0).ToArray();
        var header = lines[0].Split(',');
        var rows = lines.Skip(1).Select(l => l.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
        return (header, rows);
    }

    /// <summary>SHA-256 (lower-case hex) of the float32 weights of model.safetensors, in the order given, little-endian.</summary>
    public static string WeightsSha256(string safetensorsPath, IReadOnlyList<string> order)
    {
        var (tensors, _) = Safetensors.Read(safetensorsPath);
        var byName = tensors.ToDictionary(t => t.Name);
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var name in order)
        {
            var t = byName[name];
            var bytes = new byte[t.Data.Length * 4];
            for (var i = 0; i < t.Data.Length; i++)
                System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), t.Data[i]);
            h.AppendData(bytes);
        }
        return Convert.ToHexString(h.GetHashAndReset()).ToLowerInvariant();
    }

    /// <summary>The one TensorBoard event file in a folder.</summary>
    public static string EventFile(string dir)
    {
        var files = Directory.GetFiles(dir, "events.out.tfevents.*");
        Assert.True(files.Length == 1, $"expected one event file in '{dir}', found {files.Length}");
        return files[0];
    }

    /// <summary>True when the file starts with the 8-byte PNG signature.</summary>
    public static bool IsPng(byte[] bytes) =>
        bytes.Length > 8 && bytes.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A });

    /// <summary>Width and height from a PNG's IHDR chunk.</summary>
    public static (int Width, int Height) PngSize(byte[] png) =>
        (System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));

    /// <summary>The Keras progress line printed per epoch when stdout is redirected.</summary>
    public static readonly Regex ProgressLine = new(
        @"^\d+/\d+ \[=+\] - \d+s \d+(ms|us|s)/step - loss: \d+\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d+\.\d{4} - val_accuracy: \d\.\d{4}$",
        RegexOptions.CultureInvariant);

    /// <summary>The final "test_loss: X - test_accuracy: Y" line.</summary>
    public static readonly Regex TestLine = new(@"^test_loss: (\d+\.\d{4}) - test_accuracy: (\d\.\d{4})$", RegexOptions.CultureInvariant);
}

/// <summary>Writes MNIST-format directories (the four standard raw IDX files) from the bundled data set.</summary>
public static class MnistDir
{
    /// <summary>Writes the first <paramref name="train"/> training and <paramref name="test"/> test samples (of those whose
    /// label <paramref name="keep"/> accepts, default all) into <paramref name="dir"/>; returns its full path.</summary>
    public static string Write(string dir, int train, int test, Func<int, bool>? keep = null)
    {
        var full = Directory.CreateDirectory(dir).FullName;
        var (trainSet, testSet) = ActorTrainer.Core.Data.Mnist.LoadBundled();
        void One(string prefix, ActorTrainer.Core.Data.Dataset d, int n)
        {
            var pixels = d.Height * d.Width;
            var rows = Enumerable.Range(0, d.Count).Where(i => keep is null || keep(d.Labels[i])).Take(n).ToArray();
            ActorTrainer.Core.Data.Idx.Write(Path.Combine(full, prefix + "-images-idx3-ubyte"),
                new ActorTrainer.Core.Data.IdxArray([rows.Length, d.Height, d.Width], rows.SelectMany(i => d.Pixels[(i * pixels)..((i + 1) * pixels)]).ToArray()));
            ActorTrainer.Core.Data.Idx.Write(Path.Combine(full, prefix + "-labels-idx1-ubyte"),
                new ActorTrainer.Core.Data.IdxArray([rows.Length], rows.Select(i => (byte)d.Labels[i]).ToArray()));
        }
        One("train", trainSet, train);
        One("t10k", testSet, test);
        return full;
    }
}
