/// Reproductions of issue 10 for model directories: every bad field of config.json, bad optimizer metadata, oversized
/// shapes. Each must end in ModelFileException / ResourceLimitException naming the file, field and value — quickly and
/// without allocating what the file claims.
module ActorTrainer.Core.Tests.ModelFileValidationTests

open System
open System.IO
open System.Text.Json.Nodes
open System.Threading.Tasks
open Xunit
open ActorTrainer.Core
open ActorTrainer.Interop

let private withModel (f: string -> unit) =
    let dir = Path.Combine(Path.GetTempPath(), "coretests-mv-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory dir |> ignore
    try
        let m = Sequential([ Dense(6, "relu") :> Layer; Dropout(0.1) :> Layer; Dense(3, "softmax") :> Layer ], "small", seed = 2)
        m.Compile(RMSprop(), "sparse_categorical_crossentropy", [ "accuracy" ])
        m.FitArrays(ArrayData.OfLabels(Array.init 40 (fun i -> float32 i / 40.0f), 4, Array.init 10 (fun i -> i % 3)),
                    epochs = 1, batchSize = 5, verbose = 0) |> ignore
        let path = Path.Combine(dir, "model")
        m.Save path
        f path
    finally Directory.Delete(dir, true)

/// Runs f under a 20 s watchdog (a hang fails the test) and returns what it threw.
let private throwsWithin (f: unit -> unit) : exn =
    let t = Task.Run(fun () -> try f (); None with e -> Some e)
    if not (t.Wait(TimeSpan.FromSeconds 20.0)) then failwith "did not finish within 20 s"
    match t.Result with
    | Some e -> e
    | None -> failwith "no exception was thrown"

/// Edits config.json with `edit`, then Load must throw exactly ModelFileException mentioning config.json and `fragments`.
let private badConfig (edit: JsonObject -> unit) (fragments: string list) =
    withModel (fun path ->
        let cfgPath = Path.Combine(path, "config.json")
        let node = JsonNode.Parse(File.ReadAllText cfgPath).AsObject()
        edit node
        File.WriteAllText(cfgPath, node.ToJsonString())
        let e = throwsWithin (fun () -> ModelFiles.Load path |> ignore)
        let ex = Assert.IsType<ModelFileException>(e)
        Assert.Contains(cfgPath, ex.Message)
        for f in fragments do Assert.Contains(f, ex.Message))

let private layerCfg (root: JsonObject) (i: int) = root.["config"].["layers"].[i].["config"].AsObject()
let private set (o: JsonObject) (key: string) (json: string) = o.[key] <- (if json = "null" then null else JsonNode.Parse json)

[<Theory>]
[<InlineData("\"ten\"")>]
[<InlineData("1.5")>]
[<InlineData("-3")>]
[<InlineData("0")>]
[<InlineData("1e20")>]
[<InlineData("[6]")>]
let ``Dense units of the wrong type or range name the field and value`` (units: string) =
    badConfig (fun r -> set (layerCfg r 0) "units" units) [ "layers[0] (Dense)"; "'units'"; units ]

[<Theory>]
[<InlineData("[null, \"a\"]", "'build_input_shape'[1]")>]
[<InlineData("[null, -1]", "'build_input_shape'[1]")>]
[<InlineData("[null, 4.5]", "'build_input_shape'[1]")>]
[<InlineData("[4, 4]", "must start with null")>]
[<InlineData("[null]", "'build_input_shape' must be an array like")>]
[<InlineData("\"784\"", "'build_input_shape' must be an array like")>]
let ``build_input_shape of the wrong type or range is named`` (shape: string, fragment: string) =
    badConfig (fun r -> set (r.["config"].AsObject()) "build_input_shape" shape) [ fragment ]

[<Theory>]
[<InlineData("\"x\"")>]
[<InlineData("1.5")>]
[<InlineData("3000000000")>]
let ``seed that is not a 32-bit integer is named`` (seed: string) =
    badConfig (fun r -> set (r.["config"].AsObject()) "seed" seed) [ "'seed'"; seed ]

[<Fact>]
let ``metrics, loss and compile_config errors are named`` () =
    badConfig (fun r -> set (r.["compile_config"].AsObject()) "metrics" "\"accuracy\"") [ "'metrics' must be an array" ]
    badConfig (fun r -> set (r.["compile_config"].AsObject()) "metrics" "[5]") [ "'metrics'[0]"; "5" ]
    badConfig (fun r -> set (r.["compile_config"].AsObject()) "metrics" "[\"f1\"]") [ "unknown metric 'f1'" ]
    badConfig (fun r -> r.["compile_config"].AsObject().Remove "loss" |> ignore) [ "compile_config"; "missing string 'loss'" ]
    badConfig (fun r -> set (r.["compile_config"].AsObject()) "loss" "\"hinge\"") [ "unknown loss 'hinge'" ]
    badConfig (fun r -> set (r.["compile_config"].AsObject()) "loss" "7") [ "'loss' must be a string, got 7" ]
    badConfig (fun r -> set r "compile_config" "[]") [ "'compile_config' must be an object" ]

[<Fact>]
let ``activation, initializer, dropout rate, optimizer values are named`` () =
    badConfig (fun r -> set (layerCfg r 0) "activation" "\"swish\"") [ "layers[0] (Dense)"; "unknown activation 'swish'" ]
    badConfig (fun r -> set (layerCfg r 0) "activation" "3") [ "'activation' must be a string, got 3" ]
    badConfig (fun r -> set (layerCfg r 0) "kernel_initializer" "\"orthogonal\"") [ "kernel_initializer"; "unknown initializer 'orthogonal'" ]
    badConfig (fun r -> set (layerCfg r 0) "kernel_initializer" "12") [ "kernel_initializer"; "12" ]
    badConfig (fun r -> set (layerCfg r 0) "kernel_initializer" """{"class_name":"random_uniform","config":{"minval":1,"maxval":0}}""") [ "minval" ]
    badConfig (fun r -> set (layerCfg r 0) "use_bias" "\"yes\"") [ "'use_bias' must be true or false" ]
    badConfig (fun r -> set (layerCfg r 1) "rate" "1.5") [ "layers[1] (Dropout)"; "'rate' must be in [0, 1)"; "1.5" ]
    badConfig (fun r -> set (layerCfg r 1) "rate" "\"half\"") [ "'rate' must be a finite number"; "half" ]
    badConfig (fun r -> set (r.["compile_config"].["optimizer"].["config"].AsObject()) "learning_rate" "-1") [ "optimizer"; "learning_rate" ]
    badConfig (fun r -> set (r.["compile_config"].["optimizer"].["config"].AsObject()) "rho" "\"x\"") [ "optimizer"; "'rho'" ]
    badConfig (fun r -> set (r.["compile_config"].AsObject()) "optimizer" "42") [ "optimizer"; "42" ]

[<Fact>]
let ``empty or missing layers and a wrong class_name are named`` () =
    badConfig (fun r -> set (r.["config"].AsObject()) "layers" "[]") [ "'layers' is empty" ]
    badConfig (fun r -> r.["config"].AsObject().Remove "layers" |> ignore) [ "missing 'layers' array" ]
    badConfig (fun r -> set r "class_name" "5") [ "class_name must be \"Sequential\", got 5" ]
    badConfig (fun r -> set (layerCfg r 0) "name" "[1]") [ "'name' must be a string" ]

/// Rewrites optimizer.safetensors with the same tensors and the given metadata changes.
let private editOptimizerMeta (path: string) (key: string) (value: string) =
    let oPath = Path.Combine(path, "optimizer.safetensors")
    let struct (tensors, meta) = Safetensors.Read oPath
    let m = Collections.Generic.Dictionary<string, string>(meta)
    m.[key] <- value
    Safetensors.Write(oPath, tensors, m)
    oPath

[<Theory>]
[<InlineData("weights", "abc")>]
[<InlineData("weights", "1000000000")>]
[<InlineData("weights", "-1")>]
[<InlineData("iterations", "1e3")>]
[<InlineData("iterations", "")>]
let ``optimizer metadata that is not a valid number is refused at once`` (key: string, value: string) =
    withModel (fun path ->
        let oPath = editOptimizerMeta path key value
        let e = throwsWithin (fun () -> ModelFiles.Load path |> ignore)
        let ex = Assert.IsType<ModelFileException>(e)
        Assert.Contains(oPath, ex.Message)
        Assert.Contains(sprintf "metadata '%s' = '%s'" key value, ex.Message))

[<Fact>]
let ``optimizer slots that do not fit the model are named`` () =
    withModel (fun path ->
        let oPath = Path.Combine(path, "optimizer.safetensors")
        let struct (tensors, meta) = Safetensors.Read oPath
        let wrong = tensors |> Seq.map (fun t -> if t.Name = "slot/0/0" then NamedTensor(t.Name, [| 5 |], Array.zeroCreate 5) else t) |> Array.ofSeq
        Safetensors.Write(oPath, wrong, meta)
        let ex = Assert.IsType<ModelFileException>(throwsWithin (fun () -> ModelFiles.Load path |> ignore))
        Assert.Contains("'slot/0/0' has 5 values but weight 0 has 24", ex.Message)
        Safetensors.Write(oPath, Array.append (Array.ofSeq tensors) [| NamedTensor("extra", [| 1 |], [| 0.0f |]) |], meta)
        let ex2 = Assert.IsType<ModelFileException>(throwsWithin (fun () -> ModelFiles.Load path |> ignore))
        Assert.Contains("unexpected tensor 'extra'", ex2.Message))

[<Fact>]
let ``a huge build_input_shape is refused before any kernel is allocated`` () =
    withModel (fun path ->
        let cfgPath = Path.Combine(path, "config.json")
        let node = JsonNode.Parse(File.ReadAllText cfgPath).AsObject()
        set (node.["config"].AsObject()) "build_input_shape" "[null, 2000000000]"
        File.WriteAllText(cfgPath, node.ToJsonString())
        let before = GC.GetAllocatedBytesForCurrentThread()
        let ex = Assert.Throws<ResourceLimitException>(fun () -> ModelFiles.Load path |> ignore)
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 10_000_000L, "nothing near the kernel's size may be allocated")
        Assert.Contains("dense/kernel", ex.Message)
        Assert.Contains("(2000000000,6)", ex.Message)
        Assert.Contains("48000000000 bytes", ex.Message))

