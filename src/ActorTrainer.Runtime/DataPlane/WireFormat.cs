using System.Buffers.Binary;
using System.Net;

namespace ActorTrainer.Runtime.DataPlane;

/// <summary>
/// The data plane's byte layout, all little-endian.
/// Hello (8 bytes, each side sends one on connect): "ATDP", u16 protocol version, u8 flags (bit 0: TLS), u8 0.
/// Accept markers (4 bytes, after the hellos and TLS; listener to client, then client to listener): "ATOK".
/// Frame header (48 bytes): "ATDF", u8 kind (1..255), u8 0, u16 0, i32 section count, u32 0, i64 A, B, C, D;
/// then per section 8 bytes: u8 type, 3 × u8 0, i32 element count; then the sections' raw bytes in order.
/// </summary>
internal static class WireFormat
{
    /// <summary>Version spoken by this build; peers must speak the same. 2: the node protocol's tensors travel as
    /// block-sparse codes (<see cref="BlockSparse"/>), so a version-1 peer is refused at the hello.</summary>
    public const ushort ProtocolVersion = 2;
    /// <summary>Size of the hello each side sends.</summary>
    public const int HelloBytes = 8;
    /// <summary>Size of the fixed part of a frame header.</summary>
    public const int FixedHeaderBytes = 48;
    /// <summary>Size of one section descriptor.</summary>
    public const int DescriptorBytes = 8;
    /// <summary>Size of the listener's accept marker.</summary>
    public const int AcceptBytes = 4;

    private const uint HelloMagic = 0x50445441;   // "ATDP"
    private const uint FrameMagic = 0x46445441;   // "ATDF"
    private const uint AcceptMagic = 0x4B4F5441;  // "ATOK"
    private const byte FlagTls = 1;

    /// <summary>Writes this end's hello into <paramref name="dst"/> (8 bytes).</summary>
    public static void WriteHello(Span<byte> dst, bool tls)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(dst, HelloMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(dst[4..], ProtocolVersion);
        dst[6] = tls ? FlagTls : (byte)0;
        dst[7] = 0;
    }

    /// <summary>Checks the peer's hello: magic, version and that both ends agree on TLS.</summary>
    public static void CheckHello(ReadOnlySpan<byte> hello, EndPoint? peer, bool tls)
    {
        var magic = BinaryPrimitives.ReadUInt32LittleEndian(hello);
        if (magic != HelloMagic)
            throw new DataPlaneException($"data plane handshake with {peer}: wrong magic 0x{Convert.ToHexString(hello[..4])} (expected \"ATDP\" = 0x41544450; the peer is not a data plane endpoint)");
        var version = BinaryPrimitives.ReadUInt16LittleEndian(hello[4..]);
        if (version != ProtocolVersion)
            throw new DataPlaneException($"data plane handshake with {peer}: protocol version {version} is not supported (this end speaks version {ProtocolVersion})");
        var peerTls = (hello[6] & FlagTls) != 0;
        if (peerTls && !tls)
            throw new DataPlaneException($"data plane handshake with {peer}: the peer requires TLS but this end has no DataPlaneOptions.Tls");
        if (!peerTls && tls)
            throw new DataPlaneException($"data plane handshake with {peer}: the peer does not use TLS but this end requires it (DataPlaneOptions.Tls is set)");
    }

    /// <summary>Writes the accept marker (4 bytes).</summary>
    public static void WriteAccept(Span<byte> dst) => BinaryPrimitives.WriteUInt32LittleEndian(dst, AcceptMagic);

