using System.Buffers.Binary;
using System.Text;
using Xunit;

namespace ActorTrainer.Interop.Tests;

public class TensorBoardTests
{
    private static readonly byte[] TinyPng =
        Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==");

    [Fact]
    public void Crc32C_KnownVectors()
    {
        Assert.Equal(0xE3069283u, TfRecord.Crc32C(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0x00000000u, TfRecord.Crc32C([]));
        // RFC 3720 (iSCSI) B.4 test vectors: 32 bytes of zeros, 32 bytes of 0xFF, 0..31 ascending.
        Assert.Equal(0x8A9136AAu, TfRecord.Crc32C(new byte[32]));
        Assert.Equal(0x62A8AB43u, TfRecord.Crc32C(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, TfRecord.Crc32C(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
    }

    [Fact]
    public void MaskedCrc_MatchesFormulaAndUnmasks()
    {
        const uint crc = 0xE3069283u;
        var expected = unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);
        Assert.Equal(expected, TfRecord.Mask(crc));
        Assert.Equal(0xC78AB0E5u, TfRecord.Mask(crc)); // rotr15(0xE3069283) = 0x2507C60D; + 0xa282ead8
        Assert.Equal(crc, TfRecord.Unmask(TfRecord.Mask(crc)));
        Assert.Equal(0xa282ead8u, TfRecord.Mask(0));
    }

    [Fact]
    public void WriteRecord_FramingBytesMatchSpec()
    {
        using var ms = new MemoryStream();
        TfRecord.WriteRecord(ms, "123456789"u8);
        var b = ms.ToArray();
        Assert.Equal(8 + 4 + 9 + 4, b.Length);
        Assert.Equal(9ul, BinaryPrimitives.ReadUInt64LittleEndian(b));
        Assert.Equal(TfRecord.Mask(TfRecord.Crc32C(b.AsSpan(0, 8))), BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8)));
        Assert.Equal("123456789", Encoding.ASCII.GetString(b, 12, 9));
        Assert.Equal(TfRecord.Mask(0xE3069283u), BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(21)));
    }

    [Fact]
    public void DefaultBucketLimits_MatchTensorFlowLayout()
    {
        var l = TensorBoardHistogram.DefaultBucketLimits;
        Assert.Equal(1551, l.Length);
        Assert.Equal(-double.MaxValue, l[0]);
        Assert.Equal(0.0, l[775]);
        Assert.Equal(1e-12, l[776]);
        Assert.Equal(double.MaxValue, l[^1]);
        Assert.True(l[^2] < 1e20 && l[^2] * 1.1 >= 1e20);
        for (var i = 1; i < l.Length; i++) Assert.True(l[i] > l[i - 1]);
        for (var i = 0; i < 775; i++) Assert.Equal(-l[^(i + 1)], l[i]);
    }

    [Fact]
    public void Histogram_CountsAndCollapsesEmptyRunsLikeTensorFlow()
    {
        var h = TensorBoardHistogram.Compute("w", [1f, 1f, -2f, 0f]);
        Assert.Equal(-2, h.Min);
        Assert.Equal(1, h.Max);
        Assert.Equal(4, h.Num);
        Assert.Equal(0, h.Sum);
        Assert.Equal(6, h.SumSquares);
        Assert.Equal(h.BucketLimits.Length, h.Buckets.Length);
        Assert.Equal(4.0, h.Buckets.Sum());
        Assert.Equal(double.MaxValue, h.BucketLimits[^1]);
        // No two adjacent zero-count entries (runs of empty buckets are collapsed).
        for (var i = 1; i < h.Buckets.Length; i++) Assert.False(h.Buckets[i] == 0 && h.Buckets[i - 1] == 0);
        // Each non-empty bucket holds exactly the values in [previous limit, its limit).
        var limits = TensorBoardHistogram.DefaultBucketLimits.ToArray();
        foreach (var (v, n) in new[] { (-2.0, 1.0), (0.0, 1.0), (1.0, 2.0) })
        {
            var idx = Array.FindIndex(h.BucketLimits, lim => lim > v);
            Assert.Equal(n, h.Buckets[idx]);
            var full = Array.IndexOf(limits, h.BucketLimits[idx]);
            Assert.True(limits[full - 1] <= v, $"value {v} below bucket lower edge {limits[full - 1]}");
        }
        Assert.Equal(7, h.Buckets.Length); // zeros | -2 | zeros | 0 | zeros | 1,1 | zeros up to DBL_MAX

        var ex = Assert.Throws<ArgumentException>(() => TensorBoardHistogram.Compute("grad", [1f, float.NaN]));
        Assert.Contains("Histogram 'grad': value #1 is NaN", ex.Message);
    }

