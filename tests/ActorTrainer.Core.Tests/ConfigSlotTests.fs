module ActorTrainer.Core.Tests.ConfigSlotTests

open System
open System.Collections.Generic
open System.Text.Json.Nodes
open Xunit
open ActorTrainer.Core

// The get_config slot ConfigEntries (an ordered dictionary) when a class below a built-in layer or optimizer
// overrides it: the most derived override is what every reader sees, and the built-in classes' own output is unchanged.

/// F#: a Dense subclass adding one entry to Dense's (ConfigEntries.ofList / toList: the F# list helpers).
type TaggedDenseF(units: int, tag: string, name: string) =
    inherit Dense(units, "relu", name = name)
    member _.Tag = tag
    override _.ConfigEntries = ConfigEntries.ofList (ConfigEntries.toList base.ConfigEntries @ [ "tag", box tag ])

/// A user's layer declaring its entries ...
type EntriesLayer(name: string) =
    inherit Layer("EntriesLayer", name)
    override _.BuildWeights(_, _) = ()
    override _.ComputeOutputShape s = s
    override _.Call(x, _) = x
    override _.Variables = [||]
    override _.ConfigEntries = readOnlyDict [ "a", box 1 ]

/// ... and a subclass of it adding one: its override is the most derived, so it decides.
type MoreEntries(name: string) =
    inherit EntriesLayer(name)
    override _.ConfigEntries = ConfigEntries.ofList (ConfigEntries.toList base.ConfigEntries @ [ "b", box 2 ])

/// An Adam whose ConfigEntries adds an entry to Adam's.
type TaggedAdam() =
    inherit Adam(0.01)
    override _.ConfigEntries =
        let d = Dictionary<string, obj>(base.ConfigEntries)
        d.["tag"] <- box "fast"
        d :> IReadOnlyDictionary<string, obj>

let private keys (d: IReadOnlyDictionary<string, obj>) = List.ofSeq d.Keys

[<Fact>]
let ``built-in layers and optimizers write exactly the model JSON they wrote before`` () =
    let m = Sequential([ Dense(4, "relu", Initializer.RandomUniform(-0.1, 0.1), Initializer.Constant 0.5, true, "") :> Layer
                         Dropout(0.25, System.Nullable 7, "") :> Layer
                         ActivationLayer("tanh") :> Layer
                         Flatten() :> Layer
                         Dense(2, "softmax", useBias = false) :> Layer ], "golden", seed = 9)
    m.Compile(Adam(0.002, 0.8, 0.95, 1e-6, true), "sparse_categorical_crossentropy", [ "acc" ])
    m.Build [| 3 |]
    // written by the library before subclasses' config slots were resolved; a built-in class's JSON may not change
    let golden =
        String.concat "" [
            "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"golden\",\"seed\":9,\"build_input_shape\":[null,3],\"layers\":["
            "{\"class_name\":\"Dense\",\"config\":{\"name\":\"dense\",\"units\":4,\"activation\":\"relu\",\"use_bias\":true,"
            "\"kernel_initializer\":{\"class_name\":\"random_uniform\",\"config\":{\"minval\":-0.1,\"maxval\":0.1}},\"bias_initializer\":{\"class_name\":\"constant\",\"config\":{\"value\":0.5}}}},"
            "{\"class_name\":\"Dropout\",\"config\":{\"name\":\"dropout\",\"rate\":0.25,\"seed\":7}},"
            "{\"class_name\":\"Activation\",\"config\":{\"name\":\"activation\",\"activation\":\"tanh\"}},"
            "{\"class_name\":\"Flatten\",\"config\":{\"name\":\"flatten\"}},"
            "{\"class_name\":\"Dense\",\"config\":{\"name\":\"dense_1\",\"units\":2,\"activation\":\"softmax\",\"use_bias\":false,"
            "\"kernel_initializer\":{\"class_name\":\"glorot_uniform\",\"config\":{}},\"bias_initializer\":{\"class_name\":\"zeros\",\"config\":{}}}}]},"
            "\"compile_config\":{\"optimizer\":{\"class_name\":\"Adam\",\"config\":{\"name\":\"Adam\",\"learning_rate\":0.002,\"beta_1\":0.8,\"beta_2\":0.95,\"epsilon\":1E-06,\"amsgrad\":true}},\"loss\":\"sparse_categorical_crossentropy\",\"metrics\":[\"accuracy\"]}}" ]
    Assert.Equal(golden, m.GetConfig().ToJsonString())

[<Fact>]
let ``an F# Dense subclass extending ConfigEntries is read through GetConfig and the model config, and loads back`` () =
    let l = TaggedDenseF(3, "red", "tagged")
    let denseKeys = [ "units"; "activation"; "use_bias"; "kernel_initializer"; "bias_initializer" ]
    Assert.Equal<string list>(denseKeys @ [ "tag" ], keys l.ConfigEntries)
    Assert.Equal("red", l.GetConfig().["tag"].GetValue<string>())
    Assert.Equal("TaggedDenseF", l.ClassName)
    let m = Sequential([ l :> Layer; Dense(2) :> Layer ], seed = 2)
    m.Build [| 4 |]
    let json = m.GetConfig().AsObject()
    let custom = readOnlyDict [ "TaggedDenseF", System.Func<JsonObject, Layer>(fun c ->
                                    TaggedDenseF(c.["units"].GetValue<int>(), c.["tag"].GetValue<string>(), "") :> Layer) ]
    let spec = ModelConfig.parseModelWith "config.json" custom (JsonNode.Parse(json.ToJsonString()).AsObject())
    let back = Assert.IsType<TaggedDenseF>(spec.Layers.[0])
    Assert.Equal("red", back.Tag)
    Assert.Equal("tagged", back.Name)
    Assert.IsType<Dense>(spec.Layers.[1]) |> ignore

[<Fact>]
let ``a ConfigEntries override below another one extends it and is the one GetConfig writes`` () =
    let l = MoreEntries("over")
    Assert.Equal<string list>([ "a"; "b" ], keys l.ConfigEntries)
    let cfg = l.GetConfig()
    Assert.Equal(1, cfg.["a"].GetValue<int>())
    Assert.Equal(2, cfg.["b"].GetValue<int>())
    let e = EntriesLayer("entries")
    Assert.Equal("""{"name":"entries","a":1}""", e.GetConfig().ToJsonString())

[<Fact>]
let ``an Adam subclass extending ConfigEntries is read through GetConfig`` () =
    let o = TaggedAdam()
    let adamKeys = [ "beta_1"; "beta_2"; "epsilon"; "amsgrad" ]
    Assert.Equal<string list>(adamKeys @ [ "tag" ], keys o.ConfigEntries)
    Assert.Equal("fast", o.GetConfig().["tag"].GetValue<string>())
