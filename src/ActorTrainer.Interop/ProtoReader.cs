using System.Buffers.Binary;
using System.Text;

namespace ActorTrainer.Interop;

/// <summary>Minimal protobuf wire-format decoder over a byte span; malformed input throws InvalidDataException with the byte position.</summary>
internal ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    /// <summary>Creates a reader over <paramref name="data"/>.</summary>
    public ProtoReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _pos = 0;
    }

    /// <summary>Current byte position inside the message.</summary>
    public readonly int Position => _pos;

    /// <summary>True when all bytes have been consumed.</summary>
    public readonly bool End => _pos >= _data.Length;

    /// <summary>Reads the next tag, returning (field number, wire type).</summary>
    public (int Field, int WireType) ReadTag()
    {
        var start = _pos;
        var tag = ReadVarint();
        var field = (int)(tag >> 3);
        if (field <= 0 || tag >> 3 > int.MaxValue)
            throw new InvalidDataException($"protobuf tag {tag} with invalid field number at message byte {start}.");
        return (field, (int)(tag & 7));
    }

    /// <summary>Reads a base-128 varint.</summary>
    public ulong ReadVarint()
    {
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_pos >= _data.Length)
                throw new InvalidDataException($"protobuf varint truncated at message byte {_pos}.");
            var b = _data[_pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw new InvalidDataException($"protobuf varint longer than 10 bytes at message byte {_pos}.");
    }

    /// <summary>Reads a little-endian fixed64 as a double.</summary>
    public double ReadDouble() => BitConverter.Int64BitsToDouble((long)BinaryPrimitives.ReadUInt64LittleEndian(Take(8)));

    /// <summary>Reads a little-endian fixed32 as a float.</summary>
    public float ReadFloat() => BitConverter.Int32BitsToSingle((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4)));

    /// <summary>Reads a length-delimited payload.</summary>
    public ReadOnlySpan<byte> ReadBytes()
    {
        var start = _pos;
        var len = ReadVarint();
        if (len > (ulong)(_data.Length - _pos))
            throw new InvalidDataException($"protobuf length {len} at message byte {start} exceeds the {_data.Length - _pos} remaining bytes.");
        return Take((int)len);
    }

    /// <summary>Reads a length-delimited UTF-8 string.</summary>
    public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

    /// <summary>Reads a repeated double field that may be packed (wire type 2) or a single unpacked element (wire type 1).</summary>
    public void ReadDoubles(int wireType, List<double> into)
    {
        if (wireType == 1)
        {
            into.Add(ReadDouble());
            return;
        }
        Expect(wireType, 2);
        var start = _pos;
        var payload = ReadBytes();
        if (payload.Length % 8 != 0)
            throw new InvalidDataException($"packed double field at message byte {start} has {payload.Length} bytes, not a multiple of 8.");
        for (var i = 0; i < payload.Length; i += 8)
            into.Add(BinaryPrimitives.ReadDoubleLittleEndian(payload.Slice(i, 8)));
    }

    /// <summary>Throws unless <paramref name="actual"/> equals the wire type the schema requires.</summary>
    public readonly void Expect(int actual, int expected)
    {
        if (actual != expected)
            throw new InvalidDataException($"protobuf wire type {actual} where {expected} was expected at message byte {_pos}.");
    }

    /// <summary>Skips a field of the given wire type.</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case 0: ReadVarint(); break;
            case 1: Take(8); break;
            case 2: ReadBytes(); break;
            case 5: Take(4); break;
            default: throw new InvalidDataException($"unsupported protobuf wire type {wireType} at message byte {_pos}.");
        }
    }

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n > _data.Length - _pos)
            throw new InvalidDataException($"protobuf field truncated at message byte {_pos}: needs {n} bytes, {_data.Length - _pos} remain.");
        var s = _data.Slice(_pos, n);
        _pos += n;
        return s;
    }
}