[<Fact>]
let ``a build_input_shape that disagrees with the weights fails before building`` () =
    withModel (fun path ->
        let cfgPath = Path.Combine(path, "config.json")
        let node = JsonNode.Parse(File.ReadAllText cfgPath).AsObject()
        set (node.["config"].AsObject()) "build_input_shape" "[null, 20000000]"
        File.WriteAllText(cfgPath, node.ToJsonString())
        let before = GC.GetAllocatedBytesForCurrentThread()
        let ex = Assert.Throws<ModelFileException>(fun () -> ModelFiles.Load path |> ignore)
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 10_000_000L, "the 480 MB kernel must not be built")
        Assert.Contains("'dense/kernel' has shape (4,6) but the layer needs (20000000,6)", ex.Message))

[<Fact>]
let ``a weights file whose shape overflows is a ModelFileException naming the file`` () =
    withModel (fun path ->
        let wPath = Path.Combine(path, "model.safetensors")
        let header = Text.Encoding.UTF8.GetBytes """{"dense/kernel":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,4]}}"""
        let bytes = Array.zeroCreate<byte> (8 + header.Length + 4)
        Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(Span bytes, uint64 header.Length)
        header.CopyTo(bytes, 8)
        File.WriteAllBytes(wPath, bytes)
        let ex = Assert.IsType<ModelFileException>(throwsWithin (fun () -> ModelFiles.Load path |> ignore))
        Assert.Contains(wPath, ex.Message)
        Assert.Contains("more elements than", ex.Message))

