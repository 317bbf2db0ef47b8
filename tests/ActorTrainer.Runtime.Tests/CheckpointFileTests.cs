using System.Security.Cryptography;
using System.Text;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Building blocks for checkpoint file tests: a small consistent state, and files rebuilt around a payload
/// with a valid SHA-256 (so the decoder and validation are reached, not just the checksum).</summary>
internal static class CheckpointFiles
{
    public static CheckpointState Small(int epoch = 1, long global = 10, int weightLen = 6) =>
        new(Seed: 3, Epoch: epoch, StepInEpoch: 2, GlobalStep: global, EpochLossSum: 0.75, EpochCorrect: 5, EpochCount: 8,
            Weights: new[] { Enumerable.Range(0, weightLen).Select(i => i * 0.25f).ToArray(), new[] { 1f, 2f } },
            OptimizerName: "RMSprop", OptimizerIterations: global,
            OptimizerSlots: new[] { new[] { new float[weightLen] }, new[] { new float[2] } },
            History: Enumerable.Range(1, epoch).Select(e => new EpochLogs(e, 0.5, 0.8, 0.4, null, 1.5, null)).ToArray(),
            ConfigText: "trainer { epochs = 3 }", StaleGradientsRejected: 0, Mode: "sync");

    /// <summary>The payload bytes of a checkpoint file (between the 16-byte head and the 32-byte hash).</summary>
    public static byte[] Payload(byte[] file) => file.AsSpan(16, file.Length - 48).ToArray();

    /// <summary>A checkpoint file around `payload`: magic, length, payload, SHA-256 of the payload.</summary>
    public static byte[] Wrap(byte[] payload)
    {
        var ms = new MemoryStream();
        ms.Write("ATCKPT01"u8);
        ms.Write(BitConverter.GetBytes((long)payload.Length));
        ms.Write(payload);
        ms.Write(SHA256.HashData(payload));
        return ms.ToArray();
    }

    /// <summary>The payload exactly as the pre-streaming writer produced it (one BinaryWriter over a MemoryStream), in
    /// format version 1 (no epoch logs), or in version 2 (each history epoch's logs after its fields).</summary>
    public static byte[] LegacyPayload(CheckpointState s, int version = 1)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8))
        {
            w.Write(version);
            w.Write(s.Seed); w.Write(s.Epoch); w.Write(s.StepInEpoch); w.Write(s.GlobalStep);
            w.Write(s.EpochLossSum); w.Write(s.EpochCorrect); w.Write(s.EpochCount);
            WriteJagged(w, s.Weights);
            w.Write(s.OptimizerName); w.Write(s.OptimizerIterations);
            w.Write(s.OptimizerSlots.Length);
            foreach (var slot in s.OptimizerSlots) WriteJagged(w, slot);
            w.Write(s.History.Count);
            foreach (var h in s.History)
            {
                w.Write(h.Epoch); w.Write(h.Loss); w.Write(h.Accuracy);
                w.Write(h.ValLoss.HasValue); w.Write(h.ValLoss ?? 0); w.Write(h.ValAccuracy.HasValue); w.Write(h.ValAccuracy ?? 0);
                w.Write(h.Seconds);
                if (version < 2) continue;
                w.Write(h.Logs?.Count ?? -1);
                foreach (var kv in h.Logs ?? new Dictionary<string, double>()) { w.Write(kv.Key); w.Write(kv.Value); }
            }
            w.Write(s.ConfigText); w.Write(s.StaleGradientsRejected); w.Write(s.Mode);
        }
        return ms.ToArray();
    }

    private static void WriteJagged(BinaryWriter w, float[][] a)
    {
        w.Write(a.Length);
        foreach (var x in a)
        {
            w.Write(x.Length);
            foreach (var v in x) w.Write(v);
        }
    }
}

/// <summary>A fact that runs only with ACTORTRAINER_LARGE_TESTS=1 (it needs several GB of memory and disk).</summary>
public sealed class LargeCheckpointFactAttribute : FactAttribute
{
    public LargeCheckpointFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("ACTORTRAINER_LARGE_TESTS") != "1")
            Skip = "writes and reads a checkpoint over 2 GB; set ACTORTRAINER_LARGE_TESTS=1 to run";
    }
}

