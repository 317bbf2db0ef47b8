/// Reproductions of issue 10 for IDX/MNIST data: sizes are checked from the headers before any body is decoded, a
/// truncated gzip never costs its claimed size, trailing bytes and out-of-range labels are named at load time.
module ActorTrainer.Core.Tests.DataValidationTests

open System
open System.IO
open System.IO.Compression
open Xunit
open ActorTrainer.Core
open ActorTrainer.Core.Data

let private withDir (f: string -> unit) =
    let dir = Path.Combine(Path.GetTempPath(), "at-datav-" + Guid.NewGuid().ToString "N")
    Directory.CreateDirectory dir |> ignore
    try f dir finally Directory.Delete(dir, true)

let private header (dims: int[]) =
    let h = Array.zeroCreate<byte> (4 + 4 * dims.Length)
    h.[2] <- 8uy
    h.[3] <- byte dims.Length
    dims |> Array.iteri (fun i d -> Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(Span(h, 4 + 4 * i, 4), d))
    h

/// Writes a gzip IDX file with `dims` in its header and `bodyBytes` zero bytes after it (streamed, never in memory).
let private writeGz (path: string) (dims: int[]) (bodyBytes: int64) =
    use fs = File.Create path
    use gz = new GZipStream(fs, CompressionLevel.SmallestSize)
    gz.Write(header dims)
    let zeros = Array.zeroCreate<byte> (1 <<< 20)
    let mutable left = bodyBytes
    while left > 0L do
        let n = int (min left (int64 zeros.Length))
        gz.Write(zeros, 0, n)
        left <- left - int64 n

let private writeSmall (dir: string) (name: string) (arr: IdxArray) = Idx.write (Path.Combine(dir, name)) arr
let private images (n: int) (h: int) (w: int) = { Dims = [| n; h; w |]; Data = Array.init (n * h * w) (fun i -> byte (i % 251)) }
let private labels (ys: byte[]) = { Dims = [| ys.Length |]; Data = ys }

/// A seekable stream of `length` bytes, `head` then zeros never held in memory: a raw IDX file whose data is really there.
type private LongStream(head: byte[], length: int64) =
    inherit Stream()
    let mutable pos = 0L
    override _.CanRead = true
    override _.CanSeek = true
    override _.CanWrite = false
    override _.Length = length
    override _.Position
        with get () = pos
        and set v = pos <- v
    override _.Flush() = ()
    override _.Seek(offset: int64, origin: SeekOrigin) =
        pos <- (match origin with SeekOrigin.Begin -> offset | SeekOrigin.Current -> pos + offset | _ -> length + offset)
        pos
    override _.SetLength(_: int64) = raise (NotSupportedException())
    override _.Write(_: byte[], _: int, _: int) = raise (NotSupportedException())
    override _.Read(buffer: byte[], offset: int, count: int) =
        let n = int (min (int64 count) (length - pos))
        for i in 0 .. n - 1 do
            let at = pos + int64 i
            buffer.[offset + i] <- if at < int64 head.Length then head.[int at] else 0uy
        pos <- pos + int64 n
        n

/// The 16-byte header of an MNIST image file (magic 0x00000803) claiming `count` images of 28x28.
let private imageHeader (count: uint32) =
    let h = header [| 0; 28; 28 |]
    Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(Span(h, 4, 4), count)
    h

let private allocatedBy (f: unit -> unit) =
    let before = GC.GetAllocatedBytesForCurrentThread()
    f ()
    GC.GetAllocatedBytesForCurrentThread() - before

