using System.Security.Cryptography;

namespace ActorTrainer.Runtime;

/// <summary>Write-only stream that forwards every byte to an inner stream and into an incremental hash, so a
/// checkpoint payload is hashed while it is written (no buffer holds the whole payload).</summary>
internal sealed class HashingWriteStream(Stream inner, IncrementalHash hash) : Stream
{
    private long _written;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _written;
    public override long Position { get => _written; set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        hash.AppendData(buffer);
        inner.Write(buffer);
        _written += buffer.Length;
    }
}

/// <summary>Read-only view of [start, start + length) of a seekable stream: Length is the view's length, so length
/// prefixes read inside a checkpoint payload are bounded by the bytes the payload actually has.</summary>
internal sealed class BoundedReadStream : Stream
{
    private readonly Stream _inner;
    private readonly long _start, _length;
    private long _pos;

    public BoundedReadStream(Stream inner, long start, long length)
    {
        _inner = inner; _start = start; _length = length;
        _inner.Position = start;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _length;
    public override long Position { get => _pos; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        long left = _length - _pos;
        if (left <= 0) return 0;
        if (buffer.Length > left) buffer = buffer[..(int)left];
        int n = _inner.Read(buffer);
        _pos += n;
        return n;
    }

    /// <summary>SHA-256 of the whole view, read in 1 MB chunks from its start (leaves the view at its end).</summary>
    public byte[] Sha256()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buf = new byte[1 << 20];
        int n;
        while ((n = Read(buf, 0, buf.Length)) > 0) hash.AppendData(buf, 0, n);
        return hash.GetHashAndReset();
    }
}