    /// <summary>Checks the listener's accept marker.</summary>
    public static void CheckAccept(ReadOnlySpan<byte> marker, EndPoint? peer)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(marker) != AcceptMagic)
            throw new DataPlaneException($"data plane handshake with {peer}: expected the accept marker \"ATOK\", got 0x{Convert.ToHexString(marker)}");
    }

    /// <summary>Writes a frame header for <paramref name="sections"/> into <paramref name="dst"/>; returns its size
    /// (48 + 8 × sections). <paramref name="dst"/> must be at least that large.</summary>
    public static int WriteHeader(Span<byte> dst, byte kind, long a, long b, long c, long d, ReadOnlySpan<Section> sections)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(dst, FrameMagic);
        dst[4] = kind;
        dst[5] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(dst[6..], 0);
        BinaryPrimitives.WriteInt32LittleEndian(dst[8..], sections.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(dst[12..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(dst[16..], a);
        BinaryPrimitives.WriteInt64LittleEndian(dst[24..], b);
        BinaryPrimitives.WriteInt64LittleEndian(dst[32..], c);
        BinaryPrimitives.WriteInt64LittleEndian(dst[40..], d);
        var at = FixedHeaderBytes;
        foreach (var s in sections)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(dst[at..], (byte)s.Type);
            BinaryPrimitives.WriteInt32LittleEndian(dst[(at + 4)..], s.Length);
            at += DescriptorBytes;
        }
        return at;
    }

    /// <summary>Decodes and validates the fixed 48 header bytes: marker, kind, reserved bytes, section count.</summary>
    public static (byte Kind, int Count, long A, long B, long C, long D) ReadFixed(ReadOnlySpan<byte> h, EndPoint? peer, int maxSections)
    {
        var magic = BinaryPrimitives.ReadUInt32LittleEndian(h);
        if (magic != FrameMagic)
            throw new DataPlaneException($"data plane frame from {peer}: header marker 0x{Convert.ToHexString(h[..4])} is not \"ATDF\" (the previous frame's lengths did not match its bytes, or the stream is corrupt)");
        var kind = h[4];
        if (kind == 0) throw new DataPlaneException($"data plane frame from {peer}: kind 0 is not allowed (kinds are 1..255)");
        if (h[5] != 0 || BinaryPrimitives.ReadUInt16LittleEndian(h[6..]) != 0 || BinaryPrimitives.ReadUInt32LittleEndian(h[12..]) != 0)
            throw new DataPlaneException($"data plane frame from {peer}: reserved header bytes are not zero");
        var count = BinaryPrimitives.ReadInt32LittleEndian(h[8..]);
        if (count < 0 || count > maxSections)
            throw new DataPlaneException($"data plane frame from {peer}: section count {count} is outside 0..{maxSections} (max-sections)");
        return (kind, count,
            BinaryPrimitives.ReadInt64LittleEndian(h[16..]), BinaryPrimitives.ReadInt64LittleEndian(h[24..]),
            BinaryPrimitives.ReadInt64LittleEndian(h[32..]), BinaryPrimitives.ReadInt64LittleEndian(h[40..]));
    }

    /// <summary>Decodes and validates the section descriptors into <paramref name="types"/> and
    /// <paramref name="lengths"/> (at least as long as the count): known type, length >= 0, running payload total
    /// within <paramref name="maxFrameBytes"/>.</summary>
    public static void ReadDescriptors(ReadOnlySpan<byte> desc, EndPoint? peer, long maxFrameBytes, Span<SectionType> types, Span<int> lengths)
    {
        long total = 0;
        var count = desc.Length / DescriptorBytes;
        for (var i = 0; i < count; i++)
        {
            var at = i * DescriptorBytes;
            var type = (SectionType)desc[at];
            if (type is not (SectionType.Float32 or SectionType.Int32 or SectionType.Bytes))
                throw new DataPlaneException($"data plane frame from {peer}: section {i} has unknown type {desc[at]} (expected 1 = Float32, 2 = Int32, 3 = Bytes)");
            if (desc[at + 1] != 0 || desc[at + 2] != 0 || desc[at + 3] != 0)
                throw new DataPlaneException($"data plane frame from {peer}: section {i} reserved descriptor bytes are not zero");
            var length = BinaryPrimitives.ReadInt32LittleEndian(desc[(at + 4)..]);
            if (length < 0)
                throw new DataPlaneException($"data plane frame from {peer}: section {i} length {length} {FrameHeader.UnitName(type)} is negative");
            total += (long)length * FrameHeader.ElementSize(type);
            if (total > maxFrameBytes)
                throw new DataPlaneException($"data plane frame from {peer}: section {i} length {length} {FrameHeader.UnitName(type)} exceeds max-frame-bytes {maxFrameBytes} (frame payload would reach {total} bytes; raise cluster.data-plane.max-frame-mib on this node)");
            types[i] = type;
            lengths[i] = length;
        }
    }
}