[<Fact>]
let ``gzip files decoding to 3e8 1x1 images are refused from the header when the model takes 784 values`` () =
    withDir (fun dir ->
        writeGz (Path.Combine(dir, "train-images-idx3-ubyte.gz")) [| 300_000_000; 1; 1 |] 300_000_000L
        writeGz (Path.Combine(dir, "train-labels-idx1-ubyte.gz")) [| 300_000_000 |] 300_000_000L
        writeSmall dir "t10k-images-idx3-ubyte" (images 2 28 28)
        writeSmall dir "t10k-labels-idx1-ubyte" (labels [| 1uy; 2uy |])
        Assert.True(FileInfo(Path.Combine(dir, "train-images-idx3-ubyte.gz")).Length < 400_000L)
        let mutable ex = Unchecked.defaultof<DataFormatException>
        let bytes = allocatedBy (fun () ->
            ex <- Assert.Throws<DataFormatException>(fun () -> Mnist.loadDirWith { Features = 784; Classes = 10 } dir |> ignore))
        Assert.True(bytes < 20_000_000L, sprintf "allocated %d bytes before refusing" bytes)
        Assert.Contains("train-images-idx3-ubyte.gz", ex.Message)
        Assert.Contains("1x1 = 1 values but the model takes 784", ex.Message))

[<Fact>]
let ``a header claiming more elements than an array holds is refused without reading the body`` () =
    withDir (fun dir ->
        let path = Path.Combine(dir, "x.gz")
        writeGz path [| 60000; 60000; 60000 |] 10L
        let ex = Assert.Throws<ResourceLimitException>(fun () -> Idx.read path |> ignore)
        Assert.Contains("[60000, 60000, 60000]", ex.Message)
        Assert.Contains(path, ex.Message))

[<Fact>]
let ``a dimension above 2^31 is refused with its real unsigned value, raw and gzip`` () =
    withDir (fun dir ->
        // 4_000_000_000 = 0xEE6B2800: read as a signed int32 it was reported as -294967296
        // (raw: a stream as long as the header says; a raw file shorter than that is truncated, the test below)
        let h = imageHeader 4_000_000_000u
        let gz = Path.Combine(dir, "big.gz")
        do
            use fs = File.Create gz
            use z = new GZipStream(fs, CompressionLevel.Fastest)
            z.Write(h, 0, h.Length)
        let fromRaw () = use s = new LongStream(h, 16L + 4_000_000_000L * 784L) in Idx.readStream "big" s |> ignore
        for path, read in [ "big", fromRaw; gz, (fun () -> Idx.read gz |> ignore) ] do
            let ex = Assert.Throws<ResourceLimitException>(read)
            Assert.Contains(path, ex.Message)
            Assert.Contains("dimension 0 of shape [4000000000, 28, 28] has size 4000000000", ex.Message)
            Assert.DoesNotContain("-294967296", ex.Message)
        Assert.Equal<string>(Assert.Throws<ResourceLimitException>(fun () -> Idx.read gz |> ignore).Message,
                             Assert.Throws<ResourceLimitException>(fun () -> Idx.readHeader gz |> ignore).Message))

[<Fact>]
let ``a 16-byte file whose header claims 2^31 images is truncated, not too big: the bytes promised and held`` () =
    withDir (fun dir ->
        // before: "dimension 0 ... has size 2147483648, more than the largest supported" / "more elements than the maximum array length"
        for count, expected in [ 2147483648u, "1683627180032"; 2147483647u, "1683627179248"; 1_000_000u, "784000000" ] do
            let path = Path.Combine(dir, sprintf "images-%d" count)
            File.WriteAllBytes(path, imageHeader count)
            let ex = Assert.Throws<DataFormatException>(fun () -> Idx.read path |> ignore)
            Assert.Equal(sprintf "IDX file '%s': truncated data for shape [%d, 28, 28], expected %s bytes, got 0 (the file is 16 bytes long, its header 16 of them)"
                             path count expected, ex.Message)
            Assert.Equal<string>(ex.Message, Assert.Throws<DataFormatException>(fun () -> Idx.readHeader path |> ignore).Message)
        // the loader reads every header before anything else: the same message, not a memory limit
        let mnist = Path.Combine(dir, "mnist")
        Directory.CreateDirectory mnist |> ignore
        File.WriteAllBytes(Path.Combine(mnist, "train-images-idx3-ubyte"), imageHeader 2147483648u)
        writeSmall mnist "train-labels-idx1-ubyte" (labels [| 1uy; 2uy |])
        writeSmall mnist "t10k-images-idx3-ubyte" (images 2 28 28)
        writeSmall mnist "t10k-labels-idx1-ubyte" (labels [| 1uy; 2uy |])
        let ex = Assert.Throws<DataFormatException>(fun () -> Mnist.loadDir mnist |> ignore)
        Assert.Contains("train-images-idx3-ubyte': truncated data for shape [2147483648, 28, 28], expected 1683627180032 bytes, got 0", ex.Message))

