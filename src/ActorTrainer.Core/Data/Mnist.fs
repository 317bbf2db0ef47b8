namespace ActorTrainer.Core.Data

open System
open System.Collections.Generic
open System.IO
open System.IO.Compression
open System.Numerics.Tensors
open System.Security.Cryptography

/// A labelled image set: `Images` is Count×(Height·Width) row-major float32 in [0,1] (pixel/255, as in the chapter),
/// `Pixels` the same samples as raw bytes, `Labels` Count class ids; `Source` names where the images came from.
type Dataset =
    { Images: float32[]
      Pixels: byte[]
      Labels: int[]
      Count: int
      Height: int
      Width: int
      Source: string }

/// Operations on Dataset values.
module Dataset =

    /// First `n` samples (Images/Pixels n×(H·W), Labels n); `n = 0` or `n ≥ Count` returns the whole set. Throws on n < 0.
    let take (n: int) (ds: Dataset) : Dataset =
        if n < 0 then
            raise (ArgumentOutOfRangeException("n", n, sprintf "Dataset.take: n must be >= 0 (0 = all), got %d for '%s'" n ds.Source))
        if n = 0 || n >= ds.Count then ds
        else
            let pixelsPer = ds.Height * ds.Width
            { ds with
                Images = Array.sub ds.Images 0 (n * pixelsPer)
                Pixels = Array.sub ds.Pixels 0 (n * pixelsPer)
                Labels = Array.sub ds.Labels 0 n
                Count = n }

