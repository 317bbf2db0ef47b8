namespace ActorTrainer.Interop;

/// <summary>
/// Appends TensorBoard events (TFRecord-framed tensorflow.Event protos) to
/// <c>logDir/events.out.tfevents.&lt;unix-seconds&gt;.&lt;hostname&gt;</c>; the first event is file_version "brain.Event:2".
/// All methods lock, so concurrent callers are serialized; Dispose flushes and closes.
/// </summary>
public sealed class EventFileWriter : IDisposable
{
    /// <summary>The file_version string written in the first event.</summary>
    public const string FileVersionString = "brain.Event:2";

    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly object _gate = new();
    private readonly FileStream _stream;
    private bool _disposed;

    /// <summary>Creates <paramref name="logDir"/> if needed and a new event file in it, writing the file_version event.</summary>
    public EventFileWriter(string logDir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(logDir);
        Directory.CreateDirectory(logDir);
        var seconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var host = SanitizeHost(Environment.MachineName);
        var baseName = Path.Combine(Path.GetFullPath(logDir), $"events.out.tfevents.{seconds}.{host}");
        FileStream? stream = null;
        for (var attempt = 0; stream is null; attempt++)
        {
            var candidate = attempt == 0 ? baseName : $"{baseName}.{attempt}";
            try
            {
                stream = new FileStream(candidate, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16);
                FilePath = candidate;
            }
            catch (IOException) when (File.Exists(candidate) && attempt < 1000)
            {
                // Another writer created this name in the same second; try the next suffix.
            }
        }
        _stream = stream;
        WriteEvent(step: 0, e => e.String(3, FileVersionString));  // Event.file_version
        Flush();
    }

    /// <summary>Full path of the event file being written.</summary>
    public string FilePath { get; } = "";

    /// <summary>Writes Summary.Value{tag, simple_value=value} at <paramref name="step"/>.</summary>
    public void WriteScalar(string tag, long step, float value)
    {
        ValidateTag(tag);
        WriteSummaryValue(step, tag, v => v.Float(2, value));     // Summary.Value.simple_value
    }

    /// <summary>Writes Summary.Value{tag, histo} of finite <paramref name="values"/> using TensorFlow's default buckets.</summary>
    public void WriteHistogram(string tag, long step, ReadOnlySpan<float> values)
    {
        ValidateTag(tag);
        var h = TensorBoardHistogram.Compute(tag, values);
        WriteSummaryValue(step, tag, v => v.Message(5, hw =>      // Summary.Value.histo
        {
            hw.Double(1, h.Min);
            hw.Double(2, h.Max);
            hw.Double(3, h.Num);
            hw.Double(4, h.Sum);
            hw.Double(5, h.SumSquares);
            hw.PackedDoubles(6, h.BucketLimits);
            hw.PackedDoubles(7, h.Buckets);
        }));
    }

    /// <summary>Writes Summary.Value{tag, image{height, width, colorspace=channels, encoded_image_string=png}}; png must be PNG-encoded.</summary>
    public void WriteImage(string tag, long step, byte[] png, int height, int width, int channels)
    {
        ValidateTag(tag);
        ArgumentNullException.ThrowIfNull(png);
        if (png.Length < PngSignature.Length || !png.AsSpan(0, PngSignature.Length).SequenceEqual(PngSignature))
            throw new ArgumentException($"Image '{tag}': bytes do not start with the PNG signature.", nameof(png));
        if (height <= 0 || width <= 0)
            throw new ArgumentException($"Image '{tag}': height {height} and width {width} must be positive.");
        if (channels is < 1 or > 4)
            throw new ArgumentException($"Image '{tag}': channels {channels} must be 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA).", nameof(channels));
        WriteSummaryValue(step, tag, v => v.Message(4, iw =>      // Summary.Value.image
        {
            iw.Int64(1, height);
            iw.Int64(2, width);
            iw.Int64(3, channels);
            iw.Bytes(4, png);
        }));
    }

    /// <summary>Flushes buffered events to the operating system and to disk.</summary>
    public void Flush() => Flush(toDisk: true);

    /// <summary>Flushes buffered events to the operating system (readers such as TensorBoard see them; a process crash
    /// does not lose them), and with <paramref name="toDisk"/> also to disk (fsync: a machine crash does not either).</summary>
    public void Flush(bool toDisk)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _stream.Flush(flushToDisk: toDisk);
        }
    }

    /// <summary>Flushes and closes the file; further writes throw ObjectDisposedException.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _stream.Flush(flushToDisk: true);
            _stream.Dispose();
            _disposed = true;
        }
    }

    private void WriteSummaryValue(long step, string tag, Action<ProtoWriter> value) =>
        WriteEvent(step, e => e.Message(5, s =>                  // Event.summary
            s.Message(1, v =>                                     // Summary.value
            {
                v.String(1, tag);                                 // Summary.Value.tag
                value(v);
            })));

    private void WriteEvent(long step, Action<ProtoWriter> body)
    {
        var w = new ProtoWriter();
        w.Double(1, (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds); // Event.wall_time
        if (step != 0) w.Int64(2, step);                                  // Event.step (proto3 default 0 omitted)
        body(w);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            TfRecord.WriteRecord(_stream, w.WrittenSpan);
        }
    }

    private static void ValidateTag(string tag)
    {
        if (string.IsNullOrWhiteSpace(tag))
            throw new ArgumentException("TensorBoard tag must be a non-empty string.", nameof(tag));
    }

    private static string SanitizeHost(string host)
    {
        var chars = host.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray();
        return chars.Length == 0 ? "localhost" : new string(chars);
    }
}