[<Fact>]
let ``a raw stream really as long as its header claims keeps the size-limit error`` () =
    let tooMany = imageHeader 2147483647u      // 1.68e12 bytes: more than one array holds
    use s = new LongStream(tooMany, 16L + 2147483647L * 784L)
    let ex = Assert.Throws<ResourceLimitException>(fun () -> Idx.readStream "long" s |> ignore)
    Assert.Equal(sprintf "IDX file 'long': shape [2147483647, 28, 28] has more elements (bytes) than the maximum array length %d" Array.MaxLength, ex.Message)
    // one byte short of the claim: truncated, named with both counts
    use short = new LongStream(tooMany, 16L + 2147483647L * 784L - 1L)
    let cut = Assert.Throws<DataFormatException>(fun () -> Idx.readStream "short" short |> ignore)
    Assert.Contains("expected 1683627179248 bytes, got 1683627179247", cut.Message)

[<Fact>]
let ``a truncated gzip claiming 900 MB costs only what it holds`` () =
    withDir (fun dir ->
        let path = Path.Combine(dir, "cut.gz")
        writeGz path [| 1; 30000; 30000 |] 1000L
        let mutable ex = Unchecked.defaultof<DataFormatException>
        let bytes = allocatedBy (fun () -> ex <- Assert.Throws<DataFormatException>(fun () -> Idx.read path |> ignore))
        Assert.True(bytes < 20_000_000L, sprintf "allocated %d bytes for 1000 bytes of data" bytes)
        Assert.Contains("truncated data", ex.Message)
        Assert.Contains("expected 900000000 bytes, got 1000", ex.Message))

[<Fact>]
let ``trailing bytes after the data are named, raw and gzip`` () =
    withDir (fun dir ->
        let raw = Path.Combine(dir, "r")
        File.WriteAllBytes(raw, Array.append (header [| 3 |]) [| 1uy; 2uy; 3uy; 4uy; 5uy |])
        let ex = Assert.Throws<DataFormatException>(fun () -> Idx.read raw |> ignore)
        Assert.Contains("2 trailing bytes", ex.Message)
        let gz = Path.Combine(dir, "g.gz")
        writeGz gz [| 3 |] 4L
        let ex2 = Assert.Throws<DataFormatException>(fun () -> Idx.read gz |> ignore)
        Assert.Contains("trailing data", ex2.Message)
        Assert.Contains(gz, ex2.Message))

[<Theory>]
[<InlineData(true)>]
[<InlineData(false)>]
let ``a label outside [0, classes) is named with file, index and value at load time`` (inTrain: bool) =
    withDir (fun dir ->
        let good = [| 0uy; 1uy; 2uy; 3uy; 4uy; 5uy; 6uy; 7uy; 8uy; 9uy |]
        let badYs = Array.copy good
        badYs.[7] <- 12uy
        writeSmall dir "train-images-idx3-ubyte" (images 10 2 2)
        writeSmall dir "train-labels-idx1-ubyte" (labels (if inTrain then badYs else good))
        writeSmall dir "t10k-images-idx3-ubyte" (images 10 2 2)
        writeSmall dir "t10k-labels-idx1-ubyte.gz" (labels (if inTrain then good else badYs))
        let ex = Assert.Throws<DataFormatException>(fun () -> Mnist.loadDirWith { Features = 4; Classes = 10 } dir |> ignore)
        Assert.Contains((if inTrain then "train-labels-idx1-ubyte'" else "t10k-labels-idx1-ubyte.gz"), ex.Message)
        Assert.Contains("label 12 at index 7 is outside [0, 10)", ex.Message)
        // Without an expectation the same data loads (labels are only bytes to the reader).
        let train, test = Mnist.loadDir dir
        Assert.Equal(12, (if inTrain then train else test).Labels.[7]))

