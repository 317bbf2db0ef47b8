module ActorTrainer.Core.Tests.DataTests

open System
open System.IO
open System.IO.Compression
open Xunit
open ActorTrainer.Core
open ActorTrainer.Core.Data

/// A fresh temporary directory, deleted on dispose.
type TempDir() =
    let path = Path.Combine(Path.GetTempPath(), "at-data-" + Guid.NewGuid().ToString "N")
    do Directory.CreateDirectory path |> ignore
    member _.Path = path
    member _.File(name: string) = System.IO.Path.Combine(path, name)
    interface IDisposable with
        member _.Dispose() = if Directory.Exists path then Directory.Delete(path, true)

let private imagesArray (count: int) (h: int) (w: int) =
    { Dims = [| count; h; w |]; Data = Array.init (count * h * w) (fun i -> byte ((i * 37) % 256)) }

let private labelsArray (count: int) = { Dims = [| count |]; Data = Array.init count (fun i -> byte (i % 10)) }

/// Writes a small MNIST-like set: `n` train and `m` test samples of 3×2 images, each file raw or .gz.
let private writeSet (dir: string) (n: int) (m: int) (gzip: bool) =
    let ext = if gzip then ".gz" else ""
    Idx.write (Path.Combine(dir, Mnist.fileNames.[0] + ext)) (imagesArray n 3 2)
    Idx.write (Path.Combine(dir, Mnist.fileNames.[1] + ext)) (labelsArray n)
    Idx.write (Path.Combine(dir, Mnist.fileNames.[2] + ext)) (imagesArray m 3 2)
    Idx.write (Path.Combine(dir, Mnist.fileNames.[3] + ext)) (labelsArray m)