public class CheckpointFileTests
{
    [Fact]
    public void A_checkpoint_in_the_pre_streaming_format_still_loads()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var s = CheckpointFiles.Small();
            var path = CheckpointStore.PathFor(dir, s.GlobalStep);
            File.WriteAllBytes(path, CheckpointFiles.Wrap(CheckpointFiles.LegacyPayload(s)));
            var back = CheckpointStore.Load(path);
            Assert.Equal(s.Weights, back.Weights);
            Assert.Equal(s.History, back.History);
            Assert.Equal(path, back.SourcePath);
            // and the streamed writer produces the same bytes, in version 2 (each epoch's logs too)
            var saved = CheckpointStore.Save(Path.Combine(dir, "new"), s, keep: 1);
            Assert.Equal(CheckpointFiles.LegacyPayload(s, version: 2), CheckpointFiles.Payload(File.ReadAllBytes(saved)));
            var logged = s with { History = [new EpochLogs(1, 0.5, 0.8, 0.4, null, 1.5, new Dictionary<string, double> { ["loss"] = 0.5, ["learning_rate"] = 0.01 })] };
            saved = CheckpointStore.Save(Path.Combine(dir, "logged"), logged, keep: 1);
            Assert.Equal(CheckpointFiles.LegacyPayload(logged, version: 2), CheckpointFiles.Payload(File.ReadAllBytes(saved)));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Saving_streams_the_payload_instead_of_buffering_it()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var s = CheckpointFiles.Small(weightLen: 10_000_000); // 40 MB weight + 40 MB slot
            long before = GC.GetAllocatedBytesForCurrentThread();
            var path = CheckpointStore.Save(dir, s, keep: 1);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 8_000_000, $"Save allocated {allocated} bytes for an 80 MB payload");
            before = GC.GetAllocatedBytesForCurrentThread();
            var back = CheckpointStore.Load(path);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 80_000_000 + 8_000_000, $"Load allocated {allocated} bytes for an 80 MB payload");
            Assert.Equal(s.Weights[0], back.Weights[0]);
        }
        finally { Directory.Delete(dir, true); }
    }

    public static TheoryData<string, Func<CheckpointState, CheckpointState>, string> Inconsistent => new()
    {
        { "negative global step", s => s with { GlobalStep = -5 }, "global_step: -5 is negative" },
        { "negative epoch", s => s with { Epoch = -1, History = Array.Empty<EpochLogs>() }, "epoch: -1 is negative" },
        { "negative step in epoch", s => s with { StepInEpoch = -2 }, "step_in_epoch: -2 is negative" },
        { "slot shape", s => s with { OptimizerSlots = new[] { new[] { new float[5] } } }, "optimizer_slots[0][0]: 5 values but weight 0 has 6" },
        { "slot count", s => s with { OptimizerSlots = new[] { Array.Empty<float[]>(), Array.Empty<float[]>(), Array.Empty<float[]>() } }, "optimizer_slots: 3 slot lists for 2 weights" },
        { "no weights", s => s with { Weights = Array.Empty<float[]>(), OptimizerSlots = Array.Empty<float[][]>() }, "weights: the checkpoint holds no weight arrays" },
        { "history", s => s with { History = Array.Empty<EpochLogs>() }, "history: 0 epochs but the position is epoch 1" },
        { "mode", s => s with { Mode = "turbo" }, "mode: 'turbo'" },
        { "iterations", s => s with { OptimizerIterations = -1 }, "optimizer_iterations: -1 is negative" },
    };

    [Theory]
    [MemberData(nameof(Inconsistent))]
    public void A_checkpoint_with_a_valid_checksum_but_an_inconsistent_state_is_named_and_skipped(
        string what, Func<CheckpointState, CheckpointState> spoil, string expected)
    {
        var dir = Fixtures.TempDir();
        try
        {
            var good = CheckpointFiles.Small(global: 10);
            CheckpointStore.Save(dir, good, keep: 5);
            var bad = spoil(CheckpointFiles.Small(global: 20));
            var badPath = CheckpointStore.PathFor(dir, 20);
            File.WriteAllBytes(badPath, CheckpointFiles.Wrap(CheckpointFiles.LegacyPayload(bad)));

            var ex = Assert.Throws<CheckpointException>(() => CheckpointStore.Load(badPath));
            Assert.Contains(badPath, ex.Message);
            Assert.Contains(expected, ex.Message);

            var warnings = new List<string>();
            var loaded = CheckpointStore.LoadLatest(dir, warnings);
            Assert.NotNull(loaded);
            Assert.Equal(10, loaded!.GlobalStep);
            Assert.Single(warnings);
            Assert.Contains(expected, warnings[0]);
            Assert.True(what.Length > 0);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_payload_with_absurd_lengths_is_a_checkpoint_exception_without_allocating_them()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var payload = CheckpointFiles.LegacyPayload(CheckpointFiles.Small());
            BitConverter.GetBytes(int.MaxValue).CopyTo(payload, 4 + 4 * 3 + 8 + 16 + 8 + 4); // first weight's length
            var path = CheckpointStore.PathFor(dir, 10);
            File.WriteAllBytes(path, CheckpointFiles.Wrap(payload));
            long before = GC.GetAllocatedBytesForCurrentThread();
            var ex = Assert.Throws<CheckpointException>(() => CheckpointStore.Load(path));
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4_000_000);
            Assert.Contains("cannot decode payload", ex.Message);
            Assert.Contains("weights[0]: invalid length 2147483647", ex.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [LargeCheckpointFact]
    public void A_checkpoint_over_2GB_saves_and_loads()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var big = GC.AllocateUninitializedArray<float>(313_600_000); // a 784 x 400,000 Dense kernel, 1.25 GB
            big[0] = 1f; big[^1] = -3f;
            var s = CheckpointFiles.Small() with
            {
                Weights = new[] { big, new[] { 1f, 2f } },
                OptimizerSlots = new[] { new[] { big }, new[] { new float[2] } },
            };
            var path = CheckpointStore.Save(dir, s, keep: 1);
            Assert.True(new FileInfo(path).Length > 2L * 1024 * 1024 * 1024);
            s = null!; big = null!;
            GC.Collect();
            var back = CheckpointStore.Load(path);
            Assert.Equal(313_600_000, back.Weights[0].Length);
            Assert.Equal(-3f, back.Weights[0][^1]);
            Assert.Equal(1f, back.OptimizerSlots[0][0][0]);
        }
        finally { Directory.Delete(dir, true); }
    }
}