[<Fact>]
let ``the bundled copy is checked against the expectation too`` () =
    let ex = Assert.Throws<DataFormatException>(fun () -> Mnist.loadWith { Features = 100; Classes = 10 } null |> ignore)
    Assert.Contains("28x28 = 784 values but the model takes 100", ex.Message)
    let ex2 = Assert.Throws<DataFormatException>(fun () -> Mnist.loadBundledWith { Features = 784; Classes = 5 } |> ignore)
    Assert.Contains("outside [0, 5)", ex2.Message)
    let train, _ = Mnist.loadWith { Features = 784; Classes = 10 } ""
    Assert.Equal(60000, train.Count)

[<Fact>]
let ``the test set loads alone, the same as loadWith's, with the same checks`` () =
    // bundled: the same samples as the pair's test set
    let _, full = Mnist.loadWith { Features = 784; Classes = 10 } null
    let test = Mnist.loadTestWith { Features = 784; Classes = 10 } null
    Assert.Equal(10000, test.Count)
    Assert.Equal(full.Source, test.Source)
    Assert.Equal<float32>(full.Images, test.Images)
    Assert.Equal<int>(full.Labels, test.Labels)
    Assert.Contains("28x28 = 784 values but the model takes 100",
                    Assert.Throws<DataFormatException>(fun () -> Mnist.loadTestWith { Features = 100; Classes = 10 } "" |> ignore).Message)
    // a directory with only the test files: enough; a bad label or a missing file is named
    withDir (fun dir ->
        writeSmall dir "t10k-images-idx3-ubyte" (images 3 2 2)
        writeSmall dir "t10k-labels-idx1-ubyte.gz" (labels [| 4uy; 11uy; 2uy |])
        let ds = Mnist.loadTestWith MnistExpectation.Any dir
        Assert.Equal(3, ds.Count)
        Assert.Equal<int>([| 4; 11; 2 |], ds.Labels)
        let ex = Assert.Throws<DataFormatException>(fun () -> Mnist.loadTestWith { Features = 4; Classes = 10 } dir |> ignore)
        Assert.Contains("t10k-labels-idx1-ubyte.gz': label 11 at index 1 is outside [0, 10)", ex.Message)
        File.Delete(Path.Combine(dir, "t10k-images-idx3-ubyte"))
        let missing = Assert.Throws<DataFormatException>(fun () -> Mnist.loadTestWith MnistExpectation.Any dir |> ignore)
        Assert.Contains(sprintf "MNIST directory '%s' is missing t10k-images-idx3-ubyte" dir, missing.Message)
        Assert.DoesNotContain("train", missing.Message))

[<Theory>]
[<InlineData("train-images-idx3-ubyte")>]
[<InlineData("t10k-labels-idx1-ubyte")>]
let ``a file next to its gz twin is refused naming both, the test set alone too`` (twin: string) =
    withDir (fun dir ->
        let ys = [| 0uy; 1uy; 2uy |]
        writeSmall dir "train-images-idx3-ubyte" (images 3 2 2)
        writeSmall dir "train-labels-idx1-ubyte.gz" (labels ys)
        writeSmall dir "t10k-images-idx3-ubyte.gz" (images 3 2 2)
        writeSmall dir "t10k-labels-idx1-ubyte" (labels ys)
        Mnist.loadDir dir |> ignore                         // one form of each name: loads
        let existing = if File.Exists(Path.Combine(dir, twin)) then twin else twin + ".gz"
        let other = if existing = twin then twin + ".gz" else twin
        File.Copy(Path.Combine(dir, existing), Path.Combine(dir, other))
        let both = sprintf "MNIST directory '%s' holds both '%s' and '%s'" dir (Path.Combine(dir, twin)) (Path.Combine(dir, twin + ".gz"))
        let ex = Assert.Throws<DataFormatException>(fun () -> Mnist.loadDir dir |> ignore)
        Assert.Contains(both, ex.Message)
        Assert.Contains("remove the other", ex.Message)
        if twin.StartsWith "t10k" then
            Assert.Contains(both, Assert.Throws<DataFormatException>(fun () -> Mnist.loadTestWith MnistExpectation.Any dir |> ignore).Message)
        else
            Assert.Equal(3, (Mnist.loadTestWith MnistExpectation.Any dir).Count))   // the test set alone never reads the training files