let private expectInvalid (f: unit -> 'a) (fragments: string list) =
    let ex = Assert.Throws<DataFormatException>(fun () -> f () |> ignore)
    for fragment in fragments do
        Assert.Contains(fragment, ex.Message)
    ex

// ---------- bundled MNIST ----------

[<Fact>]
let ``bundled MNIST has the standard counts, shapes and first labels`` () =
    let train, test = Mnist.loadBundled ()
    Assert.Equal(60000, train.Count)
    Assert.Equal(10000, test.Count)
    Assert.Equal(28, train.Height)
    Assert.Equal(28, train.Width)
    Assert.Equal(60000 * 784, train.Images.Length)
    Assert.Equal(60000 * 784, train.Pixels.Length)
    Assert.Equal(60000, train.Labels.Length)
    Assert.Equal(10000 * 784, test.Images.Length)
    Assert.Equal(5, train.Labels.[0])
    Assert.Equal(0, train.Labels.[1])
    Assert.Equal(4, train.Labels.[2])
    Assert.Equal(7, test.Labels.[0])
    Assert.Equal(2, test.Labels.[1])
    Assert.Equal(1, test.Labels.[2])
    // Class histogram of the training labels (the well-known MNIST counts).
    let hist = Array.zeroCreate<int> 10
    for y in train.Labels do hist.[y] <- hist.[y] + 1
    Assert.Equal<int[]>([| 5923; 6742; 5958; 6131; 5842; 5421; 5918; 6265; 5851; 5949 |], hist)
    Assert.Contains("train-images-idx3-ubyte", train.Source)
    Assert.Contains("t10k-images-idx3-ubyte", test.Source)

[<Fact>]
let ``bundled images are pixel over 255 in [0,1]`` () =
    let train, test = Mnist.loadBundled ()
    for ds in [ train; test ] do
        Assert.Equal(0.0f, Array.min ds.Images)
        Assert.Equal(1.0f, Array.max ds.Images)
        Assert.Equal(0uy, Array.min ds.Pixels)
        Assert.Equal(255uy, Array.max ds.Pixels)
        for i in 0 .. 7919 .. ds.Pixels.Length - 1 do
            Assert.Equal(float32 ds.Pixels.[i] / 255.0f, ds.Images.[i])
    // Row 14 of the first training digit (a "5") has ink in the middle columns, not at the borders.
    let row = train.Pixels.[14 * 28 .. 14 * 28 + 27]
    Assert.Equal(0uy, row.[0])
    Assert.Equal(0uy, row.[27])
    Assert.True(row |> Array.exists (fun p -> p > 200uy))
    // Mean pixel intensity of the training set (0.1307 is the widely used normalisation constant).
    let mean = train.Images |> Array.averageBy float
    Assert.InRange(mean, 0.1306, 0.1308)

[<Fact>]
let ``loadBundled returns fresh arrays each call`` () =
    let a, _ = Mnist.loadBundled ()
    let original = a.Pixels.[200]
    a.Pixels.[200] <- original + 1uy
    a.Images.[200] <- -1.0f
    let b, _ = Mnist.loadBundled ()
    Assert.Equal(original, b.Pixels.[200])
    Assert.Equal(float32 original / 255.0f, b.Images.[200])
    // The first call in a process may get the decoded arrays, the next ones copies of a cache: none shares an array.
    b.Pixels.[300] <- b.Pixels.[300] + 1uy
    let c, ct = Mnist.loadBundled ()
    Assert.Equal(original, c.Pixels.[200])
    Assert.Equal(a.Pixels.[300], c.Pixels.[300])
    Assert.False(obj.ReferenceEquals(a.Pixels, c.Pixels) || obj.ReferenceEquals(b.Pixels, c.Pixels))
    Assert.Equal(7, ct.Labels.[0])

[<Fact>]
let ``load with null or empty dir is the bundled copy`` () =
    let train, test = Mnist.load null
    Assert.Equal(60000, train.Count)
    Assert.Equal(10000, test.Count)
    let train2, _ = Mnist.load ""
    Assert.Equal(5, train2.Labels.[0])

[<Fact>]
let ``SHA-256 verification accepts the original and rejects altered bytes`` () =
    Assert.Equal(4, Mnist.sha256.Count)
    for name in Mnist.fileNames do Assert.True(Mnist.sha256.ContainsKey name, name)
    let bytes =
        use s = typeof<IdxArray>.Assembly.GetManifestResourceStream "mnist/t10k-labels-idx1-ubyte.gz"
        use gz = new GZipStream(s, CompressionMode.Decompress)
        use ms = new MemoryStream()
        gz.CopyTo ms
        ms.ToArray()
    Assert.Equal(10008, bytes.Length)
    Mnist.verify "t10k-labels-idx1-ubyte" bytes
    bytes.[100] <- bytes.[100] ^^^ 1uy
    expectInvalid (fun () -> Mnist.verify "t10k-labels-idx1-ubyte" bytes)
        [ "t10k-labels-idx1-ubyte"; "SHA-256 mismatch"; "expected ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2" ]
    |> ignore
    let ex = Assert.Throws<ArgumentException>(fun () -> Mnist.verify "mnist.npz" bytes)
    Assert.Contains("mnist.npz", ex.Message)

/// The embedded .gz resources inflate to the published MNIST files, and the loaded datasets hold exactly those bytes
/// (pixels, labels, and pixel/255 as float32).
[<Fact>]
let ``the bundled resources are the published MNIST files`` () =
    let inflated =
        Mnist.fileNames |> Array.map (fun name ->
            use s = typeof<IdxArray>.Assembly.GetManifestResourceStream("mnist/" + name + ".gz")
            use gz = new GZipStream(s, CompressionMode.Decompress)
            use ms = new MemoryStream()
            gz.CopyTo ms
            let bytes = ms.ToArray()
            Mnist.verify name bytes
            bytes)
    let train, test = Mnist.loadBundled ()
    let body (bytes: byte[]) = bytes.AsSpan(bytes.Length - train.Pixels.Length).ToArray()
    Assert.Equal<byte[]>(body inflated.[0], train.Pixels)
    Assert.Equal<byte[]>(inflated.[2].AsSpan(16).ToArray(), test.Pixels)
    Assert.Equal<int[]>(inflated.[1].AsSpan(8).ToArray() |> Array.map int, train.Labels)
    Assert.Equal<float32[]>(train.Pixels |> Array.map (fun p -> float32 p / 255.0f), train.Images)

[<Fact>]
let ``the bundled train set loads completely`` () =
    let train, _ = Mnist.loadBundled ()
    Assert.Equal(60000, train.Count)
    Assert.Equal(60000 * 784, train.Images.Length)

// ---------- Idx round trips ----------

[<Theory>]
[<InlineData("a.idx")>]
[<InlineData("a.idx.gz")>]
let ``Idx write then read round-trips raw and gzip`` (name: string) =
    use tmp = new TempDir()
    let arr = imagesArray 4 3 5
    let path = tmp.File name
    Idx.write path arr
    let back = Idx.read path
    Assert.Equal<int[]>([| 4; 3; 5 |], back.Dims)
    Assert.Equal<byte[]>(arr.Data, back.Data)
    let head = File.ReadAllBytes(path).[0..3]
    if name.EndsWith ".gz" then
        Assert.Equal<byte[]>([| 0x1fuy; 0x8buy |], head.[0..1])
    else
        Assert.Equal<byte[]>([| 0uy; 0uy; 8uy; 3uy |], head)
    Assert.Equal<string[]>([| name |], Directory.GetFiles tmp.Path |> Array.map Path.GetFileName)

[<Fact>]
let ``Idx detects gzip by magic bytes, not by extension`` () =
    use tmp = new TempDir()
    let arr = labelsArray 12
    Idx.write (tmp.File "x.gz") arr
    File.Move(tmp.File "x.gz", tmp.File "x.raw")
    Assert.Equal<byte[]>(arr.Data, (Idx.read (tmp.File "x.raw")).Data)
    Idx.write (tmp.File "y") arr
    File.Move(tmp.File "y", tmp.File "y.gz")
    Assert.Equal<byte[]>(arr.Data, (Idx.read (tmp.File "y.gz")).Data)

[<Fact>]
let ``Idx header is big-endian`` () =
    use tmp = new TempDir()
    Idx.write (tmp.File "l") { Dims = [| 258 |]; Data = Array.zeroCreate 258 }
    let bytes = File.ReadAllBytes(tmp.File "l")
    Assert.Equal<byte[]>([| 0uy; 0uy; 8uy; 1uy; 0uy; 0uy; 1uy; 2uy |], bytes.[0..7])
    Assert.Equal(8 + 258, bytes.Length)

[<Fact>]
let ``Idx readStream works on a non-seekable gzip stream`` () =
    use tmp = new TempDir()
    let arr = imagesArray 2 2 2
    Idx.write (tmp.File "s.gz") arr
    let bytes = File.ReadAllBytes(tmp.File "s.gz")
    use ms = new MemoryStream(bytes)
    use buffered = new BufferedStream(ms)
    let back = Idx.readStream "s" buffered
    Assert.Equal<byte[]>(arr.Data, back.Data)

[<Fact>]
let ``Idx write rejects a shape that does not match the data`` () =
    use tmp = new TempDir()
    let ex = Assert.Throws<ArgumentException>(fun () -> Idx.write (tmp.File "bad") { Dims = [| 2; 3 |]; Data = Array.zeroCreate 5 })
    Assert.Contains("[2, 3]", ex.Message)
    Assert.Contains("needs 6 bytes, Data has 5", ex.Message)
    Assert.Empty(Directory.GetFiles tmp.Path)

// ---------- Idx validation ----------

[<Fact>]
let ``Idx read of a missing file names the path`` () =
    use tmp = new TempDir()
    let ex = Assert.Throws<FileNotFoundException>(fun () -> Idx.read (tmp.File "nope") |> ignore)
    Assert.Contains(tmp.File "nope", ex.Message)

[<Fact>]
let ``Idx wrong magic number names the file`` () =
    use tmp = new TempDir()
    File.WriteAllBytes(tmp.File "bad", [| 0x12uy; 0x34uy; 8uy; 3uy; 0uy; 0uy; 0uy; 0uy |])
    expectInvalid (fun () -> Idx.read (tmp.File "bad")) [ tmp.File "bad"; "wrong magic number 0x12340803"; "0x00000803" ] |> ignore

[<Fact>]
let ``Idx wrong type code names the file`` () =
    use tmp = new TempDir()
    File.WriteAllBytes(tmp.File "f32", [| 0uy; 0uy; 0x0Duy; 1uy; 0uy; 0uy; 0uy; 1uy; 0uy; 0uy; 0uy; 0uy |])
    expectInvalid (fun () -> Idx.read (tmp.File "f32")) [ tmp.File "f32"; "wrong type code 0x0d"; "expected 0x08" ] |> ignore

[<Fact>]
let ``Idx zero dimensions is rejected`` () =
    use tmp = new TempDir()
    File.WriteAllBytes(tmp.File "z", [| 0uy; 0uy; 8uy; 0uy |])
    expectInvalid (fun () -> Idx.read (tmp.File "z")) [ tmp.File "z"; "wrong number of dimensions 0" ] |> ignore

[<Fact>]
let ``Idx truncated header reports expected and actual bytes`` () =
    use tmp = new TempDir()
    File.WriteAllBytes(tmp.File "h2", [| 0uy; 0uy |])
    expectInvalid (fun () -> Idx.read (tmp.File "h2")) [ tmp.File "h2"; "truncated header"; "expected 4 bytes"; "got 2" ] |> ignore
    File.WriteAllBytes(tmp.File "h7", [| 0uy; 0uy; 8uy; 3uy; 0uy; 0uy; 0uy; 1uy; 0uy; 0uy; 0uy |])
    expectInvalid (fun () -> Idx.read (tmp.File "h7")) [ tmp.File "h7"; "truncated header"; "expected 12 bytes"; "got 7" ] |> ignore
    File.WriteAllBytes(tmp.File "empty", [||])
    expectInvalid (fun () -> Idx.read (tmp.File "empty")) [ "truncated header"; "got 0" ] |> ignore

[<Fact>]
let ``Idx truncated data reports expected and actual bytes, raw and gzip`` () =
    use tmp = new TempDir()
    let full = Array.append [| 0uy; 0uy; 8uy; 3uy; 0uy; 0uy; 0uy; 2uy; 0uy; 0uy; 0uy; 3uy; 0uy; 0uy; 0uy; 4uy |] (Array.zeroCreate 20)
    File.WriteAllBytes(tmp.File "t", full)
    expectInvalid (fun () -> Idx.read (tmp.File "t")) [ tmp.File "t"; "truncated data"; "[2, 3, 4]"; "expected 24 bytes, got 20" ] |> ignore
    do
        use fs = File.Create(tmp.File "t.gz")
        use gz = new GZipStream(fs, CompressionLevel.Fastest)
        gz.Write(full, 0, full.Length)
    expectInvalid (fun () -> Idx.read (tmp.File "t.gz")) [ tmp.File "t.gz"; "expected 24 bytes, got 20" ] |> ignore

[<Fact>]
let ``Idx huge declared shape in a short raw file is reported without allocating it`` () =
    use tmp = new TempDir()
    File.WriteAllBytes(tmp.File "huge", Array.append [| 0uy; 0uy; 8uy; 2uy; 0uy; 0uy; 0x9Cuy; 0x40uy; 0uy; 0uy; 0x9Cuy; 0x40uy |] (Array.zeroCreate 10))
    let before = GC.GetAllocatedBytesForCurrentThread()
    expectInvalid (fun () -> Idx.read (tmp.File "huge")) [ tmp.File "huge"; "[40000, 40000]"; "expected 1600000000 bytes, got 10" ] |> ignore
    Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 10_000_000L)

