using System.Runtime.InteropServices;

namespace ActorTrainer.Runtime.DataPlane;

/// <summary>
/// One section to send: a typed, contiguous block of elements (float32, int32 or bytes) that is written to the socket
/// as its raw little-endian bytes without a copy. The memory must stay unchanged until <c>Send</c> returns.
/// </summary>
public readonly struct Section
{
    private readonly ReadOnlyMemory<float> _floats;
    private readonly ReadOnlyMemory<int> _ints;
    private readonly ReadOnlyMemory<byte> _bytes;

    private Section(SectionType type, ReadOnlyMemory<float> floats, ReadOnlyMemory<int> ints, ReadOnlyMemory<byte> bytes)
    {
        Type = type;
        _floats = floats;
        _ints = ints;
        _bytes = bytes;
    }

    /// <summary>A Float32 section of <c>v.Length</c> elements (4 bytes each).</summary>
    public static Section Of(ReadOnlyMemory<float> v) => new(SectionType.Float32, v, default, default);

    /// <summary>An Int32 section of <c>v.Length</c> elements (4 bytes each).</summary>
    public static Section Of(ReadOnlyMemory<int> v) => new(SectionType.Int32, default, v, default);

    /// <summary>A Bytes section of <c>v.Length</c> elements (1 byte each).</summary>
    public static Section Of(ReadOnlyMemory<byte> v) => new(SectionType.Bytes, default, default, v);

    /// <summary>A Float32 section over a whole array.</summary>
    public static implicit operator Section(float[] v) => Of(v);

    /// <summary>An Int32 section over a whole array.</summary>
    public static implicit operator Section(int[] v) => Of(v);

    /// <summary>A Bytes section over a whole array.</summary>
    public static implicit operator Section(byte[] v) => Of(v);

    /// <summary>Element type of the section; 0 for a default (never initialised) Section.</summary>
    public SectionType Type { get; }

    /// <summary>Number of elements (floats, ints or bytes).</summary>
    public int Length => Type switch
    {
        SectionType.Float32 => _floats.Length,
        SectionType.Int32 => _ints.Length,
        _ => _bytes.Length,
    };

    /// <summary>Number of payload bytes: Length × element size.</summary>
    public long ByteLength => Type == SectionType.Bytes ? _bytes.Length : 4L * Length;

    /// <summary>The section's elements as raw bytes (a view, no copy).</summary>
    public ReadOnlySpan<byte> Bytes => Type switch
    {
        SectionType.Float32 => MemoryMarshal.AsBytes(_floats.Span),
        SectionType.Int32 => MemoryMarshal.AsBytes(_ints.Span),
        _ => _bytes.Span,
    };
}
