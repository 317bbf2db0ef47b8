using System.Buffers.Binary;
using System.Numerics;

namespace ActorTrainer.Interop;

/// <summary>
/// TFRecord framing: u64 LE length, u32 LE masked CRC32C(length bytes), data, u32 LE masked CRC32C(data);
/// mask(crc) = ((crc &gt;&gt; 15) | (crc &lt;&lt; 17)) + 0xa282ead8.
/// </summary>
public static class TfRecord
{
    private const uint MaskDelta = 0xa282ead8u;

    /// <summary>CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, init/xorout 0xFFFFFFFF) of <paramref name="data"/>.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        var i = 0;
        for (; i + 8 <= data.Length; i += 8)
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(i, 8)));
        for (; i < data.Length; i++)
            crc = BitOperations.Crc32C(crc, data[i]);
        return ~crc;
    }

    /// <summary>TFRecord's masked CRC: ((crc &gt;&gt; 15) | (crc &lt;&lt; 17)) + 0xa282ead8 (mod 2^32).</summary>
    public static uint Mask(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + MaskDelta);

    /// <summary>Inverse of <see cref="Mask"/>.</summary>
    public static uint Unmask(uint masked)
    {
        var rot = unchecked(masked - MaskDelta);
        return (rot >> 17) | (rot << 15);
    }

    /// <summary>Writes one framed record (16 bytes of framing + data) to <paramref name="stream"/>.</summary>
    public static void WriteRecord(Stream stream, ReadOnlySpan<byte> data)
    {
        Span<byte> head = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(head, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(head[8..], Mask(Crc32C(head[..8])));
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(tail, Mask(Crc32C(data)));
        stream.Write(head);
        stream.Write(data);
        stream.Write(tail);
    }

    /// <summary>
    /// Splits a whole TFRecord file into (byte offset, payload) records, verifying both CRCs of every record;
    /// throws InvalidDataException naming <paramref name="fileName"/> and the byte offset on truncation or CRC mismatch.
    /// </summary>
    public static List<(long Offset, byte[] Data)> ReadRecords(ReadOnlySpan<byte> file, string fileName)
    {
        var records = new List<(long, byte[])>();
        var pos = 0;
        while (pos < file.Length)
        {
            if (file.Length - pos < 12)
                throw new InvalidDataException($"TFRecord file '{fileName}': truncated record header at byte {pos} ({file.Length - pos} of 12 bytes present).");
            var lenBytes = file.Slice(pos, 8);
            var len = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
            var lenCrc = BinaryPrimitives.ReadUInt32LittleEndian(file.Slice(pos + 8, 4));
            var expectedLenCrc = Mask(Crc32C(lenBytes));
            if (lenCrc != expectedLenCrc)
                throw new InvalidDataException($"TFRecord file '{fileName}': length CRC mismatch at byte {pos} (stored 0x{lenCrc:X8}, computed 0x{expectedLenCrc:X8}).");
            if (len > (ulong)(file.Length - pos - 16))
                throw new InvalidDataException($"TFRecord file '{fileName}': record at byte {pos} declares {len} data bytes but only {Math.Max(0, file.Length - pos - 16)} remain before the data CRC (truncated).");
            var data = file.Slice(pos + 12, (int)len);
            var dataCrc = BinaryPrimitives.ReadUInt32LittleEndian(file.Slice(pos + 12 + (int)len, 4));
            var expectedDataCrc = Mask(Crc32C(data));
            if (dataCrc != expectedDataCrc)
                throw new InvalidDataException($"TFRecord file '{fileName}': data CRC mismatch for record at byte {pos} (data bytes {pos + 12}..{pos + 12 + (int)len - 1}; stored 0x{dataCrc:X8}, computed 0x{expectedDataCrc:X8}).");
            records.Add((pos, data.ToArray()));
            pos += 16 + (int)len;
        }
        return records;
    }
}