[<Fact>]
let ``Idx truncated gzip stream names the file`` () =
    use tmp = new TempDir()
    let arr = { Dims = [| 5000 |]; Data = Array.init 5000 (fun i -> byte ((i * 7919) % 251)) }
    Idx.write (tmp.File "whole.gz") arr
    let bytes = File.ReadAllBytes(tmp.File "whole.gz")
    File.WriteAllBytes(tmp.File "cut.gz", bytes.[0 .. bytes.Length / 2])
    let ex = Assert.Throws<DataFormatException>(fun () -> Idx.read (tmp.File "cut.gz") |> ignore)
    Assert.Contains(tmp.File "cut.gz", ex.Message)

[<Fact>]
let ``Idx corrupt gzip names the file`` () =
    use tmp = new TempDir()
    File.WriteAllBytes(tmp.File "c.gz", [| 0x1fuy; 0x8buy; 8uy; 0uy; 0uy; 0uy; 0uy; 0uy; 0uy; 3uy; 0xFFuy; 0xFFuy; 0xFFuy; 0xFFuy; 0xFFuy |])
    let ex = Assert.Throws<DataFormatException>(fun () -> Idx.read (tmp.File "c.gz") |> ignore)
    Assert.Contains(tmp.File "c.gz", ex.Message)