[<Fact>]
let ``Dense build refuses a kernel larger than an array, naming the bytes`` () =
    let d = Dense(512, "relu", name = "big")
    let ex = Assert.Throws<ResourceLimitException>(fun () -> d.Build([| 2000000000 |], 1))
    Assert.Contains("big/kernel", ex.Message)
    Assert.Contains("4096000000000 bytes", ex.Message)
    Assert.False(d.Built)

[<Theory>]
[<InlineData("sparse_categorical_crossentropy", "sparse_categorical_accuracy", "categorical_accuracy")>]
[<InlineData("categorical_crossentropy", "categorical_accuracy", "sparse_categorical_accuracy")>]
[<InlineData("mse", "categorical_accuracy", "binary_accuracy")>]
[<InlineData("binary_crossentropy", "binary_accuracy", "categorical_accuracy")>]
let ``each metric name is computed for its loss or refused at compile naming metric and loss`` (loss: string, ok: string, refused: string) =
    let l = Loss.Parse loss
    Assert.Equal<string[]>([| "accuracy"; "acc"; ok |], Metrics.supported l)
    let m = Sequential([ Dense(2, "softmax") :> Layer ], "m")
    m.Compile(SGD(), loss, [ "acc"; ok; "accuracy" ])
    Assert.Equal<string[]>([| "accuracy"; ok |], Array.ofSeq m.MetricNames)
    let ex = Assert.Throws<ArgumentException>(fun () -> m.Compile(SGD(), loss, [ refused ]))
    Assert.Equal("metrics", ex.ParamName)
    Assert.Contains(sprintf "'%s' is not computed for loss %s; supported with %s: accuracy, acc, %s" refused l.Name l.Name ok, ex.Message)

