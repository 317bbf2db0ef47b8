using Akka.Actor;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Hostile frames handed to TrainingMessageSerializer.FromBinary: clear exceptions, no large allocations.</summary>
public sealed class RemotingFrameTests : IDisposable
{
    private readonly ActorSystem _system = ActorTrainingRunner.CreateSystem("frames");
    private readonly TrainingMessageSerializer _s;

    public RemotingFrameTests() =>
        _s = (TrainingMessageSerializer)_system.Serialization.FindSerializerForType(typeof(ReleaseGradients));

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));

    private static byte[] Bytes(Action<BinaryWriter> write)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms)) write(w);
        return ms.ToArray();
    }

    private T Rejects<T>(byte[] bytes, string manifest) where T : Exception
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<T>(() => _s.FromBinary(bytes, manifest));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "a hostile frame caused a large allocation");
        Assert.Contains($"'{manifest}'", ex.Message);
        return ex;
    }

    [Fact]
    public void An_unknown_manifest_is_named() => Rejects<ArgumentException>([1, 2, 3], "ZZ");

    [Fact]
    public void Truncated_bytes_are_rejected() => Rejects<InvalidDataException>([1, 2, 3], "RG");

    [Fact]
    public void Trailing_bytes_are_rejected() =>
        Rejects<InvalidDataException>(Bytes(w => { w.Write(5L); w.Write(true); w.Write((byte)9); }), "RG");

    [Fact]
    public void An_array_length_beyond_the_remaining_bytes_is_rejected_before_allocating()
    {
        // SliceWeights: slice, version, then a float array claiming 100 M elements (400 MB) with 8 bytes behind it.
        var bytes = Bytes(w => { w.Write(1); w.Write(2L); w.Write(100_000_000); w.Write(0L); });
        Assert.Contains("float array length 100000000", Rejects<InvalidDataException>(bytes, "SV").Message);
        // LoadWeights: an array list of 16 entries where only 3 bytes follow (each entry needs ≥ 4).
        Rejects<InvalidDataException>(Bytes(w => { w.Write(16); w.Write((short)0); w.Write((byte)0); }), "LW");
        // A float array whose byte count fits but element count × 4 does not.
        Rejects<InvalidDataException>(Bytes(w => { w.Write(1); w.Write(2L); w.Write(8); w.Write(0L); }), "SV");
    }

    [Fact]
    public void A_negative_length_is_rejected()
    {
        Rejects<InvalidDataException>(Bytes(w => { w.Write(1); w.Write(2L); w.Write(-7); }), "SV");
        Rejects<InvalidDataException>(Bytes(w => w.Write(int.MinValue)), "LW");
    }

    [Fact]
    public void A_broken_string_length_is_rejected()
    {
        // WorkFailed: worker, step, shard, then a 7-bit string length that never ends.
        Rejects<InvalidDataException>(Bytes(w => { w.Write(1); w.Write(2L); w.Write(3); w.Write(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }); }), "WF");
        // A string length far beyond the frame.
        Rejects<InvalidDataException>(Bytes(w => { w.Write(1); w.Write(2L); w.Write(3); w.Write(new byte[] { 0xFF, 0xFF, 0xFF, 0x7F }); }), "WF");
    }

    [Fact]
    public void Every_manifest_rejects_an_empty_frame_unless_it_carries_no_fields()
    {
        string[] empty = ["TQ", "SD", "CT", "SQ"];
        foreach (var m in new[] { "RW", "WF", "SW", "SR", "RG", "PW", "RP", "AG", "SA", "SV", "LS", "SL", "ST", "SE", "OS", "DS", "WA", "RS", "DV", "SS", "LW", "WL" })
            Rejects<InvalidDataException>([], m);
        foreach (var m in empty) Assert.IsAssignableFrom<ITrainingMessage>(_s.FromBinary([], m));
    }
}