// ---------- Mnist.loadDir ----------

[<Theory>]
[<InlineData(false)>]
[<InlineData(true)>]
let ``loadDir reads a small set, raw or gzip`` (gzip: bool) =
    use tmp = new TempDir()
    writeSet tmp.Path 7 4 gzip
    let train, test = Mnist.loadDir tmp.Path
    Assert.Equal(7, train.Count)
    Assert.Equal(4, test.Count)
    Assert.Equal(3, train.Height)
    Assert.Equal(2, train.Width)
    Assert.Equal<int[]>([| 0; 1; 2; 3; 4; 5; 6 |], train.Labels)
    Assert.Equal<byte[]>((imagesArray 7 3 2).Data, train.Pixels)
    Assert.Equal(float32 train.Pixels.[5] / 255.0f, train.Images.[5])
    Assert.Equal(37.0f / 255.0f, train.Images.[1])
    Assert.EndsWith(Mnist.fileNames.[0] + (if gzip then ".gz" else ""), train.Source)

[<Fact>]
let ``loadDir accepts a mix of raw and gzip files`` () =
    use tmp = new TempDir()
    writeSet tmp.Path 5 3 false
    File.Delete(tmp.File Mnist.fileNames.[3])
    Idx.write (tmp.File (Mnist.fileNames.[3] + ".gz")) (labelsArray 3)
    let _, test = Mnist.load tmp.Path
    Assert.Equal<int[]>([| 0; 1; 2 |], test.Labels)

