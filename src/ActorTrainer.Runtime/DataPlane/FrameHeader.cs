namespace ActorTrainer.Runtime.DataPlane;

/// <summary>Element type of one frame section; the wire byte is the enum value.</summary>
public enum SectionType : byte
{
    /// <summary>IEEE 754 single precision, 4 bytes per element, little-endian.</summary>
    Float32 = 1,
    /// <summary>Signed 32-bit integer, 4 bytes per element, little-endian.</summary>
    Int32 = 2,
    /// <summary>Raw bytes, 1 byte per element.</summary>
    Bytes = 3,
}

/// <summary>
/// The header of one data plane frame. Kind: application-defined 1..255; A..D: four int64 fields the kind gives
/// meaning to; per section its element type (<see cref="Types"/>) and element count (<see cref="Lengths"/>), in the
/// order the sections follow on the wire. Received headers share their arrays with later headers of the same layout:
/// treat them as read-only.
/// </summary>
/// <param name="Kind">Application-defined frame kind, 1..255.</param>
/// <param name="A">First int64 field (meaning given by Kind).</param>
/// <param name="B">Second int64 field.</param>
/// <param name="C">Third int64 field.</param>
/// <param name="D">Fourth int64 field.</param>
/// <param name="Types">Element type of each section, in wire order.</param>
/// <param name="Lengths">Element count of each section, in wire order.</param>
public sealed record FrameHeader(byte Kind, long A, long B, long C, long D, SectionType[] Types, int[] Lengths)
{
    /// <summary>Number of sections in the frame (Types.Length).</summary>
    public int SectionCount => Types.Length;

    /// <summary>Payload bytes of section <paramref name="index"/>: element count × element size.</summary>
    public long SectionBytes(int index) => (long)Lengths[index] * ElementSize(Types[index]);

    /// <summary>Payload bytes of all sections together (the header itself not counted).</summary>
    public long PayloadBytes
    {
        get
        {
            long total = 0;
            for (var i = 0; i < Types.Length; i++) total += SectionBytes(i);
            return total;
        }
    }

    /// <summary>Bytes per element of <paramref name="type"/>: 4 for Float32 and Int32, 1 for Bytes.</summary>
    public static int ElementSize(SectionType type) => type switch
    {
        SectionType.Float32 or SectionType.Int32 => 4,
        SectionType.Bytes => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown data plane section type"),
    };

    /// <summary>Plural element name used in messages ("floats", "ints", "bytes").</summary>
    internal static string UnitName(SectionType type) => type switch
    {
        SectionType.Float32 => "floats",
        SectionType.Int32 => "ints",
        _ => "bytes",
    };
}
