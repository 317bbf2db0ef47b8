using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Shared pieces of the data plane tests: a loopback listener with a bounded Accept, connected pairs, and a
/// raw socket client that speaks the wire format by hand (independently of the implementation's encoder).</summary>
internal static class DataPlaneKit
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    /// <summary>Options with an IoTimeout so that no test can hang on a read; TCP unless `unixSockets` (the Unix
    /// socket path for same-host peers has its own tests, <see cref="DataPlaneUnixSocketTests"/>).</summary>
    public static DataPlaneOptions Options(long maxFrameBytes = 268_435_456, DataPlaneTls? tls = null, bool unixSockets = false) =>
        new(MaxFrameBytes: maxFrameBytes, MaxSections: 64, IoTimeout: Limit, Tls: tls) { UnixSockets = unixSockets };

    /// <summary>A listener on 127.0.0.1 (ephemeral port) whose refusals land in <paramref name="rejections"/>.</summary>
    public static TensorListener Listen(DataPlaneOptions options, out BlockingCollection<string> rejections)
    {
        var listener = TensorListener.Start(IPAddress.Loopback, 0, options);
        var sink = new BlockingCollection<string>();
        listener.OnRejected = sink.Add;
        rejections = sink;
        return listener;
    }

    /// <summary>Accept on a pool thread, bounded by <see cref="Limit"/>.</summary>
    public static Task<TensorConnection> AcceptAsync(TensorListener listener)
    {
        var cts = new CancellationTokenSource(Limit);
        return Task.Run(() => listener.Accept(cts.Token));
    }

    /// <summary>A connected (server, client) pair over loopback.</summary>
    public static (TensorConnection Server, TensorConnection Client) Pair(TensorListener listener, DataPlaneOptions clientOptions)
    {
        var accept = AcceptAsync(listener);
        var client = TensorConnection.Connect("127.0.0.1", listener.Endpoint.Port, clientOptions);
        Assert.True(accept.Wait(Limit), "Accept did not return within the limit");
        return (accept.Result, client);
    }

    /// <summary>A listener with one connected (server, client) pair over loopback; disposing it closes all three.</summary>
    public sealed record Link(TensorListener Listener, TensorConnection Server, TensorConnection Client) : IDisposable
    {
        public void Dispose()
        {
            Client.Dispose();
            Server.Dispose();
            Listener.Dispose();
        }
    }

    /// <summary>Disposes the link's server while a reader waits on it: asserts the reader is released (IOException or
    /// ObjectDisposedException) and returns what the client's next read throws.</summary>
    public static async Task<IOException> DisposeUnderBlockedReader(Link link)
    {
        var reader = Task.Run(() => link.Server.ReceiveHeader());
        link.Server.Dispose();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => reader.WaitAsync(Limit));
        Assert.True(error is IOException or ObjectDisposedException, error.ToString());
        return Assert.ThrowsAny<IOException>(() => link.Client.ReceiveHeader());
    }

    /// <summary>Listens with `serverOptions` and connects one client with `clientOptions`.</summary>
    public static Link Connected(DataPlaneOptions serverOptions, DataPlaneOptions clientOptions)
    {
        var listener = Listen(serverOptions, out _);
        try
        {
            var (server, client) = Pair(listener, clientOptions);
            return new Link(listener, server, client);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>The next rejection message, failing the test if none arrives within the limit.</summary>
    /// <summary>Sends `frames` frames of (floats Float32, 128 Int32) from client to server on a thread of its own and
    /// asserts that, after 100 warm-up frames, neither side allocated more than 4 KB in total.</summary>
    public static async Task AssertSteadyStateAllocatesNothing(TensorConnection server, TensorConnection client, int floats, int frames, string what)
    {
        var w = new float[floats];
        var labels = new int[128];
        var sent = Task.Factory.StartNew(() =>
        {
            long before = 0;
            for (var i = 0; i < frames; i++)
            {
                if (i == 100) before = GC.GetAllocatedBytesForCurrentThread();
                client.Send(1, 0, 0, 0, 0, Section.Of(w), Section.Of(labels));
            }
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }, TaskCreationOptions.LongRunning);
        var into = new float[floats];
        var intoLabels = new int[128];
        long start = 0;
        for (var i = 0; i < frames; i++)
        {
            if (i == 100) start = GC.GetAllocatedBytesForCurrentThread();
            server.ReceiveHeader();
            server.ReceiveSection(into);
            server.ReceiveSection(intoLabels);
        }
        var received = GC.GetAllocatedBytesForCurrentThread() - start;
        var sentBytes = await sent.WaitAsync(Limit);
        Assert.True(received < 4096, $"receiving {frames - 100} {what} frames allocated {received} bytes");
        Assert.True(sentBytes < 4096, $"sending {frames - 100} {what} frames allocated {sentBytes} bytes");
    }

    public static string NextRejection(BlockingCollection<string> rejections)
    {
        Assert.True(rejections.TryTake(out var message, Limit), "the listener reported no rejection within the limit");
        return message!;
    }

    /// <summary>A raw TCP connection to the listener; with <paramref name="handshake"/> it sends a valid hello and
    /// reads the listener's hello and accept marker and answers with its own, so that what follows is read as frames.</summary>
    public static Socket Raw(TensorListener listener, bool handshake)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 20_000, SendTimeout = 20_000 };
        socket.Connect(listener.Endpoint);
        if (!handshake) return socket;
        socket.Send(Hello());
        var buf = new byte[12];
        var got = 0;
        while (got < buf.Length) got += socket.Receive(buf, got, buf.Length - got, SocketFlags.None) is var n && n > 0 ? n : throw new EndOfStreamException("listener closed during the handshake");
        Assert.Equal("ATDP", System.Text.Encoding.ASCII.GetString(buf, 0, 4));
        Assert.Equal("ATOK", System.Text.Encoding.ASCII.GetString(buf, 8, 4));
        socket.Send("ATOK"u8);
        return socket;
    }

    /// <summary>A hello: magic, u16 version, u8 flags, u8 0.</summary>
    public static byte[] Hello(string magic = "ATDP", ushort version = 2, byte flags = 0)
    {
        var b = new byte[8];
        System.Text.Encoding.ASCII.GetBytes(magic, b);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4), version);
        b[6] = flags;
        return b;
    }

    /// <summary>A frame header written by hand: "ATDF", kind, count, A..D, then (type, length) per section.</summary>
    public static byte[] Header(byte kind, long a, params (byte Type, int Length)[] sections) =>
        HeaderWithCount(kind, a, sections.Length, sections);

    /// <summary>Like <see cref="Header"/> but with an explicit (possibly lying) section count.</summary>
    public static byte[] HeaderWithCount(byte kind, long a, int count, (byte Type, int Length)[] sections)
    {
        var b = new byte[48 + 8 * sections.Length];
        System.Text.Encoding.ASCII.GetBytes("ATDF", b);
        b[4] = kind;
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), count);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16), a);
        for (var i = 0; i < sections.Length; i++)
        {
            b[48 + 8 * i] = sections[i].Type;
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(48 + 8 * i + 4), sections[i].Length);
        }
        return b;
    }

    /// <summary>Receives whole frames until something throws; returns how many arrived and the exception.</summary>
    public static (int Frames, Exception Error) ReceiveUntilError(TensorConnection connection)
    {
        for (var frames = 0; frames < 100; frames++)
        {
            try { connection.ReceiveFrame(); }
            catch (Exception e) { return (frames, e); }
        }
        throw new Xunit.Sdk.XunitException("100 frames arrived from a hostile peer that sent at most a few");
    }

    /// <summary>Proves the listener still works: a good client connects and one frame goes each way.</summary>
    public static void AssertStillAccepts(TensorListener listener, DataPlaneOptions options)
    {
        var (server, client) = Pair(listener, options);
        using (server)
        using (client)
        {
            client.Send(7, 1, 2, 3, 4, new float[] { 1.5f, -2f });
            var (h, s) = server.ReceiveFrame();
            Assert.Equal((byte)7, h.Kind);
            Assert.Equal(new float[] { 1.5f, -2f }, (float[])s[0]);
            server.Send(8, 5, 6, 7, 8, new int[] { 42 });
            Assert.Equal(new int[] { 42 }, (int[])client.ReceiveFrame().Sections[0]);
        }
    }
}