[<Fact>]
let ``loadDir of a missing directory names it`` () =
    use tmp = new TempDir()
    let dir = tmp.File "absent"
    expectInvalid (fun () -> Mnist.loadDir dir) [ dir; "does not exist" ] |> ignore

[<Fact>]
let ``loadDir names every missing file and says gz is accepted`` () =
    use tmp = new TempDir()
    writeSet tmp.Path 3 3 false
    File.Delete(tmp.File Mnist.fileNames.[1])
    File.Delete(tmp.File Mnist.fileNames.[2])
    let ex = expectInvalid (fun () -> Mnist.loadDir tmp.Path) [ tmp.Path; "train-labels-idx1-ubyte, t10k-images-idx3-ubyte"; ".gz" ]
    Assert.DoesNotContain("train-images-idx3-ubyte", ex.Message)

[<Fact>]
let ``loadDir reports a count mismatch naming both files`` () =
    use tmp = new TempDir()
    writeSet tmp.Path 6 3 false
    Idx.write (tmp.File Mnist.fileNames.[1]) (labelsArray 5)
    expectInvalid (fun () -> Mnist.loadDir tmp.Path)
        [ "count mismatch"; tmp.File Mnist.fileNames.[0]; "has 6 images"; tmp.File Mnist.fileNames.[1]; "has 5 labels" ] |> ignore

[<Fact>]
let ``loadDir rejects labels that are not 1-D and images that are not 3-D`` () =
    use tmp = new TempDir()
    writeSet tmp.Path 4 2 false
    Idx.write (tmp.File Mnist.fileNames.[1]) { Dims = [| 4; 1 |]; Data = Array.zeroCreate 4 }
    expectInvalid (fun () -> Mnist.loadDir tmp.Path) [ tmp.File Mnist.fileNames.[1]; "expected a 1-D array"; "0x00000801"; "got 2-D" ] |> ignore
    writeSet tmp.Path 4 2 false
    Idx.write (tmp.File Mnist.fileNames.[2]) (labelsArray 2)
    expectInvalid (fun () -> Mnist.loadDir tmp.Path) [ tmp.File Mnist.fileNames.[2]; "expected a 3-D array"; "0x00000803"; "got 1-D" ] |> ignore

