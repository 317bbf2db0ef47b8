using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;

namespace ActorTrainer.Runtime.Tests;

/// <summary>One edit of a checkpoint's bytes; positions are taken modulo the current length.</summary>
public abstract record ByteMutation
{
    public abstract byte[] Apply(byte[] b);
    private protected static int At(byte[] b, int p) => b.Length == 0 ? 0 : p % b.Length;
}

public sealed record FlipBit(int Pos, int Bit) : ByteMutation
{
    public override byte[] Apply(byte[] b)
    {
        if (b.Length == 0) return b;
        var c = (byte[])b.Clone();
        c[At(b, Pos)] ^= (byte)(1 << Bit);
        return c;
    }
}

public sealed record TruncateTo(int Keep) : ByteMutation
{
    public override byte[] Apply(byte[] b) => b.AsSpan(0, Math.Min(Keep, b.Length)).ToArray();
}

public sealed record InsertBytes(int Pos, byte A, byte B, byte C) : ByteMutation
{
    public override byte[] Apply(byte[] b) => [.. b.AsSpan(0, At(b, Pos)), A, B, C, .. b.AsSpan(At(b, Pos))];
}

public sealed record DeleteBytes(int Pos, int Count) : ByteMutation
{
    public override byte[] Apply(byte[] b) =>
        [.. b.AsSpan(0, At(b, Pos)), .. b.AsSpan(Math.Min(b.Length, At(b, Pos) + Count))];
}

/// <summary>Overwrites 4 (or 8) little-endian bytes with an absurd number: a length, count, step or position.</summary>
public sealed record AbsurdNumber(int Pos, ulong Value, bool Wide) : ByteMutation
{
    public override byte[] Apply(byte[] b)
    {
        int w = Wide ? 8 : 4;
        if (b.Length < w) return b;
        var c = (byte[])b.Clone();
        int o = Math.Min(At(b, Pos), b.Length - w);
        if (Wide) BinaryPrimitives.WriteUInt64LittleEndian(c.AsSpan(o), Value);
        else BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(o), (uint)Value);
        return c;
    }
}

/// <summary>Fuzz over checkpoint files: raw byte mutations (mostly stopped by the checksum) and mutations of the payload
/// re-wrapped with a valid SHA-256 (reaching the decoder and the consistency checks). Only CheckpointException may
/// escape Load, LoadLatest never throws and falls back to the good checkpoint, no case hangs, allocation per case is
/// bounded. Seeds are fixed; ACTORTRAINER_FUZZ_SEED / ACTORTRAINER_FUZZ_CASES override them.</summary>
public class CheckpointFuzzTests
{
    private static readonly ulong[] Absurd =
        [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x7FFFFFC7, 0xFFFFFFFFFFFFFFFF, 0x7FFFFFFFFFFFFFFF, 1UL << 40, 255];

    private static Gen<ByteMutation> MutationGen(int len, int hotLen)
    {
        var pos = Gen.Choose(0, Math.Max(0, len - 1));
        var hot = Gen.Choose(0, Math.Max(0, hotLen - 1));
        var flip = from p in pos from bit in Gen.Choose(0, 7) select (ByteMutation)new FlipBit(p, bit);
        var trunc = from k in pos select (ByteMutation)new TruncateTo(k);
        var ins = from p in pos from a in Gen.Choose(0, 255) select (ByteMutation)new InsertBytes(p, (byte)a, (byte)(a * 7), 0xFF);
        var del = from p in pos from n in Gen.Choose(1, 16) select (ByteMutation)new DeleteBytes(p, n);
        var absurd = from p in Gen.OneOf(hot, pos) from v in Gen.Elements(Absurd) from wide in Gen.Elements(false, true)
                     select (ByteMutation)new AbsurdNumber(p, v, wide);
        return Gen.Frequency((4, flip), (1, trunc), (1, ins), (1, del), (4, absurd));
    }

