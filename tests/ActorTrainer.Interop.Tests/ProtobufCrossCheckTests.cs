using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace ActorTrainer.Interop.Tests;

/// <summary>Locates protoc and a python3 with google.protobuf (Debian: protobuf-compiler, python3-protobuf).</summary>
public static class ProtobufTools
{
    private static readonly Lazy<(string? Protoc, string? Python)> Found = new(Probe);

    public static string? Protoc => Found.Value.Protoc;

    public static string? Python => Found.Value.Python;

    public static string? MissingReason =>
        Protoc is null ? "protoc not found (apt-get install protobuf-compiler)"
        : Python is null ? "no python3 with google.protobuf found (apt-get install python3-protobuf)"
        : null;

    private static (string?, string?) Probe()
    {
        var protoc = new[] { "/usr/bin/protoc", "/usr/local/bin/protoc" }.FirstOrDefault(File.Exists);
        string? python = null;
        foreach (var candidate in new[] { "/usr/bin/python3", "python3" })
        {
            try
            {
                var (rc, _, _) = Run(candidate, ["-c", "import google.protobuf"]);
                if (rc == 0) { python = candidate; break; }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed under this name.
            }
        }
        return (protoc, python);
    }

    public static (int ExitCode, string Stdout, string Stderr) Run(string exe, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{exe} {string.Join(' ', psi.ArgumentList)} ran longer than 60 s");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>A Fact that is skipped only when protoc / python3-protobuf are absent.</summary>
public sealed class ProtobufToolsFactAttribute : FactAttribute
{
    public ProtobufToolsFactAttribute()
    {
        if (ProtobufTools.MissingReason is { } reason) Skip = reason;
    }
}

public class ProtobufCrossCheckTests
{
    private static readonly byte[] TinyPng =
        Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==");

    [ProtobufToolsFact]
    public void EventFile_DecodesWithProtocGeneratedPythonReader()
    {
        using var dir = new TempDir();
        var pyDir = Path.Combine(AppContext.BaseDirectory, "Python");
        var gen = Path.Combine(dir.Path, "gen");
        Directory.CreateDirectory(gen);
        var (rc, _, err) = ProtobufTools.Run(ProtobufTools.Protoc!, [$"--proto_path={pyDir}", $"--python_out={gen}", Path.Combine(pyDir, "tb_event_subset.proto")]);
        Assert.True(rc == 0, $"protoc failed: {err}");

        var values = Enumerable.Range(0, 5000).Select(i => (float)(Math.Cos(i * 0.37) * Math.Exp(i % 7 - 3))).ToArray();
        string file;
        using (var w = new EventFileWriter(Path.Combine(dir.Path, "logs")))
        {
            file = w.FilePath;
            w.WriteScalar("epoch_loss", 3, 0.0731f);
            w.WriteScalar("epoch_accuracy", -1, 0.9781f);
            w.WriteHistogram("dense/kernel_0", 12, values);
            w.WriteImage("digits", 4, TinyPng, 1, 1, 4);
        }

        (rc, var stdout, err) = ProtobufTools.Run(ProtobufTools.Python!, [Path.Combine(pyDir, "read_events.py"), gen, file]);
        Assert.True(rc == 0, $"python reader failed: {err}");
        using var doc = JsonDocument.Parse(stdout);
        var items = doc.RootElement.EnumerateArray().ToArray();
        var ours = EventFileReader.Read(file);
        Assert.Equal(5, items.Length);
        Assert.Equal(ours.Count, items.Length);
        for (var i = 0; i < items.Length; i++)
        {
            Assert.Equal(ours[i].Offset, items[i].GetProperty("offset").GetInt64());
            Assert.Equal(ours[i].WallTime, items[i].GetProperty("wall_time").GetDouble());
            Assert.Equal(ours[i].Step, items[i].GetProperty("step").GetInt64());
        }

        Assert.Equal("file_version", items[0].GetProperty("kind").GetString());
        Assert.Equal("brain.Event:2", items[0].GetProperty("file_version").GetString());

        Assert.Equal("simple_value", items[1].GetProperty("kind").GetString());
        Assert.Equal("epoch_loss", items[1].GetProperty("tag").GetString());
        Assert.Equal(3, items[1].GetProperty("step").GetInt64());
        Assert.Equal(0.0731f, items[1].GetProperty("value").GetSingle());
        Assert.Equal(-1, items[2].GetProperty("step").GetInt64());
        Assert.Equal(0.9781f, items[2].GetProperty("value").GetSingle());

        var h = items[3];
        var expected = TensorBoardHistogram.Compute("dense/kernel_0", values);
        Assert.Equal("histo", h.GetProperty("kind").GetString());
        Assert.Equal("dense/kernel_0", h.GetProperty("tag").GetString());
        Assert.Equal(values.Min(), h.GetProperty("min").GetDouble());
        Assert.Equal(values.Max(), h.GetProperty("max").GetDouble());
        Assert.Equal(5000.0, h.GetProperty("num").GetDouble());
        Assert.Equal(values.Sum(v => (double)v), h.GetProperty("sum").GetDouble(), 1e-9);
        Assert.Equal(values.Sum(v => (double)v * v), h.GetProperty("sum_squares").GetDouble(), 1e-9);
        Assert.Equal(expected.BucketLimits, h.GetProperty("bucket_limit").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(expected.Buckets, h.GetProperty("bucket").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(5000.0, h.GetProperty("bucket").EnumerateArray().Sum(e => e.GetDouble()));

        var img = items[4];
        Assert.Equal("image", img.GetProperty("kind").GetString());
        Assert.Equal("digits", img.GetProperty("tag").GetString());
        Assert.Equal((1, 1, 4), (img.GetProperty("height").GetInt32(), img.GetProperty("width").GetInt32(), img.GetProperty("colorspace").GetInt32()));
        Assert.Equal(TinyPng, Convert.FromBase64String(img.GetProperty("png").GetString()!));
    }
}