[<Fact>]
let ``a saved compile_config with a metric its loss does not compute is refused`` () =
    badConfig (fun r ->
        set (r.["compile_config"].AsObject()) "loss" "\"mse\""
        set (r.["compile_config"].AsObject()) "metrics" "[\"binary_accuracy\"]") [ "'binary_accuracy' is not computed for loss mse" ]

[<Fact>]
let ``errors keep section, key and problem apart for front ends`` () =
    let field (f: unit -> unit) =
        match ModelJson.fieldError (Assert.Throws<ModelFileException>(f)) with
        | Some e -> e.Section, e.Key, e.Problem
        | None -> failwith "no FieldError"
    let s, k, p = field (fun () -> ModelConfig.parseLayer 2 (JsonNode.Parse """{"class_name":"Dense","config":{"units":"ten"}}""") |> ignore)
    Assert.Equal(("layers[2] (Dense)", "units"), (s, k))
    Assert.StartsWith("must be an integer in [1, ", p)
    let s, k, p = field (fun () -> ModelConfig.parseOptimizer (JsonNode.Parse """{"class_name":"Adam","config":{"learning_rate":-1}}""") |> ignore)
    Assert.Equal(("optimizer", "learning_rate", "must be > 0, got -1"), (s, k, p))
    let s, k, _ = field (fun () -> ModelConfig.parseOptimizer (JsonNode.Parse """{"class_name":"Adam","config":{"beta_2":1}}""") |> ignore)
    Assert.Equal(("optimizer", "beta_2"), (s, k))
    let s, k, _ = field (fun () -> ModelConfig.parseLayer 0 (JsonNode.Parse """{"class_name":"Dense","config":{"units":2,"kernel_initializer":{"class_name":"random_normal","config":{"stddev":-1}}}}""") |> ignore)
    Assert.Equal(("layers[0] (Dense) 'kernel_initializer'", "stddev"), (s, k))

[<Fact>]
let ``constant initializer by name and dropout seed are read`` () =
    let d = ModelConfig.parseLayer 0 (JsonNode.Parse """{"class_name":"Dense","config":{"units":2,"kernel_initializer":"constant","bias_initializer":{"class_name":"constant","config":{"value":0.25}}}}""") :?> Dense
    d.Build([| 3 |], 1)
    Assert.All(d.Kernel.Value.ToFloat32Array(), fun v -> Assert.Equal(0.0f, v))
    Assert.All(d.Bias.Value.ToFloat32Array(), fun v -> Assert.Equal(0.25f, v))
    Assert.Contains("constant", Initializer.Names)
    let dr = ModelConfig.parseLayer 1 (JsonNode.Parse """{"class_name":"Dropout","config":{"rate":0.5,"seed":7}}""")
    Assert.IsType<Dropout>(dr) |> ignore

[<Fact>]
let ``every Core layer class and activation has an ONNX form`` () =
    let layer (cls: string) : Layer =
        match cls with
        | "Dense" -> Dense(3, "tanh")
        | "Flatten" -> Flatten()
        | "Dropout" -> Dropout(0.5)
        | "Activation" -> ActivationLayer("sigmoid")
        | other -> failwithf "layer class %s has no test instance" other
    let m = Sequential(ModelConfig.layerClasses |> Array.map layer, "all")
    m.Build [| 4 |]
    let g = Onnx.ToGraph m
    Assert.Equal(ModelConfig.layerClasses.Length, g.Layers.Count)
    Assert.NotEmpty(OnnxExporter.ToBytes g)
    for a in Activation.Names do Assert.Contains(a, OnnxExporter.Activations)

