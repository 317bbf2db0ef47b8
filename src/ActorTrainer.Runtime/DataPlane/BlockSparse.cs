using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ActorTrainer.Runtime.DataPlane;

/// <summary>
/// Lossless block-sparse coding of float32 tensors for the data plane. A tensor of n values is cut into blocks of
/// <see cref="Block"/> = 16 values (64 bytes; the last block may be shorter); the code is a mask of
/// <see cref="MaskBytes"/>(n) bytes (bit b, least significant first: block b has a value whose 32 bits are not all
/// zero) and the marked blocks' values in order (<see cref="PackedLength"/> floats). Decoding restores every value bit
/// for bit: unmarked blocks are +0.0, and −0.0, NaN payloads and subnormals are kept (only all-zero bit patterns are
/// dropped). The XOR form codes bits(current) ⊕ bits(held), the peer's copy, so values that did not change cost one bit
/// per block. Bit operations only, so the result does not depend on the instruction set.
/// </summary>
public static class BlockSparse
{
    /// <summary>Values per block.</summary>
    public const int Block = 16;

    /// <summary>Blocks of a tensor of <paramref name="n"/> values: ⌈n / 16⌉.</summary>
    public static int Blocks(int n) => (int)(((long)n + Block - 1) / Block);

    /// <summary>Mask bytes of a tensor of <paramref name="n"/> values: ⌈Blocks(n) / 8⌉.</summary>
    public static int MaskBytes(int n) => (Blocks(n) + 7) / 8;

    /// <summary>Codes <paramref name="src"/> (n values) into <paramref name="mask"/> (MaskBytes(n)) and
    /// <paramref name="packed"/> (at least n); returns the packed length.</summary>
    public static int Encode(ReadOnlySpan<float> src, Span<byte> mask, Span<float> packed) =>
        Code(src, default, xor: false, mask, packed);

    /// <summary>Codes bits(<paramref name="current"/>) ⊕ bits(<paramref name="held"/>) like <see cref="Encode"/> and then
    /// copies <paramref name="current"/> into <paramref name="held"/> (the peer will hold it after decoding); returns the
    /// packed length.</summary>
    public static int EncodeXor(ReadOnlySpan<float> current, Span<float> held, Span<byte> mask, Span<float> packed)
    {
        if (held.Length != current.Length)
            throw new ArgumentException($"block-sparse XOR code: the held copy has {held.Length} values, the tensor {current.Length}", nameof(held));
        return Code(current, held, xor: true, mask, packed);
    }