/// <summary>Data plane round trips over loopback: all section types, empty sections and frames, many frames,
/// concurrent senders, the receive-side contract (lengths, order, skipping) and allocation-free steady state.</summary>
public class DataPlaneTests
{
    [Fact]
    public void Frames_with_all_section_types_and_empty_sections_round_trip_bit_exactly()
    {
        var options = DataPlaneKit.Options();
        using var link = DataPlaneKit.Connected(options, options);
        var (server, client) = (link.Server, link.Client);
        var rng = new Random(7);
        var floats = Enumerable.Range(0, 100_003).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        floats[3] = float.NaN; floats[4] = float.NegativeInfinity; floats[5] = -0f;
        var ints = Enumerable.Range(0, 777).Select(_ => rng.Next(int.MinValue, int.MaxValue)).ToArray();
        var bytes = Enumerable.Range(0, 13).Select(i => (byte)(i * 19)).ToArray();
        client.Send(1, long.MinValue, -1, 0, long.MaxValue, floats, ints, bytes, Array.Empty<float>(), Array.Empty<int>(), Array.Empty<byte>());
        client.Send(2, 1, 2, 3, 4);                                       // no sections at all
        client.Send(3, 9, 9, 9, 9, Section.Of(floats.AsMemory(10, 5)), Section.Of(bytes.AsMemory(0, 0)));

        var (h1, s1) = server.ReceiveFrame();
        Assert.Equal(new FrameHeader(1, long.MinValue, -1, 0, long.MaxValue, h1.Types, h1.Lengths), h1);
        Assert.Equal([SectionType.Float32, SectionType.Int32, SectionType.Bytes, SectionType.Float32, SectionType.Int32, SectionType.Bytes], h1.Types);
        Assert.Equal([100_003, 777, 13, 0, 0, 0], h1.Lengths);
        Assert.Equal(floats.Select(BitConverter.SingleToInt32Bits), ((float[])s1[0]).Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(ints, (int[])s1[1]);
        Assert.Equal(bytes, (byte[])s1[2]);
        Assert.Empty((float[])s1[3]);
        Assert.Empty((byte[])s1[5]);

        var h2 = server.ReceiveHeader();
        Assert.Equal((2, 1L, 2L, 3L, 4L, 0), (h2.Kind, h2.A, h2.B, h2.C, h2.D, h2.SectionCount));
        var (h3, s3) = server.ReceiveFrame();
        Assert.Equal((byte)3, h3.Kind);
        Assert.Equal(floats.AsSpan(10, 5).ToArray(), (float[])s3[0]);
        Assert.Empty((byte[])s3[1]);
    }

    [Fact]
    public async Task Many_frames_back_to_back_arrive_in_order()
    {
        var options = DataPlaneKit.Options();
        using var link = DataPlaneKit.Connected(options, options);
        var (server, client) = (link.Server, link.Client);
        const int frames = 3000;
        var sender = Task.Run(() =>
        {
            var payload = new float[300];
            for (var i = 0; i < frames; i++)
            {
                Array.Fill(payload, i);
                client.Send(5, i, 0, 0, 0, Section.Of(payload.AsMemory(0, i % 300)), new int[] { i });
            }
        });
        var into = new float[300];
        var label = new int[1];
        for (var i = 0; i < frames; i++)
        {
            var h = server.ReceiveHeader();
            Assert.Equal(i, h.A);
            Assert.Equal(i % 300, h.Lengths[0]);
            server.ReceiveSection(into.AsSpan(0, i % 300));
            server.ReceiveSection(label);
            Assert.Equal(i, label[0]);
            Assert.All(into.AsSpan(0, i % 300).ToArray(), x => Assert.Equal(i, x));
        }
        await sender.WaitAsync(DataPlaneKit.Limit);
    }

    [Fact]
    public async Task Concurrent_senders_never_interleave_frames()
    {
        var options = DataPlaneKit.Options();
        using var link = DataPlaneKit.Connected(options, options);
        var (server, client) = (link.Server, link.Client);
        const int perThread = 200;
        // Each frame is large enough (up to 400 KB) for the socket to take it in several writes.
        void SendAll(byte thread)
        {
            for (var i = 0; i < perThread; i++)
            {
                var n = 1000 + (i * 7919 % 100_000);
                var v = new float[n];
                Array.Fill(v, thread * 1_000_000 + i);
                client.Send(thread, i, n, 0, 0, v, new int[] { thread, i });
            }
        }
        var senders = new[] { Task.Run(() => SendAll(1)), Task.Run(() => SendAll(2)) };
        var next = new long[3];
        for (var f = 0; f < 2 * perThread; f++)
        {
            var (h, s) = server.ReceiveFrame();
            var v = (float[])s[0];
            Assert.Equal(h.B, v.Length);
            Assert.Equal(next[h.Kind]++, h.A);
            var expected = h.Kind * 1_000_000 + h.A;
            var wrong = Array.FindIndex(v, x => (long)x != expected);
            Assert.True(wrong < 0, $"frame {h.A} of sender {h.Kind}: element {wrong} is {(wrong < 0 ? 0 : v[wrong])}, not {expected}");
            Assert.Equal(new[] { (int)h.Kind, (int)h.A }, (int[])s[1]);
        }
        await Task.WhenAll(senders).WaitAsync(DataPlaneKit.Limit);
        Assert.Equal(perThread, next[1]);
        Assert.Equal(perThread, next[2]);
    }

    [Fact]
    public void Receive_contract_wrong_length_or_type_is_rejected_without_reading_and_skip_discards_the_rest()
    {
        var options = DataPlaneKit.Options();
        using var link = DataPlaneKit.Connected(options, options);
        var (server, client) = (link.Server, link.Client);
        client.Send(1, 0, 0, 0, 0, new float[] { 1, 2, 3 }, new int[] { 4 }, new byte[1000]);
        client.Send(2, 0, 0, 0, 0, new int[] { 99 });
        Assert.Throws<InvalidOperationException>(() => server.ReceiveSection(new float[3]));   // no header yet
        server.ReceiveHeader();
        var ex = Assert.Throws<ArgumentException>(() => server.ReceiveSection(new float[2]));
        Assert.Contains("section 0 has 3 floats", ex.Message);
        Assert.Throws<ArgumentException>(() => server.ReceiveSection(new int[3]));
        var f = new float[3];
        server.ReceiveSection(f);
        Assert.Equal(new float[] { 1, 2, 3 }, f);
        Assert.Throws<InvalidOperationException>(() => server.ReceiveHeader());              // sections left
        server.SkipSections();
        var (h, s) = server.ReceiveFrame();
        Assert.Equal((byte)2, h.Kind);
        Assert.Equal(new[] { 99 }, (int[])s[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => client.Send(0, 0, 0, 0, 0));
        Assert.Throws<ArgumentException>(() => client.Send(1, 0, 0, 0, 0, default(Section)));
    }

    [Fact]
    public void A_read_with_nothing_arriving_fails_after_the_io_timeout()
    {
        // IoTimeout also bounds the handshake: 1.5 s leaves a loaded test machine time to connect
        var options = DataPlaneKit.Options() with { IoTimeout = TimeSpan.FromMilliseconds(1500) };
        using var link = DataPlaneKit.Connected(options, options);
        var (server, client) = (link.Server, link.Client);
        var ex = Assert.Throws<IOException>(() => server.ReceiveHeader());
        Assert.Contains("no data for 1.5 s (IoTimeout)", ex.Message);
        Assert.Throws<IOException>(() => server.ReceiveHeader());          // unusable for receiving afterwards
    }

    [Fact]
    public async Task Disposing_the_connection_releases_a_blocked_reader_and_the_peer_sees_end_of_stream()
    {
        using var link = DataPlaneKit.Connected(DataPlaneKit.Options(), DataPlaneKit.Options());
        var eof = Assert.IsType<EndOfStreamException>(await DataPlaneKit.DisposeUnderBlockedReader(link));
        Assert.Contains("closed by the peer", eof.Message);
    }

    [Fact]
    public async Task Steady_state_send_and_receive_allocate_nothing_per_frame()
    {
        var options = DataPlaneKit.Options();
        using var link = DataPlaneKit.Connected(options, options);
        var (server, client) = (link.Server, link.Client);
        await DataPlaneKit.AssertSteadyStateAllocatesNothing(server, client, 50_000, 400, "plain");
    }
}

/// <summary>Hostile peers written with a raw socket: bad handshakes on both ends, headers that break the protocol or
/// a limit, truncated streams and lengths that do not match the bytes that follow. Each is refused with a
/// DataPlaneException or EndOfStreamException naming the problem, no huge allocation happens, and the listener
/// still accepts a good client afterwards.</summary>
public class DataPlaneHostileInputTests
{
    private static byte[] Floats(int n, float value = 1f) =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(Enumerable.Repeat(value, n).ToArray().AsSpan()).ToArray();

    /// <summary>A raw client completes the handshake, writes <paramref name="bytes"/>, closes its sending side; the
    /// accepted connection receives frames until it throws. Returns (good frames, the error, bytes allocated).</summary>
    private static (int Frames, Exception Error, long Allocated) ServerReceives(byte[] bytes, long maxFrameBytes = 268_435_456)
    {
        var options = DataPlaneKit.Options(maxFrameBytes);
        using var listener = DataPlaneKit.Listen(options, out _);
        var accept = DataPlaneKit.AcceptAsync(listener);
        (int, Exception, long) result;
        using (var raw = DataPlaneKit.Raw(listener, handshake: true))
        {
            Assert.True(accept.Wait(DataPlaneKit.Limit), "Accept did not return");
            using var server = accept.Result;
            raw.Send(bytes);
            raw.Shutdown(SocketShutdown.Send);
            var before = GC.GetAllocatedBytesForCurrentThread();
            var (frames, error) = DataPlaneKit.ReceiveUntilError(server);
            result = (frames, error, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Throws<IOException>(() => server.ReceiveHeader());      // unusable afterwards
        }
        DataPlaneKit.AssertStillAccepts(listener, options);
        return result;
    }

    private static void AssertRefused<T>((int Frames, Exception Error, long Allocated) r, string fragment, int frames = 0) where T : Exception
    {
        Assert.IsType<T>(r.Error);
        Assert.Contains(fragment, r.Error.Message);
        Assert.Contains("127.0.0.1:", r.Error.Message);
        Assert.Equal(frames, r.Frames);
        Assert.True(r.Allocated < 256 * 1024, $"receiving the hostile frame allocated {r.Allocated} bytes");
    }

    [Fact]
    public void Unknown_section_type() =>
        AssertRefused<DataPlaneException>(ServerReceives(DataPlaneKit.Header(1, 0, (1, 2), (7, 10))), "section 1 has unknown type 7");

    [Fact]
    public void Negative_length() =>
        AssertRefused<DataPlaneException>(ServerReceives(DataPlaneKit.Header(1, 0, (1, 4), (1, -5))), "section 1 length -5 floats is negative");

    [Fact]
    public void Absurd_length_is_refused_before_anything_is_allocated() =>
        AssertRefused<DataPlaneException>(ServerReceives(DataPlaneKit.Header(1, 0, (3, 10), (1, 99_999_999)), maxFrameBytes: 1 << 20),
            "section 1 length 99999999 floats exceeds max-frame-bytes 1048576");

    [Fact]
    public void Sections_that_together_exceed_max_frame_bytes() =>
        AssertRefused<DataPlaneException>(ServerReceives(DataPlaneKit.Header(1, 0, (1, 200_000), (2, 200_000)), maxFrameBytes: 1 << 20),
            "section 1 length 200000 ints exceeds max-frame-bytes 1048576");

    [Fact]
    public void Section_count_above_max_sections() =>
        AssertRefused<DataPlaneException>(ServerReceives(DataPlaneKit.HeaderWithCount(1, 0, 1_000_000, [])), "section count 1000000 is outside 0..64");

    [Fact]
    public void Kind_zero() =>
        AssertRefused<DataPlaneException>(ServerReceives(DataPlaneKit.Header(0, 0)), "kind 0");

    [Fact]
    public void Garbage_instead_of_a_header() =>
        AssertRefused<DataPlaneException>(ServerReceives(System.Text.Encoding.ASCII.GetBytes(new string('x', 64))), "is not \"ATDF\"");

    [Fact]
    public void Truncated_header() =>
        AssertRefused<EndOfStreamException>(ServerReceives(DataPlaneKit.Header(1, 0, (1, 2))[..20]), "after 20 of 48 bytes of a frame header");

    [Fact]
    public void Truncated_section_table() =>
        AssertRefused<EndOfStreamException>(ServerReceives(DataPlaneKit.Header(1, 0, (1, 2), (1, 2), (1, 2))[..56]), "after 8 of 24 bytes of the section table");

    [Fact]
    public void Truncated_payload_is_never_returned_as_complete() =>
        AssertRefused<EndOfStreamException>(ServerReceives([.. DataPlaneKit.Header(1, 0, (1, 1000)), .. Floats(100)]), "after 400 of 4000 bytes of section 0");

    [Fact]
    public void Lengths_longer_than_the_bytes_that_follow_then_close() =>
        AssertRefused<EndOfStreamException>(ServerReceives([.. DataPlaneKit.Header(1, 0, (1, 10), (2, 10)), .. Floats(10), .. Floats(5)]),
            "after 20 of 40 bytes of section 1");

    [Fact]
    public void Lengths_shorter_than_the_bytes_that_follow_are_caught_at_the_next_header() =>
        AssertRefused<DataPlaneException>(ServerReceives([.. DataPlaneKit.Header(1, 0, (1, 2)), .. Floats(2), .. Floats(20, 3f)]),
            "is not \"ATDF\"", frames: 1);

    /// <summary>A raw client sends <paramref name="hello"/> (or a prefix of it) to a listener; the listener refuses it
    /// with a message containing <paramref name="fragment"/> and then accepts a good client.</summary>
    private static void ListenerRefusesHello(byte[] hello, string fragment, TimeSpan? ioTimeout = null)
    {
        var options = DataPlaneKit.Options() with { IoTimeout = ioTimeout ?? DataPlaneKit.Limit };
        using var listener = DataPlaneKit.Listen(options, out var rejections);
        var accept = DataPlaneKit.AcceptAsync(listener);
        using (var raw = DataPlaneKit.Raw(listener, handshake: false))
        {
            if (hello.Length > 0) raw.Send(hello);
            if (ioTimeout is null) raw.Shutdown(SocketShutdown.Send);
            var message = DataPlaneKit.NextRejection(rejections);
            Assert.Contains(fragment, message);
            Assert.Contains("refused 127.0.0.1:", message);
        }
        // the good client waits the usual limit for the listener's answer: under a loaded CI run the listener's accept
        // may start later than a short IoTimeout (what is tested here is the listener's own timeout)
        var client = TensorConnection.Connect("127.0.0.1", listener.Endpoint.Port, DataPlaneKit.Options());
        Assert.True(accept.Wait(DataPlaneKit.Limit));
        using var server = accept.Result;
        using (client)
        {
            client.Send(1, 0, 0, 0, 0, new byte[] { 1 });
            Assert.Equal(new byte[] { 1 }, (byte[])server.ReceiveFrame().Sections[0]);
        }
    }

    [Fact]
    public void Listener_refuses_wrong_magic() => ListenerRefusesHello(System.Text.Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n"), "wrong magic 0x47455420");

    [Fact]
    public void Listener_refuses_wrong_version() => ListenerRefusesHello(DataPlaneKit.Hello(version: 1), "protocol version 1 is not supported");

    [Fact]
    public void Listener_refuses_a_truncated_hello() => ListenerRefusesHello(DataPlaneKit.Hello()[..3], "after 3 of 8 bytes of the hello");

    [Fact]
    public void Listener_refuses_a_silent_peer_after_the_io_timeout() =>
        ListenerRefusesHello([], "no answer within 0.5 s", TimeSpan.FromMilliseconds(500));

    /// <summary>A raw server answers Connect with <paramref name="reply"/> and closes; Connect must throw a
    /// DataPlaneException containing <paramref name="fragment"/>.</summary>
    private static void ClientRefuses(byte[] reply, string fragment)
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        server.Listen(1);
        var serve = Task.Run(() =>
        {
            using var peer = server.Accept();
            peer.Send(reply);
            var hello = new byte[8];
            peer.Receive(hello);
            peer.Shutdown(SocketShutdown.Both);
        });
        var ex = Assert.Throws<DataPlaneException>(() =>
            TensorConnection.Connect("127.0.0.1", ((IPEndPoint)server.LocalEndPoint!).Port, DataPlaneKit.Options()));
        Assert.Contains(fragment, ex.Message);
        Assert.Contains("127.0.0.1:", ex.Message);
        Assert.True(serve.Wait(DataPlaneKit.Limit));
    }

    [Fact]
    public void Client_refuses_a_server_with_wrong_magic() => ClientRefuses(DataPlaneKit.Hello("XTDP"), "wrong magic 0x58544450");

    [Fact]
    public void Client_refuses_a_server_with_wrong_version() => ClientRefuses(DataPlaneKit.Hello(version: 9), "protocol version 9 is not supported");

    [Fact]
    public void Client_refuses_a_server_that_closes_without_accepting() => ClientRefuses(DataPlaneKit.Hello(), "after 0 of 4 bytes of the accept marker");
}
