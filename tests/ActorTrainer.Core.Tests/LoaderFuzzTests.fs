/// Fuzz suite over the file formats the loaders read: IDX (raw and gzip, single files and MNIST directories),
/// safetensors, and model directories (config.json, model.safetensors, optimizer.safetensors). Only the typed input
/// errors may escape (InputException subclasses; InvalidDataException from the Interop-level safetensors API); no
/// hang; allocation per case bounded. Seeds are fixed (override with ACTORTRAINER_FUZZ_SEED / _CASES).
module ActorTrainer.Core.Tests.LoaderFuzzTests

open System
open System.IO
open System.IO.Compression
open System.Text
open Xunit
open ActorTrainer.Core
open ActorTrainer.Core.Data
open ActorTrainer.Interop
open ActorTrainer.Core.Tests.FuzzHarness

let private isInput (e: exn) = e :? InputException
let private cap = 32L * 1024L * 1024L

let private withDir (f: string -> unit) =
    let dir = Path.Combine(Path.GetTempPath(), "at-fuzz-" + Guid.NewGuid().ToString "N")
    Directory.CreateDirectory dir |> ignore
    try f dir finally Directory.Delete(dir, true)

let private idxBytes (arr: IdxArray) (gz: bool) =
    let path = Path.Combine(Path.GetTempPath(), sprintf "at-fuzz-%s%s" (Guid.NewGuid().ToString "N") (if gz then ".gz" else ""))
    try
        Idx.write path arr
        File.ReadAllBytes path
    finally File.Delete path

let private gzip (bytes: byte[]) =
    use ms = new MemoryStream()
    do
        use gz = new GZipStream(ms, CompressionLevel.Fastest, true)
        gz.Write(bytes, 0, bytes.Length)
    ms.ToArray()

let private images = { Dims = [| 3; 4; 5 |]; Data = Array.init 60 (fun i -> byte (i * 7)) }
let private labels = { Dims = [| 3 |]; Data = [| 1uy; 7uy; 9uy |] }

[<Fact>]
let ``fuzz IDX raw headers and bodies`` () =
    let seed = seedFor 1001UL
    for (name, arr) in [ "images", images; "labels", labels ] do
        let input = idxBytes arr false
        let ps = plans seed (casesFor 300) (planGen input.Length 16 false)
        check ("idx raw " + name) seed input ps cap isInput (fun bytes ->
            use ms = new MemoryStream(bytes, false)
            Idx.readStream "fuzz" ms |> ignore)

[<Fact>]
let ``fuzz IDX gzip: mutated compressed bytes and compressed mutated bytes`` () =
    let seed = seedFor 1002UL
    let input = idxBytes images true
    check "idx gz bytes" seed input (plans seed (casesFor 200) (planGen input.Length 16 false)) cap isInput (fun bytes ->
        use ms = new MemoryStream(bytes, false)
        Idx.readStream "fuzz.gz" ms |> ignore)
    let raw = idxBytes images false
    check "idx gz content" seed raw (plans seed (casesFor 200) (planGen raw.Length 16 false)) cap isInput (fun bytes ->
        use ms = new MemoryStream(gzip bytes, false)
        Idx.readStream "fuzz.gz" ms |> ignore)

[<Fact>]
let ``fuzz MNIST directories with expectations`` () =
    let seed = seedFor 1003UL
    withDir (fun dir ->
        let files = [| images; labels; images; labels |]
        let write (i: int) (bytes: byte[]) = File.WriteAllBytes(Path.Combine(dir, Mnist.fileNames.[i]), bytes)
        let originals = files |> Array.map (fun a -> idxBytes a false)
        for target in 0 .. 3 do
            let input = originals.[target]
            let ps = plans (seed + uint64 target) (casesFor 50) (planGen input.Length 16 false)
            check (sprintf "mnist dir %s" Mnist.fileNames.[target]) (seed + uint64 target) input ps cap isInput (fun bytes ->
                originals |> Array.iteri write
                write target bytes
                Mnist.loadDirWith { Features = 20; Classes = 10 } dir |> ignore))

let private safetensorsFile () =
    let path = Path.Combine(Path.GetTempPath(), "at-fuzz-" + Guid.NewGuid().ToString "N" + ".safetensors")
    try
        Safetensors.WriteTyped(path,
            [| TypedTensor("w", SafetensorsDType.F32, [| 2; 3 |], [| 1.0f; 2.0f; 3.0f; 4.0f; 5.0f; 6.0f |])
               TypedTensor("n", SafetensorsDType.I32, [| 2 |], [| 7; -1 |])
               TypedTensor("d", SafetensorsDType.F64, [| 1; 1 |], [| Math.PI |]) |],
            readOnlyDict [ "format", "pt"; "weights", "3" ])
        File.ReadAllBytes path
    finally File.Delete path

