module ActorTrainer.Core.Tests.ModelFilesTests

open System
open System.IO
open System.Text.Json.Nodes
open Xunit
open ActorTrainer.Core
open ActorTrainer.Interop

let private withTempDir (f: string -> unit) =
    let dir = Path.Combine(Path.GetTempPath(), "coretests-mf-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory dir |> ignore
    try f dir finally Directory.Delete(dir, true)

let private data (n: int) (offset: int) =
    let x = Array.init (n * 20) (fun i -> float32 (cos (float (i + offset * 20) * 0.29)))
    ArrayData.OfLabels(x, 20, Array.init n (fun i -> (i * 7 + offset) % 3))

let private model () =
    let m = Sequential([ Dense(8, "relu", Initializer.RandomUniform(0.0, 0.1), Initializer.Zeros, true, "") :> Layer
                         Dropout(0.2) :> Layer
                         Dense(3, "softmax") :> Layer ], "mlp", seed = 5)
    m.Compile(Adam(0.01, 0.8, 0.99), "sparse_categorical_crossentropy", [ "acc" ])
    m

let private trained () =
    let m = model ()
    m.FitArrays(data 30 0, epochs = 1, batchSize = 10, verbose = 0) |> ignore
    m

let private assertBitwise (a: float32[][]) (b: float32[][]) =
    Assert.Equal(a.Length, b.Length)
    for i in 0 .. a.Length - 1 do
        Assert.Equal<int[]>(a.[i] |> Array.map BitConverter.SingleToInt32Bits, b.[i] |> Array.map BitConverter.SingleToInt32Bits)

[<Fact>]
let ``Save then Load restores weights, predictions and configs exactly`` () =
    withTempDir (fun dir ->
        let m = trained ()
        let path = Path.Combine(dir, "model")
        m.Save path
        let l = ModelFiles.Load path
        assertBitwise (m.GetWeights()) (l.GetWeights())
        let x = (data 7 40).X
        Assert.Equal<float32[]>(m.PredictArrays(x, 20), l.PredictArrays(x, 20))
        Assert.Equal("mlp", l.Name)
        Assert.Equal(5, l.Seed)
        Assert.Equal<int[]>([| 20 |], l.InputShape)
        Assert.Equal<string[]>([| "Dense"; "Dropout"; "Dense" |], l.Layers |> Seq.map (fun x -> x.ClassName) |> Array.ofSeq)
        Assert.Equal<string[]>([| "dense"; "dropout"; "dense_1" |], l.Layers |> Seq.map (fun x -> x.Name) |> Array.ofSeq)
        Assert.Equal(Activation.Relu, (l.Layers.[0] :?> Dense).Activation)
        Assert.Equal(Activation.Softmax, (l.Layers.[2] :?> Dense).Activation)
        Assert.Equal(0.2, (l.Layers.[1] :?> Dropout).Rate)
        let k = l.Layers.[0].GetConfig().["kernel_initializer"]
        Assert.Equal("""{"class_name":"random_uniform","config":{"minval":0,"maxval":0.1}}""", k.ToJsonString())
        Assert.Equal(m.GetConfig().ToJsonString(), l.GetConfig().ToJsonString())
        // compile config
        let o = Assert.IsType<Adam>(l.Optimizer)
        Assert.Equal(0.01, o.LearningRate)
        Assert.Equal(0.8, o.Beta1)
        Assert.Equal(0.99, o.Beta2)
        Assert.Equal(1e-7, o.Epsilon)
        Assert.Equal(Loss.SparseCategoricalCrossentropy, l.Loss)
        Assert.Equal<string list>([ "accuracy" ], List.ofSeq l.MetricNames)
        Assert.Equal(3L, l.Optimizer.Iterations)
        Assert.Equal(m.WeightsSha256(), l.WeightsSha256()))

[<Fact>]
let ``Dropout seed survives Save then Load, and an unset seed is written as null like Keras`` () =
    withTempDir (fun dir ->
        let m = Sequential([ Dense(4) :> Layer; Dropout(0.3, 42) :> Layer; Dropout(0.1) :> Layer; Dense(2) :> Layer ], "drops", seed = 3)
        m.Build [| 5 |]
        let layers = (m.GetConfig().["config"].["layers"]).AsArray()
        Assert.Equal(42, layers.[1].["config"].["seed"].GetValue<int>())
        let unset = layers.[2].["config"].AsObject()
        Assert.True(unset.ContainsKey "seed" && isNull unset.["seed"], "unset seed is written as null")
        let path = Path.Combine(dir, "model")
        m.Save path
        let l = ModelFiles.Load path
        let d1, d2 = l.Layers.[1] :?> Dropout, l.Layers.[2] :?> Dropout
        Assert.Equal((42, Nullable 42), (d1.Seed, d1.ConfigSeed))
        Assert.Equal((0, Nullable()), (d2.Seed, d2.ConfigSeed))
        Assert.Equal(m.GetConfig().ToJsonString(), l.GetConfig().ToJsonString())
        let x = Tensor.Ones [| 6; 4 |]
        Assert.Equal<float32[]>((Dropout(0.3, 42).Call(x, true)).ToFloat32Array(), (d1.Call(x, true)).ToFloat32Array()))

[<Fact>]
let ``optimizer state is restored so continuing fit matches the original`` () =
    withTempDir (fun dir ->
        let m = trained ()
        let path = Path.Combine(dir, "m")
        m.Save path
        let l = ModelFiles.Load path
        let struct (im, sm) = m.Optimizer.GetState()
        let struct (il, sl) = l.Optimizer.GetState()
        Assert.Equal(im, il)
        Assert.Equal(sm.Length, sl.Length)
        for i in 0 .. sm.Length - 1 do assertBitwise sm.[i] sl.[i]
        m.FitArrays(data 30 0, epochs = 1, batchSize = 10, verbose = 0) |> ignore
        l.FitArrays(data 30 0, epochs = 1, batchSize = 10, verbose = 0) |> ignore
        assertBitwise (m.GetWeights()) (l.GetWeights())
        // a fresh optimizer (no restored state) continues differently
        let fresh = ModelFiles.Load path
        fresh.Optimizer.LoadState(0L, [||])
        fresh.FitArrays(data 30 0, epochs = 1, batchSize = 10, verbose = 0) |> ignore
        Assert.NotEqual<float32[]>(m.GetWeights().[0], fresh.GetWeights().[0]))

[<Fact>]
let ``weights file is valid safetensors with Keras weight names`` () =
    withTempDir (fun dir ->
        let m = trained ()
        let path = Path.Combine(dir, "m")
        m.Save path
        let struct (tensors, meta) = Safetensors.Read(Path.Combine(path, "model.safetensors"))
        Assert.Equal<string[]>([| "dense/kernel"; "dense/bias"; "dense_1/kernel"; "dense_1/bias" |], tensors |> Seq.map (fun t -> t.Name) |> Array.ofSeq)
        Assert.Equal<int[][]>([| [| 20; 8 |]; [| 8 |]; [| 8; 3 |]; [| 3 |] |], tensors |> Seq.map (fun t -> t.Shape) |> Array.ofSeq)
        assertBitwise (m.GetWeights()) (tensors |> Seq.map (fun t -> t.Data) |> Array.ofSeq)
        Assert.Equal("actortrainer", meta.["format"])
        let struct (slots, ometa) = Safetensors.Read(Path.Combine(path, "optimizer.safetensors"))
        Assert.Equal("Adam", ometa.["optimizer"])
        Assert.Equal("3", ometa.["iterations"])
        Assert.Equal("4", ometa.["weights"])
        Assert.Equal(8, slots.Count)
        let cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(path, "config.json")))
        Assert.Equal("Sequential", cfg.["class_name"].GetValue<string>())
        Assert.Equal("Adam", cfg.["compile_config"].["optimizer"].["class_name"].GetValue<string>())
        Assert.Equal(0.8, cfg.["compile_config"].["optimizer"].["config"].["beta_1"].GetValue<float>())
        Assert.Equal("sparse_categorical_crossentropy", cfg.["compile_config"].["loss"].GetValue<string>()))