/// MNIST in the four standard IDX files: from the copy embedded in this assembly, or from a directory.
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

    /// Checks that SHA-256(`bytes`) equals the published hash of the standard file `name`;
    /// throws InvalidDataException naming the file, the expected and the actual hash otherwise.
    let verify (name: string) (bytes: byte[]) : unit =
        if isNull bytes then nullArg "bytes"
        match sha256.TryGetValue name with
        | false, _ ->
            invalidArg "name" (sprintf "'%s' is not a standard MNIST file name; expected one of %s" name (String.Join(", ", fileNames)))
        | true, expected ->
            let actual = Convert.ToHexString(SHA256.HashData bytes).ToLowerInvariant()
            if actual <> expected then
                raise (InvalidDataException(
                    sprintf "MNIST file '%s': SHA-256 mismatch, expected %s, got %s (%d bytes); the data is corrupt or not the original MNIST"
                        name expected actual bytes.Length))

    let private imagesDims (name: string) (arr: IdxArray) =
        if arr.Dims.Length <> 3 then
            raise (InvalidDataException(
                sprintf "MNIST image file '%s': expected a 3-D array (magic 0x00000803: count, rows, columns), got %d-D (magic 0x000008%02x, shape [%s])"
                    name arr.Dims.Length arr.Dims.Length (String.Join(", ", arr.Dims))))
        if arr.Dims.[1] <= 0 || arr.Dims.[2] <= 0 then
            raise (InvalidDataException(
                sprintf "MNIST image file '%s': expected positive image height and width, got %dx%d" name arr.Dims.[1] arr.Dims.[2]))
        arr.Dims.[0], arr.Dims.[1], arr.Dims.[2]

    let private labelsCount (name: string) (arr: IdxArray) =
        if arr.Dims.Length <> 1 then
            raise (InvalidDataException(
                sprintf "MNIST label file '%s': expected a 1-D array (magic 0x00000801: count), got %d-D (magic 0x000008%02x, shape [%s])"
                    name arr.Dims.Length arr.Dims.Length (String.Join(", ", arr.Dims))))
        arr.Dims.[0]

    /// Builds a Dataset from an image IDX array (count×h×w) and a label IDX array (count), validating shapes and counts.
    let private toDataset (imagesName: string) (images: IdxArray) (labelsName: string) (labels: IdxArray) : Dataset =
        let count, h, w = imagesDims imagesName images
        let labelCount = labelsCount labelsName labels
        if count <> labelCount then
            raise (InvalidDataException(
                sprintf "MNIST count mismatch: image file '%s' has %d images but label file '%s' has %d labels"
                    imagesName count labelsName labelCount))
        let pixels = images.Data
        let floats = GC.AllocateUninitializedArray<float32> pixels.Length
        TensorPrimitives.ConvertTruncating<byte, float32>(ReadOnlySpan<byte>(pixels), Span<float32>(floats))
        TensorPrimitives.Divide(ReadOnlySpan<float32>(floats), 255.0f, Span<float32>(floats))
        let ys = Array.zeroCreate<int> labelCount
        let src = labels.Data
        for i in 0 .. labelCount - 1 do
            ys.[i] <- int src.[i]
        { Images = floats; Pixels = pixels; Labels = ys; Count = count; Height = h; Width = w; Source = imagesName }

    let private pair (arrays: (string * IdxArray)[]) : Dataset * Dataset =
        let (n0, a0), (n1, a1), (n2, a2), (n3, a3) = arrays.[0], arrays.[1], arrays.[2], arrays.[3]
        let train = toDataset n0 a0 n1 a1
        let test = toDataset n2 a2 n3 a3
        if train.Height <> test.Height || train.Width <> test.Width then
            raise (InvalidDataException(
                sprintf "MNIST image size mismatch: '%s' has %dx%d images but '%s' has %dx%d"
                    n0 train.Height train.Width n2 test.Height test.Width))
        train, test

    /// Decompressed, SHA-256-verified bytes of the embedded files, decoded once per process.
    let private bundledArrays : Lazy<IdxArray[]> =
        lazy
            let asm = typeof<IdxArray>.Assembly
            fileNames
            |> Array.map (fun name ->
                let resource = "mnist/" + name + ".gz"
                use stream = asm.GetManifestResourceStream resource
                if isNull stream then
                    raise (InvalidDataException(
                        sprintf "MNIST bundle: embedded resource '%s' is missing from assembly %s" resource (asm.GetName().Name)))
                use gz = new GZipStream(stream, CompressionMode.Decompress)
                use ms = new MemoryStream()
                gz.CopyTo ms
                let bytes = ms.ToArray()
                verify name bytes
                use reader = new MemoryStream(bytes, false)
                Idx.readStream ("bundled " + resource) reader)

    let private copyBytes (src: byte[]) =
        let dst = GC.AllocateUninitializedArray<byte> src.Length
        Buffer.BlockCopy(src, 0, dst, 0, src.Length)
        dst

    /// (train, test) from the MNIST copy embedded in this assembly: 60000 and 10000 28×28 images, SHA-256 verified.
    /// Decompression is cached; each call returns fresh arrays the caller may modify.
    let loadBundled () : Dataset * Dataset =
        let arrays = bundledArrays.Force()
        fileNames
        |> Array.mapi (fun i name -> "bundled mnist/" + name + ".gz", { arrays.[i] with Data = copyBytes arrays.[i].Data })
        |> pair

    /// (train, test) from `dir`, which holds the four standard names, each raw or gzip-compressed with a ".gz" suffix.
    /// Throws InvalidDataException naming the directory and the missing names, or the file at fault.
    let loadDir (dir: string) : Dataset * Dataset =
        if String.IsNullOrWhiteSpace dir then
            invalidArg "dir" "MNIST directory must be a non-empty path (use Mnist.load with null/\"\" for the bundled copy)"
        if not (Directory.Exists dir) then
            raise (InvalidDataException(sprintf "MNIST directory '%s' does not exist" dir))
        let resolved =
            fileNames
            |> Array.map (fun name ->
                let raw = Path.Combine(dir, name)
                let gz = raw + ".gz"
                name, (if File.Exists raw then Some raw elif File.Exists gz then Some gz else None))
        let missing = resolved |> Array.choose (fun (name, p) -> if p.IsNone then Some name else None)
        if missing.Length > 0 then
            raise (InvalidDataException(
                sprintf "MNIST directory '%s' is missing %s (each file may be raw or gzip-compressed with a .gz suffix)"
                    dir (String.Join(", ", missing))))
        resolved
        |> Array.map (fun (_, p) -> let path = p.Value in path, Idx.read path)
        |> pair

    /// (train, test): the bundled copy when `dir` is null or "", else `loadDir dir`.
    let load (dir: string) : Dataset * Dataset =
        if String.IsNullOrEmpty dir then loadBundled () else loadDir dir