[<Fact>]
let ``a key written twice in config.json is refused naming the file and the key`` () =
    withModel (fun path ->
        let cfgPath = Path.Combine(path, "config.json")
        let text = File.ReadAllText cfgPath
        let i = text.IndexOf("\"units\": 6", StringComparison.Ordinal)
        Assert.True(i > 0, text)
        File.WriteAllText(cfgPath, text.Insert(i, "\"units\": 512, "))
        let ex = Assert.IsType<ModelFileException>(throwsWithin (fun () -> ModelFiles.Load path |> ignore))
        Assert.Contains(cfgPath, ex.Message)
        Assert.Contains("duplicate key 'units' in config.layers[0].config", ex.Message))

/// Keras 2/3 get_config output for a Dense layer with every field at the value this library implements.
let private kerasDense (units: int) (name: string) =
    sprintf """{"class_name":"Dense","config":{"name":"%s","trainable":true,
        "dtype":{"module":"keras","class_name":"DTypePolicy","config":{"name":"float32"},"registered_name":null},
        "units":%d,"activation":"relu","use_bias":true,
        "kernel_initializer":{"module":"keras.initializers","class_name":"GlorotUniform","config":{"seed":null},"registered_name":null},
        "bias_initializer":{"class_name":"Zeros","config":{}},"kernel_regularizer":null,"bias_regularizer":null,
        "activity_regularizer":null,"kernel_constraint":null,"bias_constraint":null}}""" name units

[<Fact>]
let ``Keras initializer class names are read as their snake_case names`` () =
    let d = ModelConfig.parseLayer 0 (JsonNode.Parse(kerasDense 2 "d")) :?> Dense
    Assert.Equal("d", d.Name)
    Assert.Equal("glorot_uniform", (d.GetConfig().["kernel_initializer"].["class_name"]).GetValue<string>())
    for cls, name in [ "HeNormal", "he_normal"; "HeUniform", "he_uniform"; "GlorotNormal", "glorot_normal"; "RandomUniform", "random_uniform"
                       "RandomNormal", "random_normal"; "Zeros", "zeros"; "Ones", "ones"; "Constant", "constant"; "glorot_uniform", "glorot_uniform" ] do
        Assert.Equal(name, Initializer.Parse(cls).Name)
    let c = ModelConfig.parseLayer 0 (JsonNode.Parse """{"class_name":"Dense","config":{"units":2,"bias_initializer":{"class_name":"Constant","config":{"value":0.5}}}}""") :?> Dense
    c.Build([| 3 |], 1)
    Assert.All(c.Bias.Value.ToFloat32Array(), fun v -> Assert.Equal(0.5f, v))
    let e = Assert.Throws<ArgumentException>(fun () -> Initializer.Parse "LecunNormal" |> ignore)
    Assert.Contains("unknown initializer 'LecunNormal'", e.Message)
    badConfig (fun r -> set (layerCfg r 0) "kernel_initializer" """{"class_name":"TruncatedNormal","config":{}}""") [ "kernel_initializer"; "unknown initializer 'TruncatedNormal'" ]

