namespace ActorTrainer.Core.FSharp

open System
open System.Collections.Generic
open System.IO
open System.IO.Compression
open System.Numerics.Tensors
open System.Security.Cryptography
open System.Threading.Tasks
open ActorTrainer.Core
open ActorTrainer.Core.Data

/// MNIST in the four standard IDX files, from the copy embedded in this assembly or from a directory, for F#
/// (`let train, test = Mnist.loadBundled ()`); C# calls ActorTrainer.Core.Data.Mnist (`var (train, test) = Mnist.LoadBundled()`).
module Mnist =

    /// The four standard IDX names, in the order train images, train labels, test images, test labels.
    let fileNames : string[] =
        [| "train-images-idx3-ubyte"; "train-labels-idx1-ubyte"; "t10k-images-idx3-ubyte"; "t10k-labels-idx1-ubyte" |]

    /// SHA-256 (lower-case hex) of each original uncompressed IDX file, keyed by its standard name.
    let sha256 : IReadOnlyDictionary<string, string> =
        readOnlyDict
            [ "train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
              "train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
              "t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
              "t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2" ]

    /// verify for a file given as consecutive parts (a header and a body), hashed without joining them.
    let private verifyParts (name: string) (parts: byte[] list) : unit =
        match sha256.TryGetValue name with
        | false, _ ->
            invalidArg "name" (sprintf "'%s' is not a standard MNIST file name; expected one of %s" name (String.Join(", ", fileNames)))
        | true, expected ->
            use hash = IncrementalHash.CreateHash HashAlgorithmName.SHA256
            for p in parts do hash.AppendData p
            let actual = Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant()
            if actual <> expected then
                raise (DataFormatException(
                    sprintf "MNIST file '%s': SHA-256 mismatch, expected %s, got %s (%d bytes); the data is corrupt or not the original MNIST"
                        name expected actual (parts |> List.sumBy (fun p -> int64 p.Length))))

    /// Checks that SHA-256(`bytes`) equals the published hash of the standard file `name`;
    /// throws DataFormatException naming the file, the expected and the actual hash otherwise.
    let verify (name: string) (bytes: byte[]) : unit =
        if isNull bytes then nullArg "bytes"
        verifyParts name [ bytes ]

    let private imagesDims (name: string) (arr: IdxArray) =
        if arr.Dims.Length <> 3 then
            raise (DataFormatException(
                sprintf "MNIST image file '%s': expected a 3-D array (magic 0x00000803: count, rows, columns), got %d-D (magic 0x000008%02x, shape [%s])"
                    name arr.Dims.Length arr.Dims.Length (String.Join(", ", arr.Dims))))
        if arr.Dims.[1] <= 0 || arr.Dims.[2] <= 0 then
            raise (DataFormatException(
                sprintf "MNIST image file '%s': expected positive image height and width, got %dx%d" name arr.Dims.[1] arr.Dims.[2]))
        arr.Dims.[0], arr.Dims.[1], arr.Dims.[2]

    let private labelsCount (name: string) (arr: IdxArray) =
        if arr.Dims.Length <> 1 then
            raise (DataFormatException(
                sprintf "MNIST label file '%s': expected a 1-D array (magic 0x00000801: count), got %d-D (magic 0x000008%02x, shape [%s])"
                    name arr.Dims.Length arr.Dims.Length (String.Join(", ", arr.Dims))))
        arr.Dims.[0]

    /// Checks an image header (count×h×w) against a label header (count) and the expectation.
    let private checkPair (expect: MnistExpectation) (imagesName: string) (images: int[]) (labelsName: string) (labels: int[]) =
        let count, h, w = imagesDims imagesName { Dims = images; Data = null }
        let labelCount = labelsCount labelsName { Dims = labels; Data = null }
        if count <> labelCount then
            raise (DataFormatException(
                sprintf "MNIST count mismatch: image file '%s' has %d images but label file '%s' has %d labels"
                    imagesName count labelsName labelCount))
        if expect.Features > 0 && int64 h * int64 w <> int64 expect.Features then
            raise (DataFormatException(
                sprintf "MNIST image file '%s': images are %dx%d = %d values but the model takes %d values per sample"
                    imagesName h w (int64 h * int64 w) expect.Features))

    /// Labels must lie in [0, classes): the first one outside is named with its file and index.
    let private checkLabels (classes: int) (labelsName: string) (labels: byte[]) =
        if classes > 0 then
            let i = Array.FindIndex(labels, fun y -> int y >= classes)
            if i >= 0 then
                raise (DataFormatException(
                    sprintf "MNIST label file '%s': label %d at index %d is outside [0, %d) (the model has %d classes)"
                        labelsName labels.[i] i classes classes))

    /// Builds a Dataset from an image IDX array (count×h×w) and a label IDX array (count), validating shapes and counts.
    let private toDataset (expect: MnistExpectation) (imagesName: string) (images: IdxArray) (labelsName: string) (labels: IdxArray) : Dataset =
        checkPair expect imagesName images.Dims labelsName labels.Dims
        checkLabels expect.Classes labelsName labels.Data
        let count, h, w = images.Dims.[0], images.Dims.[1], images.Dims.[2]
        let labelCount = count
        let pixels = images.Data
        let floats = ActorTrainer.Kernels.LargeArrays.Allocate<float32> pixels.Length   // 188 MB for MNIST's training set
        // pixel/255 in blocks of 16 K values (64 KB of floats, still in cache for the division): one pass over memory
        let block = 16384
        let mutable at = 0
        while at < pixels.Length do
            let n = min block (pixels.Length - at)
            let dst = Span<float32>(floats, at, n)
            TensorPrimitives.ConvertTruncating<byte, float32>(ReadOnlySpan<byte>(pixels, at, n), dst)
            TensorPrimitives.Divide(Span<float32>.op_Implicit dst, 255.0f, dst)
            at <- at + n
        let ys = Array.zeroCreate<int> labelCount
        let src = labels.Data
        for i in 0 .. labelCount - 1 do
            ys.[i] <- int src.[i]
        { Images = floats; Pixels = pixels; Labels = ys; Count = count; Height = h; Width = w; Source = imagesName }

    /// Checks the headers of the image/label pairs `names`/`dims` (fileNames order, two per pair: all four or the test
    /// pair) together — pairs, image sizes, expectation, memory — before any body is decoded.
    let private checkHeaders (expect: MnistExpectation) (names: string[]) (dims: int[][]) =
        for p in 0 .. names.Length / 2 - 1 do
            checkPair expect names.[2 * p] dims.[2 * p] names.[2 * p + 1] dims.[2 * p + 1]
        if names.Length = 4 && (dims.[0].[1] <> dims.[2].[1] || dims.[0].[2] <> dims.[2].[2]) then
            raise (DataFormatException(
                sprintf "MNIST image size mismatch: '%s' has %dx%d images but '%s' has %dx%d"
                    names.[0] dims.[0].[1] dims.[0].[2] names.[2] dims.[2].[1] dims.[2].[2]))
        // Per image value: the byte read plus its float32; per label: the byte plus its int32.
        let images = [ 0 .. 2 .. names.Length - 1 ]
        let bytes = images |> List.sumBy (fun i -> let d = dims.[i] in int64 d.[0] * (5L * int64 d.[1] * int64 d.[2] + 5L))
        let available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes
        if bytes > available then
            let what = String.Join(" and ", images |> List.map (fun i -> "'" + names.[i] + "'"))
            raise (ResourceLimitException(
                sprintf "MNIST data %s need%s %d bytes in memory but only %d bytes are available"
                    what (if images.Length = 1 then "s" else "") bytes available))

    let private pair (expect: MnistExpectation) (arrays: (string * IdxArray)[]) : Dataset * Dataset =
        let names = arrays |> Array.map fst
        checkHeaders expect names (arrays |> Array.map (fun (_, a) -> a.Dims))
        let (n0, a0), (n1, a1), (n2, a2), (n3, a3) = arrays.[0], arrays.[1], arrays.[2], arrays.[3]
        toDataset expect n0 a0 n1 a1, toDataset expect n2 a2 n3 a3

    /// The bytes of an embedded resource (11 MB in all), read whole: into one array of its size when the stream knows
    /// its length (an embedded resource does), else through a growing buffer.
    let private resourceBytes (stream: Stream) : byte[] =
        if stream.CanSeek && stream.Length - stream.Position <= int64 Array.MaxLength then
            let bytes = GC.AllocateUninitializedArray<byte>(int (stream.Length - stream.Position))
            stream.ReadExactly(bytes, 0, bytes.Length)
            bytes
        else
            use ms = new MemoryStream()
            stream.CopyTo ms
            ms.ToArray()

    /// One embedded file decoded: its gzip bytes inflated through the IDX parser straight into the body array, whose
    /// size the gzip trailer gives (ISIZE: the size mod 2³², exact for these files) — no whole-file buffer and no copy
    /// out of one — then SHA-256 of the header and body checked against the published hash. Data that does not fill
    /// exactly that size is a DataFormatException naming the resource.
    let private decodeResource (name: string) (resource: string) (gzip: byte[]) : IdxArray =
        let size = if gzip.Length >= 4 then BitConverter.ToUInt32(gzip, gzip.Length - 4) else 0u   // little-endian
        if size > uint32 Array.MaxLength then
            raise (DataFormatException(sprintf "MNIST bundle: resource '%s' claims %d bytes uncompressed" resource size))
        use gz = new GZipStream(new MemoryStream(gzip, false), CompressionMode.Decompress)
        let arr = Idx.readSized ("bundled " + resource) (int64 size) gz
        if gz.ReadByte() >= 0 then
            raise (DataFormatException(sprintf "MNIST bundle: resource '%s' does not inflate to the %d bytes its gzip trailer gives" resource size))
        verifyParts name [ Idx.headerBytes arr.Dims; arr.Data ]
        arr

    /// The embedded files `names` decoded (fresh arrays).
    let private decodeBundledFiles (names: string[]) : IdxArray[] =
        let asm = typeof<IdxArray>.Assembly
        names
        |> Array.map (fun name ->
            let resource = "mnist/" + name + ".gz"
            use stream = asm.GetManifestResourceStream resource
            if isNull stream then
                raise (DataFormatException(
                    sprintf "MNIST bundle: embedded resource '%s' is missing from assembly %s" resource (asm.GetName().Name)))
            decodeResource name resource (resourceBytes stream))

    let private copyBytes (src: byte[]) =
        let dst = GC.AllocateUninitializedArray<byte> src.Length
        Buffer.BlockCopy(src, 0, dst, 0, src.Length)
        dst

    let private bundledGate = obj ()
    let mutable private bundledCache : IdxArray[] voption = ValueNone
    let mutable private bundledHandedOut = false

    /// The bundled arrays for one caller to keep and modify. The first call in a process gets the decoded arrays
    /// themselves (`train` loads once: no 55 MB copy, whose fresh pages cost ~0.15 s on a VM with slow page faults);
    /// the second decodes once more into a cache, and it and every later call get copies of the cache.
    let private bundledArrays () : IdxArray[] =
        let copies (arrays: IdxArray[]) = arrays |> Array.map (fun a -> { a with Data = copyBytes a.Data })
        lock bundledGate (fun () ->
            match bundledCache with
            | ValueSome cached -> copies cached
            | ValueNone when not bundledHandedOut ->
                let decoded = decodeBundledFiles fileNames
                bundledHandedOut <- true
                decoded
            | ValueNone ->
                let decoded = decodeBundledFiles fileNames
                bundledCache <- ValueSome decoded
                copies decoded)

    let private bundledNamed (arrays: IdxArray[]) = Array.map2 (fun name a -> "bundled mnist/" + name + ".gz", a) fileNames arrays

    /// A decode of the bundled copy begun by prefetchBundled and not yet taken: the named arrays and the (train, test)
    /// built from them with no expectation.
    let mutable private prefetched : Task<(string * IdxArray)[] * (Dataset * Dataset)> voption = ValueNone

    /// Starts decoding the bundled copy (inflate, SHA-256, pixel/255) on a background thread, so that the next
    /// loadBundledWith waits only for what is left of it (`train` starts it once its config names no data.dir, beside
    /// its other start-up work). It decodes what the first call would have: nothing when the bundled arrays were handed
    /// out or a prefetch is pending. Its failure is thrown by the call that takes it.
    let prefetchBundled () : unit =
        lock bundledGate (fun () ->
            if not bundledHandedOut then
                bundledHandedOut <- true
                let decode () = let named = bundledNamed (decodeBundledFiles fileNames) in named, pair MnistExpectation.Any named
                prefetched <- ValueSome(Task.Factory.StartNew(decode, TaskCreationOptions.LongRunning)))

    /// (train, test) from the MNIST copy embedded in this assembly: 60000 and 10000 28×28 images, SHA-256 verified,
    /// checked against `expect`. Each call returns arrays of its own, which the caller may modify (the first call in a
    /// process, or the prefetch it takes, gets the decoded arrays; later calls get copies of a cache).
    let loadBundledWith (expect: MnistExpectation) : Dataset * Dataset =
        match lock bundledGate (fun () -> let p = prefetched in prefetched <- ValueNone; p) with
        | ValueSome pending ->
            let named, datasets = pending.GetAwaiter().GetResult()
            // the checks `pair expect` makes, in its order: headers, then each pair's labels
            checkHeaders expect (Array.map fst named) (named |> Array.map (fun (_, a) -> a.Dims))
            for i in [ 1; 3 ] do checkLabels expect.Classes (fst named.[i]) (snd named.[i]).Data
            datasets
        | ValueNone -> bundledNamed (bundledArrays ()) |> pair expect

    /// (train, test) from the bundled copy with no expectation (see loadBundledWith).
    let loadBundled () : Dataset * Dataset = loadBundledWith MnistExpectation.Any

    /// The files `names` (standard names) in `dir`, each raw or with a ".gz" suffix (not both: a name present in both
    /// forms is a DataFormatException naming the two files); all headers read and checked (checkHeaders) before any
    /// body is decoded.
    /// The files of `names` in `dir` (raw or ".gz") and their IDX headers, checked against each other and `expect`.
    let private resolveDir (expect: MnistExpectation) (dir: string) (names: string[]) : string[] * int[][] =
        if String.IsNullOrWhiteSpace dir then
            invalidArg "dir" "MNIST directory must be a non-empty path (use Mnist.load with null/\"\" for the bundled copy)"
        if File.Exists dir then
            raise (DataFormatException(sprintf "'%s' is a file, not an MNIST directory: give the directory that holds the IDX files" dir))
        if not (Directory.Exists dir) then
            raise (DataFormatException(sprintf "MNIST directory '%s' does not exist" dir))
        let resolved =
            names
            |> Array.map (fun name ->
                let raw = Path.Combine(dir, name)
                let gz = raw + ".gz"
                if File.Exists raw && File.Exists gz then
                    raise (DataFormatException(
                        sprintf "MNIST directory '%s' holds both '%s' and '%s': keep the one you mean and remove the other (the loader does not guess which is current)"
                            dir raw gz))
                name, (if File.Exists raw then Some raw elif File.Exists gz then Some gz else None))
        let missing = resolved |> Array.choose (fun (name, p) -> if p.IsNone then Some name else None)
        if missing.Length > 0 then
            raise (DataFormatException(
                sprintf "MNIST directory '%s' is missing %s (each file may be raw or gzip-compressed with a .gz suffix)"
                    dir (String.Join(", ", missing))))
        let paths = resolved |> Array.map (fun (_, p) -> p.Value)
        let headers = paths |> Array.map Idx.readHeader
        checkHeaders expect paths headers
        paths, headers

    let private readDir (expect: MnistExpectation) (dir: string) (names: string[]) : (string * IdxArray)[] =
        let paths, headers = resolveDir expect dir names
        let sameAsHeader (i: int) (dims: int[]) =
            if dims <> headers.[i] then
                raise (DataFormatException(sprintf "IDX file '%s' changed while loading (shape [%s], was [%s])"
                                               paths.[i] (String.Join(", ", dims)) (String.Join(", ", headers.[i]))))
        paths |> Array.mapi (fun i path -> path, Idx.readWith (sameAsHeader i) path)

    /// (train, test) from `dir`, which holds the four standard names, each raw or gzip-compressed with a ".gz" suffix.
    /// All four headers are read and checked against each other, `expect` and the memory available before any body is
    /// decoded; labels are checked against `expect.Classes` at load time. Throws DataFormatException naming the directory
    /// and the missing names, or the file (and label index) at fault; ResourceLimitException naming the bytes.
    let loadDirWith (expect: MnistExpectation) (dir: string) : Dataset * Dataset =
        readDir expect dir fileNames |> pair expect

    /// Checks `dir` as loadDirWith does before it decodes anything — the four files there (raw or ".gz"), their
    /// headers consistent with each other, `expect` and the memory available — without reading an image or label.
    let checkDirWith (expect: MnistExpectation) (dir: string) : unit = resolveDir expect dir fileNames |> ignore

    /// (train, test) from `dir` with no expectation (see loadDirWith).
    let loadDir (dir: string) : Dataset * Dataset = loadDirWith MnistExpectation.Any dir

    /// (train, test): the bundled copy when `dir` is null or "", else the files in `dir`; checked against `expect`
    /// before any image body is decoded.
    let loadWith (expect: MnistExpectation) (dir: string) : Dataset * Dataset =
        if String.IsNullOrEmpty dir then loadBundledWith expect else loadDirWith expect dir

    /// The test set alone (t10k-images/t10k-labels): the bundled copy when `dir` is null or "", else the two files in
    /// `dir` (raw or ".gz"), checked against `expect` as loadWith checks them; the training files are not read (what
    /// `evaluate` needs: it took 0.7–0.8 s instead of 1.6 s). A fresh Dataset per call.
    let loadTestWith (expect: MnistExpectation) (dir: string) : Dataset =
        let names = fileNames.[2..3]
        let files =
            if String.IsNullOrEmpty dir then
                let arrays = decodeBundledFiles names
                checkHeaders expect names (arrays |> Array.map (fun a -> a.Dims))
                Array.map2 (fun name a -> "bundled mnist/" + name + ".gz", a) names arrays
            else readDir expect dir names
        let (n0, a0), (n1, a1) = files.[0], files.[1]
        toDataset expect n0 a0 n1 a1

    /// (train, test): the bundled copy when `dir` is null or "", else `loadDir dir`.
    let load (dir: string) : Dataset * Dataset = loadWith MnistExpectation.Any dir
