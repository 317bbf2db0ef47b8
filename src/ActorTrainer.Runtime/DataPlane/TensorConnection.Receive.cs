namespace ActorTrainer.Runtime.DataPlane;

public sealed partial class TensorConnection
{
    private const int SkipBufferBytes = 64 << 10;

    private readonly byte[] _fixedHeader = new byte[WireFormat.FixedHeaderBytes];
    private byte[] _descriptors = new byte[64 * WireFormat.DescriptorBytes];
    private SectionType[] _types = new SectionType[64];
    private int[] _lengths = new int[64];
    private int _sectionCount;
    private int _nextSection;
    private FrameHeader? _current;
    private byte[]? _skipBuffer;

    /// <summary>Receives the next frame header; blocks until it arrives. All sections of the previous frame must have
    /// been received or skipped (else InvalidOperationException). Throws DataPlaneException when the header breaks the
    /// protocol or a limit (checked before anything is allocated), EndOfStreamException when the peer closed,
    /// IOException on a socket error or IoTimeout; the connection is then unusable for receiving. One reader at a time.
    /// The returned header reuses the previous one's arrays when the layout is the same (no allocation when nothing
    /// changed at all).</summary>
    public FrameHeader ReceiveHeader()
    {
        EnsureReceivable();
        if (_nextSection < _sectionCount)
            throw new InvalidOperationException($"data plane connection {RemoteEndPoint}: section {_nextSection} of {_sectionCount} of the current frame has not been received; call ReceiveSection or SkipSections first");
        try
        {
            ReadExactly(_fixedHeader, HeaderPart);
            var (kind, count, a, b, c, d) = WireFormat.ReadFixed(_fixedHeader, RemoteEndPoint, _options.MaxSections);
            EnsureDescriptorCapacity(count);
            var descriptors = _descriptors.AsSpan(0, count * WireFormat.DescriptorBytes);
            ReadExactly(descriptors, SectionTablePart);
            WireFormat.ReadDescriptors(descriptors, RemoteEndPoint, _options.MaxFrameBytes, _types, _lengths);
            _current = Publish(kind, a, b, c, d, count);
            _sectionCount = count;
            _nextSection = 0;
            return _current;
        }
        catch (IOException e)
        {
            _receiveBroken = e.Message;
            throw;
        }
    }

    /// <summary>Receives the next Float32 section into <paramref name="into"/>, whose length must equal the section's
    /// element count (else ArgumentException; nothing is read).</summary>
    public void ReceiveSection(Span<float> into) => ReceiveInto(AsBytes(into), into.Length, SectionType.Float32);

    /// <summary>Receives the next Int32 section into <paramref name="into"/>, whose length must equal the section's
    /// element count (else ArgumentException; nothing is read).</summary>
    public void ReceiveSection(Span<int> into) => ReceiveInto(AsBytes(into), into.Length, SectionType.Int32);

    /// <summary>Receives the next Bytes section into <paramref name="into"/>, whose length must equal the section's
    /// element count (else ArgumentException; nothing is read).</summary>
    public void ReceiveSection(Span<byte> into) => ReceiveInto(into, into.Length, SectionType.Bytes);

    /// <summary>Convenience: receives a whole frame, allocating a float[], int[] or byte[] per section.</summary>
    public (FrameHeader Header, Array[] Sections) ReceiveFrame()
    {
        var header = ReceiveHeader();
        var sections = new Array[header.SectionCount];
        for (var i = 0; i < sections.Length; i++)
        {
            var n = header.Lengths[i];
            switch (header.Types[i])
            {
                case SectionType.Float32: { var v = new float[n]; ReceiveSection(v); sections[i] = v; break; }
                case SectionType.Int32: { var v = new int[n]; ReceiveSection(v); sections[i] = v; break; }
                default: { var v = new byte[n]; ReceiveSection(v); sections[i] = v; break; }
            }
        }
        return (header, sections);
    }

    /// <summary>Reads and discards the remaining sections of the current frame (none left is fine).</summary>
    public void SkipSections()
    {
        EnsureReceivable();
        _skipBuffer ??= new byte[SkipBufferBytes];
        try
        {
            for (; _nextSection < _sectionCount; _nextSection++)
            {
                var left = (long)_lengths[_nextSection] * FrameHeader.ElementSize(_types[_nextSection]);
                while (left > 0)
                {
                    var chunk = (int)Math.Min(left, _skipBuffer.Length);
                    ReadExactly(_skipBuffer.AsSpan(0, chunk), _nextSection);
                    left -= chunk;
                }
            }
        }
        catch (IOException e)
        {
            _receiveBroken = e.Message;
            throw;
        }
    }

    /// <summary>Checks the next section's type and length against the caller's span, then reads into it.</summary>
    private void ReceiveInto(Span<byte> bytes, int elements, SectionType type)
    {
        EnsureReceivable();
        if (_current is null || _nextSection >= _sectionCount)
            throw new InvalidOperationException(_current is null
                ? $"data plane connection {RemoteEndPoint}: no frame header received; call ReceiveHeader first"
                : $"data plane connection {RemoteEndPoint}: all {_sectionCount} sections of the current frame have been received");
        var i = _nextSection;
        if (_types[i] != type)
            throw new ArgumentException($"data plane connection {RemoteEndPoint}: section {i} is {_types[i]}, not {type}", nameof(bytes));
        if (_lengths[i] != elements)
            throw new ArgumentException($"data plane connection {RemoteEndPoint}: section {i} has {_lengths[i]} {FrameHeader.UnitName(type)}, the span {elements}", "into");
        try { ReadExactly(bytes, i); }
        catch (IOException e)
        {
            _receiveBroken = e.Message;
            throw;
        }
        _nextSection++;
    }

    /// <summary>Grows the descriptor and section arrays to hold <paramref name="count"/> sections (bounded by
    /// MaxSections, which the caller has checked).</summary>
    private void EnsureDescriptorCapacity(int count)
    {
        if (_types.Length >= count) return;
        var size = Math.Max(count, _types.Length * 2);
        _descriptors = new byte[size * WireFormat.DescriptorBytes];
        _types = new SectionType[size];
        _lengths = new int[size];
    }

    /// <summary>The FrameHeader to hand out: the previous one when identical, else a new record sharing the
    /// previous arrays when the layout is unchanged.</summary>
    private FrameHeader Publish(byte kind, long a, long b, long c, long d, int count)
    {
        var previous = _current;
        var sameLayout = previous is not null && previous.Types.Length == count
            && previous.Types.AsSpan().SequenceEqual(_types.AsSpan(0, count))
            && previous.Lengths.AsSpan().SequenceEqual(_lengths.AsSpan(0, count));
        if (sameLayout && previous!.Kind == kind && previous.A == a && previous.B == b && previous.C == c && previous.D == d)
            return previous;
        return sameLayout
            ? new FrameHeader(kind, a, b, c, d, previous!.Types, previous.Lengths)
            : new FrameHeader(kind, a, b, c, d, _types.AsSpan(0, count).ToArray(), _lengths.AsSpan(0, count).ToArray());
    }

    /// <summary>Throws when the connection is disposed or an earlier receive failure left the stream mid-frame.</summary>
    private void EnsureReceivable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_receiveBroken is not null)
            throw new IOException($"data plane connection {RemoteEndPoint}: receiving is no longer possible after an earlier failure ({_receiveBroken})");
    }
}