[<Fact>]
let ``layer fields this library does not implement are refused naming layer and field`` () =
    badConfig (fun r -> set (layerCfg r 0) "trainable" "false") [ "layers[0] (Dense)"; "'trainable' = false is not supported" ]
    badConfig (fun r -> set (layerCfg r 0) "dtype" "\"float16\"") [ "layers[0] (Dense)"; "'dtype' float16 is not supported: only float32" ]
    badConfig (fun r -> set (layerCfg r 1) "dtype" """{"class_name":"DTypePolicy","config":{"name":"mixed_float16"}}""") [ "layers[1] (Dropout)"; "'dtype' mixed_float16" ]
    for key in [ "kernel_regularizer"; "bias_regularizer"; "activity_regularizer"; "kernel_constraint"; "bias_constraint" ] do
        badConfig (fun r -> set (layerCfg r 0) key """{"class_name":"L2","config":{"l2":0.01}}""") [ "layers[0] (Dense)"; sprintf "'%s' is not supported (only null)" key ]
    badConfig (fun r -> set (layerCfg r 2) "bogus" "1") [ "layers[2] (Dense)"; "unknown field 'bogus' (Dense takes: name, trainable, dtype, units" ]
    badConfig (fun r -> set (layerCfg r 1) "noise_shape" "[null, 1]") [ "layers[1] (Dropout)"; "'noise_shape' is not supported" ]
    let init = """{"class_name":"GlorotUniform","config":{"seed":SEED}}"""
    badConfig (fun r -> set (layerCfg r 0) "kernel_initializer" (init.Replace("SEED", "\"abc\""))) [ "kernel_initializer"; "'seed' must be null, got \"abc\"" ]
    badConfig (fun r -> set (layerCfg r 0) "kernel_initializer" (init.Replace("SEED", "42"))) [ "kernel_initializer"; "'seed' must be null, got 42" ]
    badConfig (fun r -> set (layerCfg r 0) "kernel_initializer" """{"class_name":"Zeros","config":{"value":1}}""") [ "unknown field 'value' of initializer Zeros" ]
    let flat = """{"class_name":"Flatten","config":{"data_format":"channels_first"}}"""
    let e = Assert.Throws<ModelFileException>(fun () -> ModelConfig.parseLayer 0 (JsonNode.Parse flat) |> ignore)
    Assert.Contains("'data_format' channels_first is not supported", e.Message)

[<Fact>]
let ``Keras-written layer configs with supported values load`` () =
    withModel (fun path ->
        let cfgPath = Path.Combine(path, "config.json")
        let root = JsonNode.Parse(File.ReadAllText cfgPath).AsObject()
        let layers = root.["config"].["layers"].AsArray()
        let kernel = layerCfg root 0 |> fun c -> c.["kernel_initializer"].DeepClone()
        layers.[0] <- JsonNode.Parse(kerasDense 6 "dense")
        (layerCfg root 0).["kernel_initializer"] <- kernel
        for key, json in [ "trainable", "true"; "dtype", "\"float32\""; "noise_shape", "null" ] do set (layerCfg root 1) key json
        set (layerCfg root 0) "batch_input_shape" "[null, 4]"
        File.WriteAllText(cfgPath, root.ToJsonString())
        let m = ModelFiles.Load path
        Assert.Equal(3, m.Layers.Count)
        set (layerCfg root 0) "batch_input_shape" "[null, 5]"
        File.WriteAllText(cfgPath, root.ToJsonString())
        let e = Assert.Throws<ModelFileException>(fun () -> ModelFiles.Load path |> ignore)
        Assert.Contains("'batch_input_shape' [null,5] disagrees with build_input_shape [null,4]", e.Message))

[<Fact>]
let ``two layers with one name in config.json are refused naming the name`` () =
    badConfig (fun r -> set (layerCfg r 2) "name" "\"dense\"") [ "layers[2] (Dense)"; "'name' 'dense' is also the name of layers[0]" ]

/// Keras 3's RMSprop.get_config(): the base optimizer's options at their no-op values beside RMSprop's own fields.
let private keras3RmsProp =
    """{"name":"rmsprop","learning_rate":0.001,"weight_decay":null,"clipnorm":null,"global_clipnorm":null,"clipvalue":null,
        "use_ema":false,"ema_momentum":0.99,"ema_overwrite_frequency":null,"loss_scale_factor":null,
        "gradient_accumulation_steps":null,"rho":0.9,"momentum":0.0,"epsilon":1e-07,"centered":false}"""

