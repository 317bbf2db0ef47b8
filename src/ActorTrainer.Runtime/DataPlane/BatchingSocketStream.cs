using System.Net.Sockets;

namespace ActorTrainer.Runtime.DataPlane;

/// <summary>
/// The stream under SslStream on a TLS connection: a blocking socket with a read-ahead buffer and, once
/// <see cref="BatchWrites"/> is on, a write buffer sent on <see cref="Flush"/> (SslStream.Flush calls it) or when full.
/// SslStream reads and writes one TLS record (at most ~16 KB) at a time; straight on the socket that is one send per
/// record (each a separate TCP push) and two receives per record (a zero-byte read, then the record). Gathering them
/// into <see cref="BufferBytes"/> chunks costs one memory copy per byte each way and saves most of the kernel's
/// per-call and per-packet work. Does not own the socket. One reader and one writer may use it concurrently;
/// socket errors come out as IOException with the SocketException (or ObjectDisposedException) inside, as from
/// NetworkStream.
/// </summary>
internal sealed class BatchingSocketStream : Stream
{
    /// <summary>Size of the read-ahead and write buffers.</summary>
    internal const int BufferBytes = 256 << 10;

    private readonly Socket _socket;
    private readonly byte[] _readBuffer = new byte[BufferBytes];
    private readonly byte[] _writeBuffer = new byte[BufferBytes];
    private int _readStart;
    private int _readEnd;
    private int _written;
    private bool _endOfStream;

    /// <summary>Wraps a connected socket in blocking mode.</summary>
    public BatchingSocketStream(Socket socket) => _socket = socket;

    /// <summary>False (the start, for the handshake): every Write goes to the socket at once. True: writes gather in
    /// the write buffer until it is full or Flush is called; the caller must Flush after each message.</summary>
    public bool BatchWrites { get; set; }

    /// <inheritdoc/>
    public override bool CanRead => true;
    /// <inheritdoc/>
    public override bool CanWrite => true;
    /// <inheritdoc/>
    public override bool CanSeek => false;
    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();
    /// <inheritdoc/>
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <summary>Copies buffered bytes, refilling the buffer with one receive when it is empty; a zero-length read
    /// waits until data (or the end of the stream) has arrived and returns 0. Returns 0 at the end of the stream.</summary>
    public override int Read(Span<byte> buffer)
    {
        if (_readStart == _readEnd)
        {
            if (_endOfStream) return 0;
            if (buffer.Length >= BufferBytes) return Receive(buffer);
            _readStart = 0;
            _readEnd = Receive(_readBuffer);
            if (_readEnd == 0) _endOfStream = true;
        }
        var n = Math.Min(buffer.Length, _readEnd - _readStart);
        _readBuffer.AsSpan(_readStart, n).CopyTo(buffer);
        _readStart += n;
        return n;
    }

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <summary>Sends at once (BatchWrites off) or appends to the write buffer, sending it first when full.</summary>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (!BatchWrites || buffer.Length >= BufferBytes)
        {
            Flush();
            SendAll(buffer);
            return;
        }
        if (buffer.Length > BufferBytes - _written) Flush();
        buffer.CopyTo(_writeBuffer.AsSpan(_written));
        _written += buffer.Length;
    }

    /// <summary>Sends the buffered writes.</summary>
    public override void Flush()
    {
        if (_written == 0) return;
        var n = _written;
        _written = 0;
        SendAll(_writeBuffer.AsSpan(0, n));
    }

    /// <summary>One blocking receive; a SocketException or a disposed socket becomes IOException (as in NetworkStream).</summary>
    private int Receive(Span<byte> into)
    {
        try { return _socket.Receive(into, SocketFlags.None); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            throw new IOException($"Unable to read data from the transport connection: {e.Message}.", e);
        }
    }

    /// <summary>Blocking send of all of <paramref name="data"/>; a SocketException or a disposed socket becomes
    /// IOException (as in NetworkStream).</summary>
    private void SendAll(ReadOnlySpan<byte> data)
    {
        try
        {
            while (!data.IsEmpty) data = data[_socket.Send(data, SocketFlags.None)..];
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            throw new IOException($"Unable to write data to the transport connection: {e.Message}.", e);
        }
    }
}