[<Fact>]
let ``uncompiled models save without optimizer state and load uncompiled`` () =
    withTempDir (fun dir ->
        let m = Sequential([ Flatten() :> Layer; Dense(4, "sigmoid") :> Layer; ActivationLayer("softmax") :> Layer ], "plain")
        m.Build [| 2; 5 |]
        let path = Path.Combine(dir, "p")
        m.Save path
        Assert.False(File.Exists(Path.Combine(path, "optimizer.safetensors")))
        let l = ModelFiles.Load path
        Assert.Null(l.Optimizer)
        Assert.Equal<int[]>([| 2; 5 |], l.InputShape)
        assertBitwise (m.GetWeights()) (l.GetWeights())
        let ex = Assert.Throws<InvalidOperationException>(fun () -> l.FitArrays(data 3 0) |> ignore)
        Assert.Contains("compiled", ex.Message))

[<Fact>]
let ``Onnx.ToGraph lists the layers with their weights`` () =
    let m = trained ()
    let g = Onnx.ToGraph m
    Assert.Equal("mlp", g.Name)
    Assert.Equal<int[]>([| 20 |], g.InputShape)
    Assert.Equal(3, g.Layers.Count)
    let d0 = Assert.IsType<DenseSpec>(g.Layers.[0])
    Assert.Equal("dense", d0.Name)
    Assert.Equal(20, d0.InputDim)
    Assert.Equal(8, d0.Units)
    Assert.Equal("relu", d0.Activation)
    Assert.Equal<float32[]>(m.GetWeights().[0], d0.Kernel)
    Assert.Equal<float32[]>(m.GetWeights().[1], d0.Bias)
    let dr = Assert.IsType<DropoutSpec>(g.Layers.[1])
    Assert.Equal(0.2, dr.Rate)
    let d1 = Assert.IsType<DenseSpec>(g.Layers.[2])
    Assert.Equal(8, d1.InputDim)
    Assert.Equal(3, d1.Units)
    Assert.Equal("softmax", d1.Activation)
    let ex = Assert.Throws<InvalidOperationException>(fun () -> Onnx.ToGraph (Sequential([ Dense(2) :> Layer ], "unbuilt")) |> ignore)
    Assert.Contains("'unbuilt'", ex.Message)