/// Splits a safetensors file into (header JSON, data) and reassembles one with the header's new length.
let private headerOf (file: byte[]) =
    let n = int (BitConverter.ToUInt64(file, 0))
    file.[8 .. 8 + n - 1], file.[8 + n ..]

let private assemble (header: byte[]) (data: byte[]) =
    Array.concat [ BitConverter.GetBytes(uint64 header.Length); header; data ]

[<Fact>]
let ``fuzz safetensors: binary mutations and absurd header values`` () =
    let seed = seedFor 1004UL
    let input = safetensorsFile ()
    let header, data = headerOf input
    withDir (fun dir ->
        let path = Path.Combine(dir, "f.safetensors")
        let read (bytes: byte[]) =
            File.WriteAllBytes(path, bytes)
            Safetensors.ReadTyped path |> ignore
        let isData (e: exn) = e :? InvalidDataException
        check "safetensors bytes" seed input (plans seed (casesFor 300) (planGen input.Length (8 + header.Length) false)) cap isData read
        check "safetensors header" seed header (plans seed (casesFor 300) (planGen header.Length header.Length true)) cap isData
            (fun h -> read (assemble h data)))

/// A saved, compiled, trained model directory; returns its path and the original bytes of its three files.
let private savedModel (dir: string) =
    let m = Sequential([ Dense(5, "relu") :> Layer; Dropout(0.2) :> Layer; Flatten() :> Layer; Dense(3, "softmax") :> Layer ], "fz", seed = 4)
    m.Compile(Adam(), "sparse_categorical_crossentropy", [ "accuracy" ])
    m.FitArrays(ArrayData.OfLabels(Array.init 24 (fun i -> float32 i / 24.0f), 4, Array.init 6 (fun i -> i % 3)),
                epochs = 1, batchSize = 3, verbose = 0) |> ignore
    let path = Path.Combine(dir, "model")
    m.Save path
    let files = [| ModelFiles.ConfigFile; ModelFiles.WeightsFile; ModelFiles.OptimizerFile |]
    path, files |> Array.map (fun f -> f, File.ReadAllBytes(Path.Combine(path, f)))

[<Fact>]
let ``fuzz model directories: config.json, model.safetensors, optimizer.safetensors`` () =
    let seed = seedFor 1005UL
    withDir (fun dir ->
        let path, originals = savedModel dir
        let restore () = for (f, b) in originals do File.WriteAllBytes(Path.Combine(path, f), b)
        for (i, (file, input)) in Array.indexed originals do
            let json = file = ModelFiles.ConfigFile
            let headerLen = if json then input.Length else 8 + int (BitConverter.ToUInt64(input, 0))
            let s = seed + uint64 i
            let ps = plans s (casesFor (if json then 400 else 150)) (planGen input.Length headerLen json)
            check ("model dir " + file) s input ps cap isInput (fun bytes ->
                restore ()
                File.WriteAllBytes(Path.Combine(path, file), bytes)
                ModelFiles.Load path |> ignore))

[<Fact>]
let ``the mutation harness reproduces plans from a seed and applies them`` () =
    let g = planGen 100 16 true
    Assert.Equal<Mutation list[]>(plans 7UL 20 g, plans 7UL 20 g)
    Assert.NotEqual<Mutation list[]>(plans 7UL 20 g, plans 8UL 20 g)
    let b = [| 0uy; 0uy; 8uy; 1uy; 0uy; 0uy; 0uy; 3uy |]
    Assert.Equal<byte[]>([| 0uy; 0uy; 8uy; 1uy; 0x7Fuy; 0xFFuy; 0xFFuy; 0xFFuy |], apply b (Absurd32(4, 0x7FFFFFFFu, true)))
    Assert.Equal<byte[]>(Encoding.UTF8.GetBytes """{"a": 1e400, "b": "x"}""",
                         applyAll (Encoding.UTF8.GetBytes """{"a": 12, "b": "y"}""") [ JsonNumber(0, "1e400"); JsonString(0, "\"x\"") ])
    // a loader that throws an untyped exception is caught, with seed and case in the message
    let ex = Assert.ThrowsAny<Exception>(fun () -> check "demo" 9UL b [| [ Truncate 2 ] |] cap isInput (fun _ -> invalidOp "boom"))
    Assert.Contains("fuzz demo: seed 9 case 0", ex.Message)
    Assert.Contains("InvalidOperationException", ex.Message)
