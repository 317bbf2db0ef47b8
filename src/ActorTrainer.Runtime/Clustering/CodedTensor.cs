using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>The buffers of one tensor's <see cref="BlockSparse"/> code (up to `capacity` values) and the two frame
/// sections that carry it: a Bytes section (the block mask) and a Float32 section (the marked blocks' values).
/// One per tensor and direction of a connection; reused every frame.</summary>
internal sealed class CodedTensor(int capacity)
{
    private readonly byte[] _mask = new byte[BlockSparse.MaskBytes(capacity)];
    private readonly float[] _packed = new float[capacity];
    private int _maskBytes, _count;

    /// <summary>Codes <paramref name="values"/> (at most the capacity).</summary>
    public void Encode(ReadOnlySpan<float> values)
    {
        _maskBytes = BlockSparse.MaskBytes(values.Length);
        _count = BlockSparse.Encode(values, _mask.AsSpan(0, _maskBytes), _packed);
    }

    /// <summary>Codes bits(current) ⊕ bits(held) and leaves current in held (what the peer holds after decoding).</summary>
    public void EncodeXor(ReadOnlySpan<float> current, Span<float> held)
    {
        _maskBytes = BlockSparse.MaskBytes(current.Length);
        _count = BlockSparse.EncodeXor(current, held, _mask.AsSpan(0, _maskBytes), _packed);
    }

    /// <summary>The mask section of the last code.</summary>
    public Section MaskSection => Section.Of(_mask.AsMemory(0, _maskBytes));

    /// <summary>The values section of the last code.</summary>
    public Section PackedSection => Section.Of(_packed.AsMemory(0, _count));

    /// <summary>Checks the section(s) of <paramref name="h"/> at index i that carry a tensor of <paramref name="n"/>
    /// values: with <paramref name="coded"/> its block-sparse code (see <see cref="CheckCode"/>),
    /// else one Float32 section of n values (null when they fit; else what is wrong, naming <paramref name="what"/>).</summary>
    public static string? Check(FrameHeader h, int i, int n, string what, bool coded) =>
        coded ? CheckCode(h, i, n, what)
        : h.Types[i] != SectionType.Float32 || h.Lengths[i] != n
            ? $"section {i} ({what}) has {h.Lengths[i]} elements of {h.Types[i]}, expected {n} Float32" : null;

    /// <summary>Checks that sections i (mask) and i + 1 (values) of <paramref name="h"/> can code a tensor of
    /// <paramref name="n"/> values: a Bytes section of MaskBytes(n) and a Float32 section of at most n (null when
    /// they can; else what is wrong, naming <paramref name="what"/>).</summary>
    private static string? CheckCode(FrameHeader h, int i, int n, string what)
    {
        if (h.Types[i] != SectionType.Bytes || h.Lengths[i] != BlockSparse.MaskBytes(n))
            return $"section {i} ({what} mask) has {h.Lengths[i]} elements of {h.Types[i]}, expected {BlockSparse.MaskBytes(n)} Bytes for {n} values";
        if (h.Types[i + 1] != SectionType.Float32 || h.Lengths[i + 1] > n)
            return $"section {i + 1} ({what} values) has {h.Lengths[i + 1]} elements of {h.Types[i + 1]}, expected at most {n} Float32";
        return null;
    }

    /// <summary>Receives the mask and the values of a tensor of <paramref name="n"/> values (sections already checked
    /// with <see cref="Check"/>, coded) into these buffers; throws InvalidDataException, naming <paramref name="what"/>,
    /// when the values section's length is not what the mask marks (nothing of it is read then).</summary>
    public void Receive(TensorConnection conn, FrameHeader h, int i, int n, string what)
    {
        _maskBytes = BlockSparse.MaskBytes(n);
        conn.ReceiveSection(_mask.AsSpan(0, _maskBytes));
        long marked = BlockSparse.PackedLength(_mask.AsSpan(0, _maskBytes), n);
        if (marked != h.Lengths[i + 1])
            throw new InvalidDataException(marked < 0
                ? $"data plane: frame from {conn.RemoteEndPoint}: section {i} ({what} mask) marks blocks past the tensor's {n} values"
                : $"data plane: frame from {conn.RemoteEndPoint}: section {i} ({what} mask) marks {marked} values, section {i + 1} has {h.Lengths[i + 1]}");
        _count = h.Lengths[i + 1];
        conn.ReceiveSection(_packed.AsSpan(0, _count));
    }

    /// <summary>Writes the received tensor into <paramref name="dst"/> (n values, as received).</summary>
    public void DecodeInto(Span<float> dst) => BlockSparse.Decode(_mask.AsSpan(0, _maskBytes), _packed.AsSpan(0, _count), dst);

    /// <summary>Applies the received XOR code to <paramref name="held"/>.</summary>
    public void DecodeXorInto(Span<float> held) => BlockSparse.DecodeXor(_mask.AsSpan(0, _maskBytes), _packed.AsSpan(0, _count), held);
}