    private static ByteMutation[][] Plans(ulong seed, int count, int len, int hotLen)
    {
        var plans = (from k in Gen.Choose(1, 4) from plan in Gen.ArrayOf(MutationGen(len, hotLen), k) select plan)
            .Sample(count, new Rnd(seed), 30);
        Assert.Equal(count, plans.Length);
        return plans;
    }

    private static ulong Seed(ulong dflt) =>
        Environment.GetEnvironmentVariable("ACTORTRAINER_FUZZ_SEED") is { Length: > 0 } s ? ulong.Parse(s) : dflt;

    private static int Cases(int dflt) =>
        Environment.GetEnvironmentVariable("ACTORTRAINER_FUZZ_CASES") is { Length: > 0 } s ? int.Parse(s) : dflt;

    /// <summary>Runs each plan under a 10 s watchdog and a 32 MB allocation cap; only CheckpointException may escape.</summary>
    private static void Check(string target, ulong seed, byte[] input, ByteMutation[][] plans, Action<byte[]> run)
    {
        for (int i = 0; i < plans.Length; i++)
        {
            var bytes = plans[i].Aggregate(input, (b, m) => m.Apply(b));
            string Describe(string what) =>
                $"fuzz {target}: seed {seed} case {i} plan [{string.Join("; ", plans[i].Select(m => m.ToString()))}] ({bytes.Length} bytes): {what}";
            // its own thread (LongRunning): a thread-pool item could wait past the timeout while parallel tests keep the pool busy
            var task = Task.Factory.StartNew(() =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                Exception? thrown = null;
                try { run(bytes); } catch (Exception e) { thrown = e; }
                return (thrown, GC.GetAllocatedBytesForCurrentThread() - before);
            }, TaskCreationOptions.LongRunning);
            if (!task.Wait(TimeSpan.FromSeconds(10))) Assert.Fail(Describe("no result within 10 s (hang)"));
            var (e, allocated) = task.Result;
            if (e is not null and not CheckpointException)
                Assert.Fail(Describe($"escaped {e.GetType().FullName}: {e.Message}\n{e.StackTrace}"));
            if (allocated > 32L << 20) Assert.Fail(Describe($"allocated {allocated} bytes"));
        }
    }

    [Fact]
    public void Fuzz_raw_checkpoint_bytes()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var input = File.ReadAllBytes(CheckpointStore.Save(dir, CheckpointFiles.Small(), keep: 1));
            var path = Path.Combine(dir, "fuzz.bin");
            ulong seed = Seed(2001);
            Check("checkpoint bytes", seed, input, Plans(seed, Cases(400), input.Length, 24), bytes =>
            {
                File.WriteAllBytes(path, bytes);
                CheckpointStore.Load(path);
            });
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Fuzz_checksum_valid_payloads_and_fall_back_to_the_good_checkpoint()
    {
        var dir = Fixtures.TempDir();
        try
        {
            CheckpointStore.Save(dir, CheckpointFiles.Small(global: 10), keep: 5);
            var payload = CheckpointFiles.LegacyPayload(CheckpointFiles.Small(global: 20));
            var newest = CheckpointStore.PathFor(dir, 20);
            ulong seed = Seed(2002);
            Check("checkpoint payload", seed, payload, Plans(seed, Cases(600), payload.Length, 96), bytes =>
            {
                File.WriteAllBytes(newest, CheckpointFiles.Wrap(bytes));
                CheckpointState? loaded = null;
                try { loaded = CheckpointStore.Load(newest); }
                finally
                {
                    var warnings = new List<string>();
                    var latest = CheckpointStore.LoadLatest(dir, warnings);
                    if (latest is null || latest.GlobalStep != (loaded is null ? 10 : loaded.GlobalStep) || warnings.Count != (loaded is null ? 1 : 0))
                        throw new InvalidOperationException($"LoadLatest returned step {latest?.GlobalStep} with {warnings.Count} warnings");
                }
            });
        }
        finally { Directory.Delete(dir, true); }
    }
}