let private savedCopy (dir: string) =
    let path = Path.Combine(dir, "broken")
    (trained ()).Save path
    path

[<Fact>]
let ``missing files raise FileNotFoundException naming the file`` () =
    withTempDir (fun dir ->
        let path = savedCopy dir
        File.Delete(Path.Combine(path, "model.safetensors"))
        let ex = Assert.Throws<FileNotFoundException>(fun () -> ModelFiles.Load path |> ignore)
        Assert.Contains("model.safetensors", ex.Message)
        Assert.Equal(Path.Combine(path, "model.safetensors"), ex.FileName)
        File.Delete(Path.Combine(path, "config.json"))
        let ex2 = Assert.Throws<FileNotFoundException>(fun () -> ModelFiles.Load path |> ignore)
        Assert.Contains("config.json", ex2.Message)
        let ex3 = Assert.Throws<DirectoryNotFoundException>(fun () -> ModelFiles.Load(Path.Combine(dir, "nowhere")) |> ignore)
        Assert.Contains("nowhere", ex3.Message))

[<Fact>]
let ``invalid JSON and unknown layer classes are reported`` () =
    withTempDir (fun dir ->
        let path = savedCopy dir
        let cfgPath = Path.Combine(path, "config.json")
        let good = File.ReadAllText cfgPath
        File.WriteAllText(cfgPath, "{ \"class_name\": \"Sequential\", ")
        let ex = Assert.Throws<ModelFileException>(fun () -> ModelFiles.Load path |> ignore)
        Assert.Contains("invalid JSON", ex.Message)
        Assert.Contains("config.json", ex.Message)
        let node = JsonNode.Parse good
        node.["config"].["layers"].[2].["class_name"] <- JsonValue.Create "Conv2D"
        File.WriteAllText(cfgPath, node.ToJsonString())
        let ex2 = Assert.Throws<ModelFileException>(fun () -> ModelFiles.Load path |> ignore)
        Assert.Contains("layers[2]", ex2.Message)
        Assert.Contains("unknown layer class 'Conv2D'", ex2.Message)
        let node2 = JsonNode.Parse good
        node2.["class_name"] <- JsonValue.Create "Functional"
        File.WriteAllText(cfgPath, node2.ToJsonString())
        let ex3 = Assert.Throws<ModelFileException>(fun () -> ModelFiles.Load path |> ignore)
        Assert.Contains("Sequential", ex3.Message))