[<Fact>]
let ``loadDir reports a train/test image size mismatch`` () =
    use tmp = new TempDir()
    writeSet tmp.Path 4 2 false
    Idx.write (tmp.File Mnist.fileNames.[2]) (imagesArray 2 2 2)
    expectInvalid (fun () -> Mnist.loadDir tmp.Path) [ "image size mismatch"; "3x2"; "2x2" ] |> ignore

[<Fact>]
let ``loadDir reports a truncated file by name`` () =
    use tmp = new TempDir()
    writeSet tmp.Path 4 2 false
    let path = tmp.File Mnist.fileNames.[0]
    let bytes = File.ReadAllBytes path
    File.WriteAllBytes(path, bytes.[0 .. bytes.Length - 3])
    expectInvalid (fun () -> Mnist.loadDir tmp.Path) [ path; "expected 24 bytes, got 22" ] |> ignore

[<Fact>]
let ``any byte label is accepted`` () =
    use tmp = new TempDir()
    writeSet tmp.Path 3 2 false
    Idx.write (tmp.File Mnist.fileNames.[1]) { Dims = [| 3 |]; Data = [| 200uy; 255uy; 0uy |] }
    let train, _ = Mnist.loadDir tmp.Path
    Assert.Equal<int[]>([| 200; 255; 0 |], train.Labels)

// ---------- Dataset.Take ----------

[<Fact>]
let ``take returns the first n samples, 0 or too many returns all`` () =
    use tmp = new TempDir()
    writeSet tmp.Path 7 4 false
    let train, _ = Mnist.loadDir tmp.Path
    let t3 = train.Take(3)
    Assert.Equal(3, t3.Count)
    Assert.Equal<int[]>([| 0; 1; 2 |], t3.Labels)
    Assert.Equal<byte[]>(train.Pixels.[0 .. 17], t3.Pixels)
    Assert.Equal<float32[]>(train.Images.[0 .. 17], t3.Images)
    Assert.Equal(train.Source, t3.Source)
    Assert.Equal(3, t3.Height)
    Assert.Equal(7, (train.Take(0)).Count)
    Assert.Equal(7, (train.Take(100)).Count)
    Assert.Equal(7, (train.Take(7)).Labels.Length)
    let ex = Assert.Throws<ArgumentOutOfRangeException>(fun () -> train.Take(-1) |> ignore)
    Assert.Equal("n", ex.ParamName)

[<Theory>]
[<InlineData(784, 64)>]
[<InlineData(10, 7)>]
[<InlineData(33, 1)>]
[<InlineData(16, 0)>]
let ``gather copies the chosen rows in order, whatever the width`` (width: int, count: int) =
    let rows = 200
    let data = Array.init (rows * width) (fun i -> float32 i * 0.5f)
    let idx = Batching.permutation 7 0 rows true
    let dest = Array.create (count * width + 3) -1f
    Batching.gather data width idx 5 count (Span(dest, 0, count * width))
    for r in 0 .. count - 1 do
        for j in 0 .. width - 1 do
            Assert.Equal(data.[idx.[5 + r] * width + j], dest.[r * width + j])
    // nothing written past the rows
    Assert.True(dest.[count * width ..] |> Array.forall (fun v -> v = -1f))

[<Fact>]
let ``gather refuses a row index outside the data`` () =
    let data = Array.zeroCreate<float32> (4 * 784)
    let dest = Array.zeroCreate<float32> (2 * 784)
    // the bad index is the next row's (prefetched while row 0 is copied) and then the copied one
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Batching.gather data 784 [| 0; 9 |] 0 2 (Span dest))
    Assert.Contains("sample index 9 (position 1", e.Message)
    Assert.Contains("4 rows", e.Message)
    let d = Assert.Throws<ArgumentException>(fun () -> Batching.gather data 784 [| 0; 1 |] 0 2 (Span(dest, 0, 784)))
    Assert.Contains("destination holds 784 values", d.Message)