[<Fact>]
let ``optimizer options the update rules do not do are refused, Keras' no-op values load`` () =
    let opt (r: JsonObject) = r.["compile_config"].["optimizer"].["config"].AsObject()
    badConfig (fun r -> set (opt r) "weight_decay" "0.004") [ "optimizer"; "'weight_decay' is not supported (only null or 0), got 0.004" ]
    badConfig (fun r -> set (opt r) "clipnorm" "1.0") [ "'clipnorm' is not supported (only null), got 1.0" ]
    badConfig (fun r -> set (opt r) "gradient_accumulation_steps" "4") [ "'gradient_accumulation_steps'"; "4" ]
    badConfig (fun r -> set (opt r) "use_ema" "true") [ "'use_ema' = true is not supported" ]
    badConfig (fun r -> set (opt r) "decay" "0.01") [ "'decay' is not supported (only null or 0), got 0.01" ]
    badConfig (fun r -> set (opt r) "nesterov" "true") [ "unknown field 'nesterov' (RMSprop takes: name, learning_rate, rho, momentum, epsilon, centered)" ]
    badConfig (fun r -> set (opt r) "momentun" "0.5") [ "unknown field 'momentun'" ]
    withModel (fun path ->
        let cfgPath = Path.Combine(path, "config.json")
        let before = ModelFiles.Load path
        let node = JsonNode.Parse(File.ReadAllText cfgPath).AsObject()
        set (node.["compile_config"].["optimizer"].AsObject()) "config" keras3RmsProp
        set (opt node) "weight_decay" "0"
        set (opt node) "jit_compile" "true"
        File.WriteAllText(cfgPath, node.ToJsonString())
        let after = ModelFiles.Load path
        Assert.Equal(before.Optimizer.GetConfig().ToJsonString(), after.Optimizer.GetConfig().ToJsonString()))

[<Fact>]
let ``config.json fields outside Keras' own are refused, Keras' own load`` () =
    badConfig (fun r -> r.["compile_confg"] <- r.["compile_config"].DeepClone(); r.Remove "compile_config" |> ignore)
              [ "model: unknown field 'compile_confg' (fields: class_name, config, compile_config" ]
    badConfig (fun r -> set (r.["config"].AsObject()) "layer" "[]") [ "model config: unknown field 'layer'" ]
    badConfig (fun r -> set (r.["config"].AsObject()) "trainable" "false") [ "model config: 'trainable' = false is not supported" ]
    badConfig (fun r -> set (r.["compile_config"].AsObject()) "loss_weights" "[2.0]") [ "compile_config: 'loss_weights' is not supported (only null), got [2.0]" ]
    badConfig (fun r -> set (r.["compile_config"].AsObject()) "weighted_metrics" "[\"accuracy\"]") [ "'weighted_metrics' is not supported" ]
    badConfig (fun r -> set (r.["compile_config"].AsObject()) "metric" "[\"accuracy\"]") [ "compile_config: unknown field 'metric'" ]
    withModel (fun path ->
        let cfgPath = Path.Combine(path, "config.json")
        let before = ModelFiles.Load path
        let node = JsonNode.Parse(File.ReadAllText cfgPath).AsObject()
        for k, v in [ "module", "\"keras\""; "registered_name", "null"; "build_config", """{"input_shape":[null,4]}"""; "keras_version", "\"3.6.0\"" ] do
            set node k v
        set (node.["config"].AsObject()) "trainable" "true"
        for k, v in [ "loss_weights", "null"; "weighted_metrics", "null"; "run_eagerly", "false"; "steps_per_execution", "1"; "jit_compile", "true" ] do
            set (node.["compile_config"].AsObject()) k v
        File.WriteAllText(cfgPath, node.ToJsonString())
        let after = ModelFiles.Load path
        Assert.Equal(before.GetConfig().ToJsonString(), after.GetConfig().ToJsonString()))

[<Fact>]
let ``load refuses a null or blank directory naming dir, and save names the parent it cannot create`` () =
    Assert.Equal("dir", Assert.Throws<ArgumentNullException>(fun () -> ModelFiles.Load(null: string) |> ignore).ParamName)
    Assert.Equal("dir", Assert.ThrowsAny<ArgumentException>(fun () -> ModelFiles.Load(" ") |> ignore).ParamName)
    withModel (fun path ->
        let m = ModelFiles.Load path
        let file = Path.Combine(Path.GetDirectoryName path, "a-file")
        File.WriteAllText(file, "not a directory")
        let target = Path.Combine(file, "sub", "model")
        let e = Assert.ThrowsAny<IOException>(fun () -> m.Save target)
        Assert.StartsWith(sprintf "save: cannot create '%s', the directory model '%s' goes in: " (Path.Combine(file, "sub")) target, e.Message))