    /// <summary>The bucket of every value is the binary search's (upper_bound over the limits), checked on the floats
    /// nearest to each limit and their neighbours, ±0, subnormals, ±float.MaxValue, both ends of every 1/16 octave and
    /// random magnitudes.</summary>
    [Fact]
    public void Histogram_buckets_match_a_binary_search_at_every_limit()
    {
        var limits = TensorBoardHistogram.DefaultBucketLimits.ToArray();
        var values = new List<float> { 0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, -float.MaxValue, 1e-12f, -1e-12f };
        foreach (var l in limits)
        {
            var f = (float)Math.Clamp(l, -float.MaxValue, float.MaxValue);
            values.AddRange([f, MathF.BitIncrement(f), MathF.BitDecrement(f)]);
        }
        // both ends of every 1/16 octave of either sign (floats sharing sign, exponent and top four mantissa bits)
        for (uint c = 0; c < 1u << 13; c++)
            values.AddRange([BitConverter.UInt32BitsToSingle(c << 19), BitConverter.UInt32BitsToSingle(c << 19 | 0x7FFFF)]);
        var rng = new Random(7);
        for (var i = 0; i < 20000; i++) values.Add((float)((rng.Next(2) * 2 - 1) * Math.Pow(10, rng.NextDouble() * 80 - 45)));
        values.RemoveAll(v => !float.IsFinite(v));
        foreach (var chunk in values.Chunk(97))
        {
            var counts = new double[limits.Length];
            foreach (double v in chunk)
            {
                var idx = Array.BinarySearch(limits, v);
                counts[Math.Min(idx >= 0 ? idx + 1 : ~idx, limits.Length - 1)]++;
            }
            var h = TensorBoardHistogram.Compute("w", chunk);
            var nonEmpty = Enumerable.Range(0, limits.Length).Where(i => counts[i] > 0).ToArray();
            Assert.Equal(nonEmpty.Select(i => limits[i]), h.BucketLimits.Where((_, j) => h.Buckets[j] > 0));
            Assert.Equal(nonEmpty.Select(i => counts[i]), h.Buckets.Where(b => b > 0));
        }
    }

    [Fact]
    public void Flush_to_the_operating_system_only_makes_the_events_readable_while_the_file_stays_open()
    {
        using var dir = new TempDir();
        using var w = new EventFileWriter(Path.Combine(dir.Path, "logs"));
        w.WriteScalar("loss", 1, 0.5f);
        w.WriteHistogram("dense/kernel", 1, [0.1f, -0.2f, 0.3f]);
        w.Flush(toDisk: false);
        var events = EventFileReader.Read(w.FilePath);
        Assert.Equal(3, events.Count);
        Assert.Equal((TensorBoardEventKind.Scalar, "loss", 0.5f), (events[1].Kind, events[1].Tag, events[1].ScalarValue!.Value));
        Assert.Equal("dense/kernel", events[2].Tag);
        w.WriteScalar("loss", 2, 0.25f);
        w.Flush(toDisk: true);
        Assert.Equal(4, EventFileReader.Read(w.FilePath).Count);
    }