[<Fact>]
let ``a weight with the wrong shape names the tensor and both shapes`` () =
    withTempDir (fun dir ->
        let path = savedCopy dir
        let wPath = Path.Combine(path, "model.safetensors")
        let struct (tensors, meta) = Safetensors.Read wPath
        let swapped = tensors |> Seq.map (fun t -> if t.Name = "dense/kernel" then NamedTensor(t.Name, [| 8; 20 |], t.Data) else t) |> Array.ofSeq
        Safetensors.Write(wPath, swapped, meta)
        let ex = Assert.Throws<ModelFileException>(fun () -> ModelFiles.Load path |> ignore)
        Assert.Contains("'dense/kernel'", ex.Message)
        Assert.Contains("(8,20)", ex.Message)
        Assert.Contains("(20,8)", ex.Message)
        let renamed = tensors |> Seq.map (fun t -> if t.Name = "dense_1/bias" then NamedTensor("out/bias", t.Shape, t.Data) else t) |> Array.ofSeq
        Safetensors.Write(wPath, renamed, meta)
        let ex2 = Assert.Throws<ModelFileException>(fun () -> ModelFiles.Load path |> ignore)
        Assert.Contains("no tensor named 'dense_1/bias'", ex2.Message)
        Safetensors.Write(wPath, Array.sub (Array.ofSeq tensors) 0 3, meta)
        let ex3 = Assert.Throws<ModelFileException>(fun () -> ModelFiles.Load path |> ignore)
        Assert.Contains("holds 3 tensors but the model has 4 weights", ex3.Message))

[<Fact>]
let ``truncated safetensors data is reported`` () =
    withTempDir (fun dir ->
        let path = savedCopy dir
        let wPath = Path.Combine(path, "model.safetensors")
        let bytes = File.ReadAllBytes wPath
        File.WriteAllBytes(wPath, Array.sub bytes 0 (bytes.Length - 12))
        let ex = Assert.Throws<ModelFileException>(fun () -> ModelFiles.Load path |> ignore)
        Assert.Contains("model.safetensors", ex.Message)
        File.WriteAllBytes(wPath, Array.sub bytes 0 5)
        let ex2 = Assert.Throws<ModelFileException>(fun () -> ModelFiles.Load path |> ignore)
        Assert.Contains("model.safetensors", ex2.Message))

[<Fact>]
let ``saving is atomic and replaces an existing model`` () =
    withTempDir (fun dir ->
        let path = Path.Combine(dir, "model")
        let a = trained ()
        a.Save path
        File.WriteAllText(Path.Combine(path, "evaluation.json"), "{}")   // the CLI's, describing the old weights
        let b = model ()
        b.FitArrays(data 30 7, epochs = 2, batchSize = 10, verbose = 0) |> ignore
        b.Save path
        Assert.Equal<string[]>([| "model" |], Directory.GetFileSystemEntries dir |> Array.map Path.GetFileName)
        Assert.Equal<string[]>([| "config.json"; "model.safetensors"; "optimizer.safetensors" |],
                               Directory.GetFiles path |> Array.map Path.GetFileName |> Array.sort)
        let l = ModelFiles.Load path
        assertBitwise (b.GetWeights()) (l.GetWeights())
        Assert.Equal(6L, l.Optimizer.Iterations))

[<Fact>]
let ``saving an unbuilt model is an error naming it`` () =
    withTempDir (fun dir ->
        let m = Sequential([ Dense(2) :> Layer ], "fresh")
        let ex = Assert.Throws<InvalidOperationException>(fun () -> m.Save(Path.Combine(dir, "x")))
        Assert.Contains("'fresh'", ex.Message)
        Assert.Empty(Directory.GetFileSystemEntries dir))

