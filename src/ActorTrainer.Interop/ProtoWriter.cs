using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace ActorTrainer.Interop;

/// <summary>Minimal protobuf wire-format encoder (varint, fixed32/64, length-delimited) for hand-written messages.</summary>
internal sealed class ProtoWriter
{
    private readonly ArrayBufferWriter<byte> _buf = new(256);

    /// <summary>Number of bytes written so far.</summary>
    public int Length => _buf.WrittenCount;

    /// <summary>The encoded bytes written so far.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buf.WrittenSpan;

    /// <summary>Copies the encoded bytes into a new array.</summary>
    public byte[] ToArray() => _buf.WrittenSpan.ToArray();

    private void Tag(int field, int wireType) => RawVarint(((ulong)(uint)field << 3) | (uint)wireType);

    /// <summary>Writes a raw base-128 varint (no tag).</summary>
    public void RawVarint(ulong v)
    {
        var span = _buf.GetSpan(10);
        var i = 0;
        while (v >= 0x80)
        {
            span[i++] = (byte)(v | 0x80);
            v >>= 7;
        }
        span[i++] = (byte)v;
        _buf.Advance(i);
    }

    /// <summary>Writes an int64/int32/enum/bool field as a varint (negative values use 10 bytes, as protobuf does).</summary>
    public void Int64(int field, long v)
    {
        Tag(field, 0);
        RawVarint((ulong)v);
    }

    /// <summary>Writes a double field (wire type 1, little-endian).</summary>
    public void Double(int field, double v)
    {
        Tag(field, 1);
        BinaryPrimitives.WriteDoubleLittleEndian(_buf.GetSpan(8), v);
        _buf.Advance(8);
    }

    /// <summary>Writes a float field (wire type 5, little-endian).</summary>
    public void Float(int field, float v)
    {
        Tag(field, 5);
        BinaryPrimitives.WriteSingleLittleEndian(_buf.GetSpan(4), v);
        _buf.Advance(4);
    }

    /// <summary>Writes a bytes field (wire type 2).</summary>
    public void Bytes(int field, ReadOnlySpan<byte> bytes)
    {
        Tag(field, 2);
        RawVarint((ulong)bytes.Length);
        _buf.Write(bytes);
    }

    /// <summary>Writes a UTF-8 string field (wire type 2).</summary>
    public void String(int field, string s) => Bytes(field, Encoding.UTF8.GetBytes(s));

    /// <summary>Writes an embedded message field encoded by <paramref name="body"/>.</summary>
    public void Message(int field, Action<ProtoWriter> body)
    {
        var inner = new ProtoWriter();
        body(inner);
        Bytes(field, inner.WrittenSpan);
    }

    /// <summary>Writes a packed repeated double field.</summary>
    public void PackedDoubles(int field, ReadOnlySpan<double> values)
    {
        Tag(field, 2);
        RawVarint((ulong)values.Length * 8);
        foreach (var v in values)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(_buf.GetSpan(8), v);
            _buf.Advance(8);
        }
    }
}
