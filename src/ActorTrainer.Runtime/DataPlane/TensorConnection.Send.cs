using System.Net.Sockets;

namespace ActorTrainer.Runtime.DataPlane;

public sealed partial class TensorConnection
{
    /// <summary>Sections up to this size are copied next to the header so that small ones share one write.</summary>
    private const int CoalesceLimit = 16 << 10;

    /// <summary>Sends one frame: kind (1..255), the four int64 fields and the sections in order. Thread-safe: frames
    /// from concurrent callers never interleave. Throws ArgumentException when the frame breaks this end's limits
    /// (kind 0, more than MaxSections sections, payload above MaxFrameBytes, an uninitialised Section), IOException
    /// when the socket fails (the connection is then unusable for sending).</summary>
    public void Send(byte kind, long a, long b, long c, long d, params Section[] sections)
    {
        ArgumentNullException.ThrowIfNull(sections);
        Send(kind, a, b, c, d, new ReadOnlySpan<Section>(sections));
    }

    /// <summary>Allocation-free form of <see cref="Send(byte, long, long, long, long, Section[])"/>: the compiler
    /// builds the sections on the stack for an expanded call.</summary>
    public void Send(byte kind, long a, long b, long c, long d, params ReadOnlySpan<Section> sections)
    {
        CheckOutgoing(kind, sections);
        lock (_sendLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_sendBroken is not null)
                throw new IOException($"data plane connection {RemoteEndPoint}: sending is no longer possible after an earlier failure ({_sendBroken})");
            try { WriteFrame(kind, a, b, c, d, sections); }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                _sendBroken = e.Message;
                throw;
            }
        }
    }

    /// <summary>Rejects a frame this end's own limits would refuse to receive.</summary>
    private void CheckOutgoing(byte kind, ReadOnlySpan<Section> sections)
    {
        if (kind == 0) throw new ArgumentOutOfRangeException(nameof(kind), kind, "data plane frame kind must be 1..255");
        if (sections.Length > _options.MaxSections)
            throw new ArgumentException($"data plane frame to {RemoteEndPoint}: {sections.Length} sections exceed max-sections {_options.MaxSections}", nameof(sections));
        long total = 0;
        for (var i = 0; i < sections.Length; i++)
        {
            if (sections[i].Type == 0)
                throw new ArgumentException($"data plane frame to {RemoteEndPoint}: section {i} is a default Section; use Section.Of", nameof(sections));
            total += sections[i].ByteLength;
            if (total > _options.MaxFrameBytes)
                throw new ArgumentException($"data plane frame to {RemoteEndPoint}: section {i} length {sections[i].Length} {FrameHeader.UnitName(sections[i].Type)} exceeds max-frame-bytes {_options.MaxFrameBytes} (payload would reach {total} bytes)", nameof(sections));
        }
    }

    /// <summary>Writes the header, coalescing small sections into the same buffer and writing large ones straight
    /// from the caller's memory, then flushes. Caller holds the send lock.</summary>
    private void WriteFrame(byte kind, long a, long b, long c, long d, ReadOnlySpan<Section> sections)
    {
        var headerBytes = WireFormat.FixedHeaderBytes + WireFormat.DescriptorBytes * sections.Length;
        if (_sendBuffer.Length < headerBytes + CoalesceLimit) _sendBuffer = new byte[headerBytes + CoalesceLimit];
        var used = WireFormat.WriteHeader(_sendBuffer, kind, a, b, c, d, sections);
        foreach (var section in sections)
        {
            var bytes = section.Bytes;
            if (bytes.Length <= _sendBuffer.Length - used && bytes.Length <= CoalesceLimit)
            {
                bytes.CopyTo(_sendBuffer.AsSpan(used));
                used += bytes.Length;
                continue;
            }
            if (used > 0) _stream.Write(_sendBuffer, 0, used);
            used = 0;
            _stream.Write(bytes);
        }
        if (used > 0) _stream.Write(_sendBuffer, 0, used);
        _stream.Flush(); // TLS: sends the batched records (BatchingSocketStream); TCP: nothing to do
    }
}