    /// <summary>Encode (xor false) or EncodeXor (xor true; held updated to src for every changed block).</summary>
    private static int Code(ReadOnlySpan<float> src, Span<float> held, bool xor, Span<byte> mask, Span<float> packed)
    {
        CheckSizes(src.Length, mask.Length, packed.Length);
        mask.Clear();
        ref uint c = ref Bits(src);
        ref uint h = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<float, uint>(held));
        ref uint p = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<float, uint>(packed));
        int full = src.Length / Block, at = 0;
        for (int b = 0; b < full; b++)
        {
            nuint o = (nuint)(b * Block);
            var lo = Vector256.LoadUnsafe(ref c, o);
            var hi = Vector256.LoadUnsafe(ref c, o + 8);
            var dlo = xor ? lo ^ Vector256.LoadUnsafe(ref h, o) : lo;
            var dhi = xor ? hi ^ Vector256.LoadUnsafe(ref h, o + 8) : hi;
            if ((dlo | dhi) == Vector256<uint>.Zero) continue;
            if (xor)
            {
                lo.StoreUnsafe(ref h, o);
                hi.StoreUnsafe(ref h, o + 8);
            }
            mask[b >> 3] |= (byte)(1 << (b & 7));
            dlo.StoreUnsafe(ref p, (nuint)at);
            dhi.StoreUnsafe(ref p, (nuint)at + 8);
            at += Block;
        }
        return at + Tail(src, full, mask, packed[at..], xorInto: xor ? held : default);
    }

    /// <summary>The packed length <paramref name="mask"/> announces for a tensor of <paramref name="n"/> values, or −1
    /// when the mask has the wrong size or marks blocks past the tensor's end (a malformed frame).</summary>
    public static long PackedLength(ReadOnlySpan<byte> mask, int n)
    {
        if (n < 0 || mask.Length != MaskBytes(n)) return -1;
        int blocks = Blocks(n);
        if (blocks % 8 != 0 && (mask[^1] >> (blocks % 8)) != 0) return -1;
        long set = 0;
        foreach (byte m in mask) set += BitOperations.PopCount(m);
        if (n % Block != 0 && (mask[(blocks - 1) >> 3] & (1 << ((blocks - 1) & 7))) != 0) set = set * Block - (Block - n % Block);
        else set *= Block;
        return set;
    }

    /// <summary>Restores the tensor coded by <paramref name="mask"/> and <paramref name="packed"/> into
    /// <paramref name="dst"/> (n values). Throws InvalidDataException when the packed length is not what the mask
    /// announces.</summary>
    public static void Decode(ReadOnlySpan<byte> mask, ReadOnlySpan<float> packed, Span<float> dst) =>
        Apply(mask, packed, dst, xor: false);

    /// <summary>Applies an XOR code to <paramref name="held"/>: bits(held) ⊕= the coded values (the peer's current
    /// tensor). Throws InvalidDataException when the packed length is not what the mask announces.</summary>
    public static void DecodeXor(ReadOnlySpan<byte> mask, ReadOnlySpan<float> packed, Span<float> held) =>
        Apply(mask, packed, held, xor: true);

    private static void Apply(ReadOnlySpan<byte> mask, ReadOnlySpan<float> packed, Span<float> dst, bool xor)
    {
        long want = PackedLength(mask, dst.Length);
        if (want != packed.Length)
            throw new InvalidDataException(want < 0
                ? $"block-sparse code: a mask of {mask.Length} bytes does not fit a tensor of {dst.Length} values (expected {MaskBytes(dst.Length)} bytes, no bits past block {Blocks(dst.Length) - 1})"
                : $"block-sparse code: the mask marks {want} values, the packed section has {packed.Length}");
        ref uint p = ref Bits(packed);
        ref uint d = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<float, uint>(dst));
        int full = dst.Length / Block, at = 0;
        for (int b = 0; b < full; b++)
        {
            nuint o = (nuint)(b * Block);
            if ((mask[b >> 3] & (1 << (b & 7))) == 0)
            {
                if (!xor)
                {
                    Vector256<uint>.Zero.StoreUnsafe(ref d, o);
                    Vector256<uint>.Zero.StoreUnsafe(ref d, o + 8);
                }
                continue;
            }
            var lo = Vector256.LoadUnsafe(ref p, (nuint)at);
            var hi = Vector256.LoadUnsafe(ref p, (nuint)at + 8);
            if (xor)
            {
                lo ^= Vector256.LoadUnsafe(ref d, o);
                hi ^= Vector256.LoadUnsafe(ref d, o + 8);
            }
            lo.StoreUnsafe(ref d, o);
            hi.StoreUnsafe(ref d, o + 8);
            at += Block;
        }
        int rest = dst.Length - full * Block;
        if (rest == 0) return;
        var tail = MemoryMarshal.Cast<float, uint>(dst.Slice(full * Block));
        bool marked = (mask[full >> 3] & (1 << (full & 7))) != 0;
        var from = MemoryMarshal.Cast<float, uint>(packed.Slice(at));
        for (int i = 0; i < rest; i++) tail[i] = !marked ? (xor ? tail[i] : 0u) : xor ? tail[i] ^ from[i] : from[i];
    }

    /// <summary>The short last block (n mod 16 values) of Encode / EncodeXor: marks and packs it when it has a nonzero
    /// (XOR: changed) value; returns the values packed.</summary>
    private static int Tail(ReadOnlySpan<float> src, int full, Span<byte> mask, Span<float> packed, Span<float> xorInto)
    {
        int rest = src.Length - full * Block;
        if (rest == 0) return 0;
        var s = MemoryMarshal.Cast<float, uint>(src.Slice(full * Block));
        var h = xorInto.IsEmpty ? default : MemoryMarshal.Cast<float, uint>(xorInto.Slice(full * Block));
        var p = MemoryMarshal.Cast<float, uint>(packed);
        uint any = 0;
        for (int i = 0; i < rest; i++)
        {
            p[i] = h.IsEmpty ? s[i] : s[i] ^ h[i];
            any |= p[i];
        }
        if (any == 0) return 0;
        if (!h.IsEmpty) s.CopyTo(h);
        mask[full >> 3] |= (byte)(1 << (full & 7));
        return rest;
    }

    private static void CheckSizes(int n, int maskBytes, int packed)
    {
        if (maskBytes != MaskBytes(n))
            throw new ArgumentException($"block-sparse code of {n} values needs a mask of {MaskBytes(n)} bytes, got {maskBytes}", "mask");
        if (packed < n)
            throw new ArgumentException($"block-sparse code of {n} values needs room for {n} packed values, got {packed}", nameof(packed));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref uint Bits(ReadOnlySpan<float> v) => ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(v));
}
