namespace ActorTrainer.Interop;

/// <summary>Reads TensorBoard event files written by <see cref="EventFileWriter"/> (or TensorFlow), verifying every TFRecord CRC.</summary>
public static class EventFileReader
{
    /// <summary>
    /// Parses every record of <paramref name="path"/> into events (one per Summary.Value); throws InvalidDataException naming the
    /// file and byte offset on truncation, CRC mismatch or malformed protobuf.
    /// </summary>
    public static IReadOnlyList<TensorBoardEvent> Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var bytes = File.ReadAllBytes(path);
        var result = new List<TensorBoardEvent>();
        foreach (var (offset, data) in TfRecord.ReadRecords(bytes, path))
        {
            try
            {
                ParseEvent(offset, data, result);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"Event file '{path}': malformed Event proto in record at byte {offset}: {e.Message}", e);
            }
        }
        return result;
    }

    private static void ParseEvent(long offset, byte[] data, List<TensorBoardEvent> into)
    {
        var r = new ProtoReader(data);
        double wall = 0;
        long step = 0;
        string? fileVersion = null;
        var values = new List<byte[]>();
        var hasOther = false;
        while (!r.End)
        {
            var (field, wt) = r.ReadTag();
            switch (field)
            {
                case 1: r.Expect(wt, 1); wall = r.ReadDouble(); break;
                case 2: r.Expect(wt, 0); step = (long)r.ReadVarint(); break;
                case 3: r.Expect(wt, 2); fileVersion = r.ReadString(); break;
                case 5:
                {
                    r.Expect(wt, 2);
                    var summary = new ProtoReader(r.ReadBytes());
                    while (!summary.End)
                    {
                        var (sf, swt) = summary.ReadTag();
                        if (sf == 1)
                        {
                            summary.Expect(swt, 2);
                            values.Add(summary.ReadBytes().ToArray());
                        }
                        else summary.Skip(swt);
                    }
                    break;
                }
                default: r.Skip(wt); hasOther = true; break;
            }
        }

        if (fileVersion is not null)
            into.Add(new TensorBoardEvent(offset, wall, step, TensorBoardEventKind.FileVersion, null, FileVersion: fileVersion));
        foreach (var v in values)
            into.Add(ParseValue(offset, wall, step, v));
        if (fileVersion is null && values.Count == 0 && hasOther)
            into.Add(new TensorBoardEvent(offset, wall, step, TensorBoardEventKind.Other, null));
    }

    private static TensorBoardEvent ParseValue(long offset, double wall, long step, byte[] data)
    {
        var r = new ProtoReader(data);
        string? tag = null;
        float? scalar = null;
        HistogramData? histo = null;
        ImageData? image = null;
        while (!r.End)
        {
            var (field, wt) = r.ReadTag();
            switch (field)
            {
                case 1: r.Expect(wt, 2); tag = r.ReadString(); break;
                case 2: r.Expect(wt, 5); scalar = r.ReadFloat(); break;
                case 4: r.Expect(wt, 2); image = ParseImage(r.ReadBytes()); break;
                case 5: r.Expect(wt, 2); histo = ParseHistogram(r.ReadBytes()); break;
                default: r.Skip(wt); break;
            }
        }
        var kind = scalar is not null ? TensorBoardEventKind.Scalar
            : histo is not null ? TensorBoardEventKind.Histogram
            : image is not null ? TensorBoardEventKind.Image
            : TensorBoardEventKind.Other;
        return new TensorBoardEvent(offset, wall, step, kind, tag, ScalarValue: scalar, Histogram: histo, Image: image);
    }

    private static HistogramData ParseHistogram(ReadOnlySpan<byte> data)
    {
        var r = new ProtoReader(data);
        double min = 0, max = 0, num = 0, sum = 0, sumSq = 0;
        var limits = new List<double>();
        var buckets = new List<double>();
        while (!r.End)
        {
            var (field, wt) = r.ReadTag();
            switch (field)
            {
                case 1: r.Expect(wt, 1); min = r.ReadDouble(); break;
                case 2: r.Expect(wt, 1); max = r.ReadDouble(); break;
                case 3: r.Expect(wt, 1); num = r.ReadDouble(); break;
                case 4: r.Expect(wt, 1); sum = r.ReadDouble(); break;
                case 5: r.Expect(wt, 1); sumSq = r.ReadDouble(); break;
                case 6: r.ReadDoubles(wt, limits); break;
                case 7: r.ReadDoubles(wt, buckets); break;
                default: r.Skip(wt); break;
            }
        }
        if (limits.Count != buckets.Count)
            throw new InvalidDataException($"HistogramProto has {limits.Count} bucket_limit entries but {buckets.Count} bucket entries.");
        return new HistogramData(min, max, num, sum, sumSq, limits.ToArray(), buckets.ToArray());
    }

    private static ImageData ParseImage(ReadOnlySpan<byte> data)
    {
        var r = new ProtoReader(data);
        int height = 0, width = 0, colorspace = 0;
        var encoded = Array.Empty<byte>();
        while (!r.End)
        {
            var (field, wt) = r.ReadTag();
            switch (field)
            {
                case 1: r.Expect(wt, 0); height = (int)r.ReadVarint(); break;
                case 2: r.Expect(wt, 0); width = (int)r.ReadVarint(); break;
                case 3: r.Expect(wt, 0); colorspace = (int)r.ReadVarint(); break;
                case 4: r.Expect(wt, 2); encoded = r.ReadBytes().ToArray(); break;
                default: r.Skip(wt); break;
            }
        }
        return new ImageData(height, width, colorspace, encoded);
    }
}
