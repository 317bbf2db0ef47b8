namespace ActorTrainer.Core

open System
open System.Collections.Generic

/// Size checks done before weights are allocated: a weight must fit one .NET array and all of a layer's weights
/// must fit the memory available, else ResourceLimitException naming the bytes.
module internal WeightBudget =

    /// Bytes of float32 weights with the given shapes (exact, in 64 bits; shapes hold int32 dims so no overflow).
    let bytes (shapes: int[][]) : int64 =
        shapes |> Array.sumBy (fun s -> 4L * Array.fold (fun (acc: int64) d -> acc * int64 d) 1L s)

    /// Checks the weights (name, shape) a layer is about to create; `owner` names the layer in the message.
    let check (owner: string) (specs: struct (string * int[])[]) : unit =
        for struct (name, shape) in specs do
            let n = shape |> Array.fold (fun (acc: int64) d -> acc * int64 d) 1L
            if n > int64 Array.MaxLength then
                raise (ResourceLimitException(
                    sprintf "%s: weight '%s' of shape %s needs %d bytes (%d float32 values), more than one array can hold (%d values)"
                        owner name (Shape.str shape) (4L * n) n Array.MaxLength))
        let total = bytes (specs |> Array.map (fun struct (_, shape) -> shape))
        let available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes
        if total > available then
            raise (ResourceLimitException(
                sprintf "%s: weights need %d bytes but only %d bytes of memory are available" owner total available))