    [Fact]
    public void WriteThenRead_RoundTripsEveryValue()
    {
        using var dir = new TempDir();
        var logDir = Path.Combine(dir.Path, "logs", "run1");
        string file;
        var weights = Enumerable.Range(0, 1000).Select(i => (float)Math.Sin(i) * 0.05f).ToArray();
        var before = (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;
        using (var w = new EventFileWriter(logDir))
        {
            file = w.FilePath;
            w.WriteScalar("loss", 1, 2.302585f);
            w.WriteScalar("accuracy", 1, 0.1135f);
            w.WriteScalar("loss", 1_000_000_000_000L, -0.0f);
            w.WriteHistogram("dense/kernel", 7, weights);
            w.WriteImage("samples", 9, TinyPng, 1, 1, 4);
            w.Flush();
        }
        var after = (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;

        Assert.Equal(logDir, Path.GetDirectoryName(file));
        Assert.Matches(@"^events\.out\.tfevents\.\d{10}\.[A-Za-z0-9_.\-]+$", Path.GetFileName(file));
        var stamp = long.Parse(Path.GetFileName(file).Split('.')[3]);
        Assert.InRange(stamp, (long)before - 1, (long)after + 1);

        var events = EventFileReader.Read(file);
        Assert.Equal(6, events.Count);
        Assert.Equal(TensorBoardEventKind.FileVersion, events[0].Kind);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Equal(0, events[0].Offset);
        foreach (var e in events) Assert.InRange(e.WallTime, before - 1, after + 1);

        Assert.Equal((TensorBoardEventKind.Scalar, "loss", 1L, 2.302585f), (events[1].Kind, events[1].Tag, events[1].Step, events[1].ScalarValue!.Value));
        Assert.Equal((TensorBoardEventKind.Scalar, "accuracy", 1L, 0.1135f), (events[2].Kind, events[2].Tag, events[2].Step, events[2].ScalarValue!.Value));
        Assert.Equal(1_000_000_000_000L, events[3].Step);
        Assert.True(float.IsNegative(events[3].ScalarValue!.Value));

        var h = events[4].Histogram!;
        var expected = TensorBoardHistogram.Compute("dense/kernel", weights);
        Assert.Equal((TensorBoardEventKind.Histogram, "dense/kernel", 7L), (events[4].Kind, events[4].Tag, events[4].Step));
        Assert.Equal(weights.Min(), h.Min);
        Assert.Equal(weights.Max(), h.Max);
        Assert.Equal(1000, h.Num);
        Assert.Equal(expected.Sum, h.Sum);
        Assert.Equal(expected.SumSquares, h.SumSquares);
        Assert.Equal(expected.BucketLimits, h.BucketLimits);
        Assert.Equal(expected.Buckets, h.Buckets);
        Assert.Equal(1000.0, h.Buckets.Sum());

        var img = events[5].Image!;
        Assert.Equal((TensorBoardEventKind.Image, "samples", 9L), (events[5].Kind, events[5].Tag, events[5].Step));
        Assert.Equal((1, 1, 4), (img.Height, img.Width, img.Colorspace));
        Assert.Equal(TinyPng, img.EncodedImage);
    }

    [Fact]
    public void CorruptedOrTruncatedFile_ThrowsNamingFileAndOffset()
    {
        using var dir = new TempDir();
        string file;
        using (var w = new EventFileWriter(dir.Path))
        {
            file = w.FilePath;
            w.WriteScalar("loss", 1, 0.5f);
        }
        var good = File.ReadAllBytes(file);
        var firstLen = (int)BinaryPrimitives.ReadUInt64LittleEndian(good);
        var second = 16 + firstLen;

        var bad = (byte[])good.Clone();
        bad[second + 14] ^= 0x01; // a data byte of the second record
        File.WriteAllBytes(file, bad);
        var ex = Assert.Throws<InvalidDataException>(() => EventFileReader.Read(file));
        Assert.Contains(file, ex.Message);
        Assert.Contains($"data CRC mismatch for record at byte {second}", ex.Message);

        bad = (byte[])good.Clone();
        bad[second + 2] ^= 0x40; // the length field of the second record
        File.WriteAllBytes(file, bad);
        ex = Assert.Throws<InvalidDataException>(() => EventFileReader.Read(file));
        Assert.Contains($"length CRC mismatch at byte {second}", ex.Message);

        File.WriteAllBytes(file, good[..^3]);
        ex = Assert.Throws<InvalidDataException>(() => EventFileReader.Read(file));
        Assert.Contains($"record at byte {second}", ex.Message);
        Assert.Contains("truncated", ex.Message);

        File.WriteAllBytes(file, good[..(second + 5)]);
        ex = Assert.Throws<InvalidDataException>(() => EventFileReader.Read(file));
        Assert.Contains($"truncated record header at byte {second}", ex.Message);
    }

    [Fact]
    public void Writer_RejectsBadInputsAndDisposedUse()
    {
        using var dir = new TempDir();
        var w = new EventFileWriter(dir.Path);
        var ex = Assert.Throws<ArgumentException>(() => w.WriteImage("img", 0, [1, 2, 3], 1, 1, 1));
        Assert.Contains("Image 'img': bytes do not start with the PNG signature", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => w.WriteImage("img", 0, TinyPng, 1, 1, 5));
        Assert.Contains("channels 5", ex.Message);
        Assert.Throws<ArgumentException>(() => w.WriteScalar("", 0, 1f));
        w.Dispose();
        Assert.Throws<ObjectDisposedException>(() => w.WriteScalar("loss", 0, 1f));
        // Only the file_version event was written.
        Assert.Single(EventFileReader.Read(w.FilePath));
    }

    [Fact]
    public void TwoWritersInSameDirectory_GetDistinctFiles()
    {
        using var dir = new TempDir();
        using var a = new EventFileWriter(dir.Path);
        using var b = new EventFileWriter(dir.Path);
        Assert.NotEqual(a.FilePath, b.FilePath);
        Assert.Equal(2, Directory.GetFiles(dir.Path).Length);
    }

    [Fact]
    public void ConcurrentScalarWrites_AllRecordsIntact()
    {
        using var dir = new TempDir();
        string file;
        using (var w = new EventFileWriter(dir.Path))
        {
            file = w.FilePath;
            Parallel.For(0, 400, i => w.WriteScalar($"t{i % 4}", i, i));
        }
        var events = EventFileReader.Read(file);
        Assert.Equal(401, events.Count);
        Assert.Equal(Enumerable.Range(0, 400).Select(i => (long)i), events.Skip(1).Select(e => e.Step).Order());
        Assert.All(events.Skip(1), e => Assert.Equal(e.Step, (long)e.ScalarValue!.Value));
    }
}
