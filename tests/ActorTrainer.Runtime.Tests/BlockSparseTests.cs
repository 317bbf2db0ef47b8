using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Tests;

/// <summary>The data plane's block-sparse code: the encoder against a plain per-value oracle, bit-exact round trips
/// (−0.0, NaN payloads, subnormals, short last blocks), the XOR form, and malformed codes refused.</summary>
public class BlockSparseTests
{
    /// <summary>Oracle: the mask and packed values, one value at a time.</summary>
    private static (byte[] Mask, uint[] Packed) Oracle(uint[] bits)
    {
        int blocks = (bits.Length + 15) / 16;
        var mask = new byte[(blocks + 7) / 8];
        var packed = new List<uint>();
        for (int b = 0; b < blocks; b++)
        {
            var block = bits.Skip(16 * b).Take(16).ToArray();
            if (block.All(v => v == 0)) continue;
            mask[b / 8] |= (byte)(1 << (b % 8));
            packed.AddRange(block);
        }
        return (mask, packed.ToArray());
    }

    private static float[] Sample(int n, double density, int seed)
    {
        var rng = new Random(seed);
        var v = new float[n];
        uint[] specials = [0x80000000u /* −0.0 */, 0x7FC00001u /* NaN with payload */, 0x00000001u /* subnormal */, 0xFF800000u];
        for (int i = 0; i < n; i++)
        {
            if (rng.NextDouble() >= density) continue;
            v[i] = rng.Next(8) == 0 ? BitConverter.UInt32BitsToSingle(specials[rng.Next(specials.Length)]) : (float)rng.NextDouble() - 0.5f;
        }
        // runs of zero blocks, as MNIST's borders and unused weight rows give
        if (n > 64) Array.Clear(v, n / 4, n / 4);
        return v;
    }

    private static uint[] Bits(ReadOnlySpan<float> v) => v.ToArray().Select(BitConverter.SingleToUInt32Bits).ToArray();

    [Theory]
    [InlineData(0, 0.5)]
    [InlineData(1, 1.0)]
    [InlineData(15, 0.3)]
    [InlineData(16, 0.0)]
    [InlineData(17, 0.05)]
    [InlineData(784 * 3 + 5, 0.19)]
    [InlineData(401_408, 0.02)]
    [InlineData(5130, 1.0)]
    public void Codes_match_the_oracle_and_round_trip_bit_for_bit(int n, double density)
    {
        var v = Sample(n, density, n + 1);
        var mask = new byte[BlockSparse.MaskBytes(n)];
        var packed = new float[n];
        int count = BlockSparse.Encode(v, mask, packed);
        var (wantMask, wantPacked) = Oracle(Bits(v));
        Assert.Equal(wantMask, mask);
        Assert.Equal(wantPacked, Bits(packed.AsSpan(0, count)));
        Assert.Equal(count, BlockSparse.PackedLength(mask, n));
        var back = Enumerable.Repeat(float.NaN, n).ToArray();   // every value must be written
        BlockSparse.Decode(mask, packed.AsSpan(0, count), back);
        Assert.Equal(Bits(v), Bits(back));
    }

    [Theory]
    [InlineData(4099)]
    [InlineData(401_408)]
    public void The_XOR_code_carries_only_changed_blocks_and_leaves_both_copies_equal(int n)
    {
        var held = Sample(n, 1.0, 3);          // what the peer holds (and this end's copy of it)
        var peer = (float[])held.Clone();
        var current = (float[])held.Clone();
        for (int i = 0; i < n; i += 211) current[i] = MathF.BitIncrement(current[i]);
        current[n - 1] = -0.0f;
        var mask = new byte[BlockSparse.MaskBytes(n)];
        var packed = new float[n];
        int count = BlockSparse.EncodeXor(current, held, mask, packed);
        var xor = Bits(current).Zip(Bits(peer), (a, b) => a ^ b).ToArray();
        var (wantMask, wantPacked) = Oracle(xor);
        Assert.Equal(wantMask, mask);
        Assert.Equal(wantPacked, Bits(packed.AsSpan(0, count)));
        Assert.True(count < n / 2, $"only changed blocks travel: {count} of {n}");
        Assert.Equal(Bits(current), Bits(held));
        BlockSparse.DecodeXor(mask, packed.AsSpan(0, count), peer);
        Assert.Equal(Bits(current), Bits(peer));
    }

    [Fact]
    public void Malformed_codes_are_refused()
    {
        var dst = new float[784];                       // 49 blocks: 7 mask bytes, bits 49..55 are padding
        var mask = new byte[7];
        mask[0] = 1;
        var e = Assert.Throws<InvalidDataException>(() => BlockSparse.Decode(mask, new float[15], dst));
        Assert.Contains("marks 16 values, the packed section has 15", e.Message);
        mask[6] = 0x80;                                 // block 55: past the end
        Assert.Equal(-1, BlockSparse.PackedLength(mask, 784));
        Assert.Throws<InvalidDataException>(() => BlockSparse.Decode(mask, new float[32], dst));
        Assert.Equal(-1, BlockSparse.PackedLength(new byte[6], 784));
        Assert.Throws<ArgumentException>(() => BlockSparse.Encode(dst, new byte[6], new float[784]));
        Assert.Throws<ArgumentException>(() => BlockSparse.Encode(dst, new byte[7], new float[783]));
        // a marked short last block counts its own length: 17 values = 2 blocks, the second of 1 value
        Assert.Equal(17, BlockSparse.PackedLength([0b11], 17));
    }
}