/// Base class of Keras layers. A layer builds its weights on first input (input shape without the batch axis),
/// runs differentiably on Tensors (`Call`), and describes itself to the fast training engine (`PlanLayer`).
[<AbstractClass>]
type Layer(className: string, name: string) =
    let mutable name = name
    let mutable built = false
    let mutable inputShape : int[] = null

    /// Keras class name ("Dense", "Flatten", ...): the name the class gives Layer's constructor; a subclass of a
    /// built-in layer class from outside this library (C# `class MyDense : Dense`) is its own class, named by its type
    /// name ("MyDense"), as Keras' class_name is the subclass's (config.json, summary, loading by custom objects).
    member l.ClassName = if Layer.ExtendsBuiltin(l.GetType()) then l.GetType().Name else className
    /// Layer name (auto-assigned by Sequential when empty: dense, dense_1, ...).
    member _.Name with get () = name and set v = name <- v
    /// True once weights exist.
    member _.Built = built
    /// Input shape (without batch) the layer was built for.
    member _.InputShape = inputShape

    /// Creates the weights for an input shape (without batch); `seed` makes initialisation reproducible.
    abstract BuildWeights: inputShape: int[] * seed: int -> unit
    /// Output shape (without batch) for an input shape (without batch).
    abstract ComputeOutputShape: inputShape: int[] -> int[]
    /// Differentiable forward pass on a batch (first axis = batch).
    abstract Call: x: Tensor * training: bool -> Tensor
    /// The layer's variables in Keras order (kernel, bias).
    abstract Variables: Variable[]
    /// How the fast engine runs this layer for an input shape (without batch): an existing PlanLayer case (never null;
    /// Sequential refuses null, naming the layer). Not asked for a layer that declares IdentityOnFlatRows.
    /// Default: PlanLayer.Custom running the layer's own Call (a TapePlanLayer: forward on the engine's rows,
    /// gradients by GradientTape), so a user-defined layer (F# or C#) trains with fit without overriding this.
    abstract Plan: inputShape: int[] -> PlanLayer
    default l.Plan shape =
        PlanLayer.Custom(TapePlanLayer(l.Name, Array.copy shape, l.ComputeOutputShape shape, l.Variables,
                                       Func<Tensor, bool, Tensor>(fun x training -> l.Call(x, training))))
    /// True for a layer that only reshapes a sample (Flatten): on the engine's flat rows (batch × features) it is
    /// y = x, so the engine's plan leaves it out (its Plan is not asked). Default false.
    abstract IdentityOnFlatRows: bool
    default _.IdentityOnFlatRows = false
    /// Keras get_config() entries besides name, in order (what GetConfig writes after "name"; values: numbers, strings,
    /// bools, null, JsonNode, Initializer). Default: none. A subclass of a built-in layer extends base.ConfigEntries
    /// (the built-in's entries); F#: `override _.ConfigEntries = ConfigEntries.ofList [ "rate", box 0.5 ]`.
    abstract ConfigEntries: IReadOnlyDictionary<string, obj>
    default _.ConfigEntries = ConfigEntryForms.none ()
    /// Final activation of the layer (for fusing losses); Linear when none.
    abstract OutputActivation: Activation
    default _.OutputActivation = Activation.Linear
    /// Forward pass stopping before the final activation (logits); only differs for layers with an activation.
    abstract CallLogits: x: Tensor * training: bool -> Tensor
    default l.CallLogits(x, training) = l.Call(x, training)

    /// (name, shape) of each weight BuildWeights creates for an input shape (without batch), computed without
    /// allocating anything; lets loaders compare against a weights file and check sizes first.
    abstract WeightSpecs: inputShape: int[] -> struct (string * int[])[]
    default _.WeightSpecs _ = [||]

    /// Builds once (later calls with the same shape are no-ops; another shape is an error naming the layer). Weight sizes
    /// are checked before anything is allocated (ResourceLimitException naming the bytes).
    member l.Build(shape: int[], seed: int) =
        if not built then
            WeightBudget.check (sprintf "layer '%s'" name) (l.WeightSpecs shape)
            l.BuildWeights(shape, seed)
            inputShape <- Array.copy shape
            built <- true
        elif shape <> inputShape then
            raise (ShapeException(sprintf "layer '%s' was built for input shape %s but received %s" name (Shape.str inputShape) (Shape.str shape)))

    /// Refuses `what` (Call, CallLogits) on a layer whose weights do not exist yet, naming the layer and what builds it:
    /// weights are drawn from a seed, so unlike Keras a layer is not built on its first call.
    member internal l.RequireBuilt(what: string) =
        if not built then
            let who = if String.IsNullOrEmpty name then sprintf "%s (unnamed)" l.ClassName else sprintf "'%s' (%s)" name l.ClassName
            raise (InvalidOperationException(
                sprintf "%s: layer %s is not built, so its weights do not exist yet: call Build(inputShape, seed) first (weights are drawn from that seed; a layer is not built on its first call as in Keras), or put it in a Sequential, which builds it from the model's seed" what who))

    /// Number of scalar weights.
    member l.CountParams() = l.Variables |> Array.sumBy (fun v -> Array.fold (*) 1 v.Shape)

    /// Keras get_config() as JSON: {"name": ..., the layer's ConfigEntries}, the "config" object of the layer's entry in
    /// config.json (initializers as {"class_name", "config"}). ArgumentException names the layer and the entry when an
    /// entry is "name" or a value JSON cannot hold.
    member l.GetConfig() : System.Text.Json.Nodes.JsonObject =
        let entries = match l.ConfigEntries with null -> ConfigEntryForms.none () | d -> d
        let owner = if String.IsNullOrEmpty name then sprintf "layer of class %s (unnamed)" l.ClassName else sprintf "layer '%s' (%s)" name l.ClassName
        ConfigJson.entriesObject owner [ "name", box name ] entries

    /// Whether `t` is declared outside this library and derives from one of its layer classes other than Layer.
    static member private ExtendsBuiltin(t: Type) : bool =
        let core = typeof<Layer>.Assembly
        t.Assembly <> core
        && Seq.unfold (fun (c: Type) -> if isNull c then None else Some(c, c.BaseType)) t.BaseType
           |> Seq.exists (fun c -> c.Assembly = core && c <> typeof<Layer> && typeof<Layer>.IsAssignableFrom c)

/// How config.json names and reads one layer class: its Keras class name and the function that constructs the layer
/// from its entry. Each layer file defines its own (`Dense.Registration`, ...); LayerRegistry lists them.
type internal LayerRegistration =
    { /// Keras class name as config.json writes it ("Dense"); the layer's ClassName.
      ClassName: string
      /// The "config" fields the layer's reader takes besides name, trainable and dtype (ConfigFields.checkFields).
      Fields: string list
      /// Keras fields of the class accepted only as null (regularizers, constraints, noise_shape).
      NullFields: string list
      /// Constructs the layer (not built) from its config entry; errors are ModelFileExceptions naming the field.
      Parse: LayerConfig -> Layer }
