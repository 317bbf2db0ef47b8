/// The layer registry is the one list of layer classes: ModelConfig's dispatch and class list come from it, and each
/// registration reads back what its layer's get_config writes.
module ActorTrainer.Core.Tests.LayerRegistryTests

open System.Text.Json.Nodes
open Xunit
open ActorTrainer.Core

let private sample (cls: string) : Layer =
    match cls with
    | "Dense" -> Dense(3, "relu", "he_uniform", "ones", false, "d") :> Layer
    | "Flatten" -> Flatten("f") :> Layer
    | "Dropout" -> Dropout(0.4, 9, "drop") :> Layer
    | "Activation" -> ActivationLayer("tanh", "act") :> Layer
    | other -> failwithf "add a sample of the new layer class %s to LayerRegistryTests" other

[<Fact>]
let ``layerClasses are the registry's class names, in order`` () =
    Assert.Equal<string[]>(LayerRegistry.all |> Array.map (fun r -> r.ClassName), ModelConfig.layerClasses)
    Assert.Equal<string[]>([| "Dense"; "Flatten"; "Dropout"; "Activation" |], ModelConfig.layerClasses)

[<Fact>]
let ``each registration reads its layer's get_config back to an equal config`` () =
    for r in LayerRegistry.all do
        let l = sample r.ClassName
        Assert.Equal(r.ClassName, l.ClassName)
        let cfg = l.GetConfig()
        let back = r.Parse { Where = sprintf "layers[0] (%s)" r.ClassName; Config = cfg; Name = l.Name }
        Assert.Equal(l.GetType(), back.GetType())
        Assert.Equal(cfg.ToJsonString(), back.GetConfig().ToJsonString())
        let viaModelConfig = ModelConfig.parseLayer 0 (JsonNode.Parse((ConfigJson.objectOf [ "class_name", box r.ClassName; "config", box cfg ]).ToJsonString()))
        Assert.Equal(cfg.ToJsonString(), viaModelConfig.GetConfig().ToJsonString())

[<Fact>]
let ``an unknown class names the registry's classes`` () =
    let ex = Assert.Throws<ModelFileException>(fun () -> ModelConfig.parseLayer 2 (JsonNode.Parse """{"class_name":"Conv2D","config":{}}""") |> ignore)
    Assert.Equal("layers[2] (Conv2D): unknown layer class 'Conv2D' (allowed: Dense, Flatten, Dropout, Activation)", ex.Message)
    Assert.Equal(Some { Section = "layers[2] (Conv2D)"; Key = "class_name"; Problem = "must be one of Dense, Flatten, Dropout, Activation, got 'Conv2D'" },
                 ModelJson.fieldError ex)

/// y = 2x, an F# user-defined layer without weights.
type private Twice(name: string) =
    inherit Layer("Twice", name)
    override _.BuildWeights(_, _) = ()
    override _.ComputeOutputShape s = s
    override _.Call(x, _) = x + x
    override _.Variables = [||]

[<Fact>]
let ``An F# layer class registered as a custom object loads from a model file`` () =
    let dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "coretests-custom-" + System.Guid.NewGuid().ToString("N"))
    try
        let m = Sequential([ Dense(2) :> Layer; Twice("twice") :> Layer ], seed = 4)
        m.Build [| 3 |]
        m.Save dir
        let x = Tensor.FromArray([| 0.5f; -1.0f; 2.0f |], [| 1; 3 |])
        let custom = readOnlyDict [ "Twice", System.Func<JsonObject, Layer>(fun c -> Twice(c.["name"].GetValue<string>()) :> Layer) ]
        let loaded = ModelFiles.Load(dir, custom)
        Assert.Equal<float32[]>(m.Predict(x).ToFloat32Array(), loaded.Predict(x).ToFloat32Array())
        let e = Assert.Throws<ModelFileException>(fun () -> ModelFiles.Load dir |> ignore)
        Assert.Contains("layers[1] (Twice): unknown layer class 'Twice' (layer 'twice'", e.Message)
    finally
        if System.IO.Directory.Exists dir then System.IO.Directory.Delete(dir, true)