[<Fact>]
let ``saving into a directory that holds other files refuses and deletes nothing`` () =
    withTempDir (fun dir ->
        let path = Path.Combine(dir, "model")
        let a = trained ()
        a.Save path
        File.WriteAllText(Path.Combine(path, "precious.txt"), "mine")
        Directory.CreateDirectory(Path.Combine(path, "sub")) |> ignore
        File.WriteAllText(Path.Combine(path, "sub", "more.txt"), "mine too")
        let b = model ()
        b.FitArrays(data 30 7, epochs = 2, batchSize = 10, verbose = 0) |> ignore
        let ex = Assert.Throws<ArgumentException>(fun () -> b.Save path)
        Assert.Contains(sprintf "save: directory '%s' holds '" path, ex.Message)
        Assert.True(ex.Message.Contains "'precious.txt'" || ex.Message.Contains "'sub'", ex.Message)
        Assert.Equal("mine", File.ReadAllText(Path.Combine(path, "precious.txt")))
        Assert.Equal("mine too", File.ReadAllText(Path.Combine(path, "sub", "more.txt")))
        assertBitwise (a.GetWeights()) ((ModelFiles.Load path).GetWeights())
        Assert.Equal<string[]>([| "model" |], Directory.GetFileSystemEntries dir |> Array.map Path.GetFileName)
        let other = Path.Combine(dir, "other")
        Directory.CreateDirectory(Path.Combine(other, "config.json")) |> ignore   // a directory is never a model file
        Assert.Contains("holds 'config.json'", Assert.Throws<ArgumentException>(fun () -> b.Save other).Message))

[<Fact>]
let ``a directory given with a trailing slash saves like the bare name`` () =
    withTempDir (fun dir ->
        let m = trained ()
        let path = Path.Combine(dir, "model")
        m.Save(path + string Path.DirectorySeparatorChar)
        assertBitwise (m.GetWeights()) ((ModelFiles.Load path).GetWeights())
        m.Save(path + string Path.DirectorySeparatorChar)   // and replaces it again
        Assert.Equal<string[]>([| "model" |], Directory.GetFileSystemEntries dir |> Array.map Path.GetFileName)
        Assert.Equal<string[]>([| "config.json"; "model.safetensors"; "optimizer.safetensors" |],
                               Directory.GetFiles path |> Array.map Path.GetFileName |> Array.sort))

[<Fact>]
let ``a save interrupted between its two moves is named by Load and swept by the next save`` () =
    withTempDir (fun dir ->
        let path = Path.Combine(dir, "model")
        let a = trained ()
        a.Save path
        // the state a crash between "move the old model aside" and "move the new one in" leaves
        let old = path + ".old-" + Guid.NewGuid().ToString("N")
        Directory.Move(path, old)
        let unfinished = Path.Combine(dir, ".model." + Guid.NewGuid().ToString("N") + ".tmp")
        Directory.CreateDirectory unfinished |> ignore
        File.WriteAllText(Path.Combine(unfinished, "config.json"), "{")
        let ex = Assert.Throws<DirectoryNotFoundException>(fun () -> ModelFiles.Load path |> ignore)
        Assert.Contains(sprintf "model directory '%s' does not exist, but '%s' holds the model" path old, ex.Message)
        Assert.Contains(sprintf "rename that directory to '%s'" path, ex.Message)
        Directory.Move(old, path)   // what the message says to do gives the model back
        assertBitwise (a.GetWeights()) ((ModelFiles.Load path).GetWeights())
        // leftovers of an earlier interrupted save go once a new save is in place; other directories stay
        let stale = path + ".old-" + Guid.NewGuid().ToString("N")
        Directory.CreateDirectory stale |> ignore
        let mine = path + ".old-mine"
        Directory.CreateDirectory mine |> ignore
        a.Save path
        Assert.Equal<string[]>([| "model"; "model.old-mine" |],
                               Directory.GetFileSystemEntries dir |> Array.map Path.GetFileName |> Array.sort)
        let missing = Path.Combine(dir, "nothing")
        Assert.Equal(sprintf "model directory '%s' does not exist" missing,
                     Assert.Throws<DirectoryNotFoundException>(fun () -> ModelFiles.Load missing |> ignore).Message))
