namespace ActorTrainer.Core

open System
open System.IO
open System.Collections.Generic
open System.Security.Cryptography
open System.Text.Json.Nodes
open System.Runtime.InteropServices

/// Samples as flat float32 rows plus integer labels (sparse losses) or float targets (rows × outputs).
[<Sealed; AllowNullLiteral>]
type ArrayData(x: float32[], features: int, labels: int[], targets: float32[], count: int) =
    /// Samples, row-major (Count × Features).
    member _.X = x
    /// Values per sample.
    member _.Features = features
    /// Integer labels (sparse losses) or null.
    member _.Labels = labels
    /// Float targets (Count × outputs) or null.
    member _.Targets = targets
    /// Number of samples.
    member _.Count = count

    /// Rows [start, start+count) as a new ArrayData (copies).
    member d.Slice(start: int, n: int) =
        ArrayData(Array.sub x (start * features) (n * features), features,
                  (if isNull labels then null else Array.sub labels start n),
                  (if isNull targets then null else let w = targets.Length / max 1 count in Array.sub targets (start * w) (n * w)), n)

    /// Samples with integer labels (e.g. MNIST images and digits).
    static member OfLabels(x: float32[], features: int, labels: int[]) = ArrayData(x, features, labels, null, labels.Length)

/// Weights helpers shared by fit, checkpoints and the runtime.
module Weights =
    /// SHA-256 (lower-case hex) of the float32 weights in order, little-endian — `weights_sha256` in summary.json.
    let sha256 (weights: float32[][]) =
        use h = IncrementalHash.CreateHash HashAlgorithmName.SHA256
        for w in weights do
            let bytes = Runtime.InteropServices.MemoryMarshal.AsBytes(ReadOnlySpan w)
            if BitConverter.IsLittleEndian then h.AppendData bytes
            else
                let copy = bytes.ToArray()
                for i in 0 .. 4 .. copy.Length - 4 do Array.Reverse(copy, i, 4)
                h.AppendData copy
        Convert.ToHexString(h.GetHashAndReset()).ToLowerInvariant()

    /// Deep copy.
    let copy (weights: float32[][]) = weights |> Array.map Array.copy

/// A Keras `Sequential` model: a stack of layers, built on first input; compile → fit → evaluate → predict.
/// Training runs on the fast flat engine (same derivatives as the GradientTape path, fused kernels), with
/// the synchronous sharded schedule shared with the actor runtime, so results are bit-reproducible.
type Sequential([<Optional; DefaultParameterValue(null: seq<Layer>)>] layers: seq<Layer>,
                [<Optional; DefaultParameterValue("sequential")>] name: string,
                [<Optional; DefaultParameterValue(null: int[])>] inputShape: int[],
                [<Optional; DefaultParameterValue(1)>] seed: int) =
    let layers = ResizeArray<Layer>(if isNull layers then Seq.empty else layers)
    let mutable inputShape = inputShape
    let mutable optimizer : Optimizer = Unchecked.defaultof<_>
    let mutable loss = Loss.SparseCategoricalCrossentropy
    let mutable metricKeys : string[] = [||]
    let mutable compiled = false
    let mutable stop = false
    let mutable live : float32[][] = null

    let shapeStr (s: int[]) = "(None, " + String.Join(", ", s) + ")"

    /// Model name.
    member _.Name = name
    /// Seed for weight initialisation, shuffling and dropout.
    member _.Seed = seed
    /// The layers, in order.
    member _.Layers = layers :> IReadOnlyList<Layer>
    /// Appends a layer (before build).
    member _.Add(layer: Layer) =
        if not (isNull inputShape) && layers.Count > 0 && layers.[0].Built then
            raise (InvalidOperationException(sprintf "cannot add layer '%s' to model '%s' after it was built" layer.Name name))
        layers.Add layer
    /// Input shape without the batch axis (null until built or given).
    member _.InputShape = inputShape
    /// True once every layer has weights.
    member _.Built = layers.Count > 0 && layers |> Seq.forall (fun l -> l.Built)

    /// Creates all weights for an input shape (without batch); names layers Keras-style (dense, dense_1, ...).
    member m.Build(shape: int[]) =
        if layers.Count = 0 then raise (InvalidOperationException(sprintf "model '%s' has no layers" name))
        if not (isNull inputShape) && m.Built && shape <> inputShape then
            raise (ShapeException(sprintf "model '%s' was built for input shape %s but received %s" name (shapeStr inputShape) (shapeStr shape)))
        m.WeightSpecs shape |> ignore
        let mutable s = shape
        for i in 0 .. layers.Count - 1 do
            let l = layers.[i]
            l.Build(s, seed * 7919 + 1000 * i)
            s <- l.ComputeOutputShape s
        inputShape <- Array.copy shape

    /// Names and shapes of all weights for an input shape (without batch), in layer order, computed without allocating;
    /// names unnamed layers Keras-style (dense, dense_1, ...). Throws ResourceLimitException naming the bytes when the
    /// weights cannot be held (one array over the .NET limit, or more than the available memory).
    member _.WeightSpecs(shape: int[]) : (string * int[])[] =
        let counts = Dictionary<string, int>()
        for l in layers do
            if String.IsNullOrEmpty l.Name then
                let baseName = (match l.ClassName with "Activation" -> "activation" | c -> c.ToLowerInvariant())
                let k = match counts.TryGetValue baseName with | true, k -> k | _ -> 0
                counts.[baseName] <- k + 1
                l.Name <- if k = 0 then baseName else sprintf "%s_%d" baseName k
        let mutable s = shape
        let specs = [| for l in layers do
                         yield! (if l.Built then l.Variables |> Array.map (fun v -> v.Name, v.Shape) else l.WeightSpecs s)
                         s <- l.ComputeOutputShape s |]
        WeightBudget.check (sprintf "model '%s'" name) specs
        specs

    member private m.EnsureBuilt(shape: int[]) = if not m.Built then m.Build shape

    /// Differentiable forward pass (GradientTape path): predictions for a batch.
    member m.Call(x: Tensor, [<Optional; DefaultParameterValue(false)>] training: bool) : Tensor =
        m.EnsureBuilt x.Shape.[1..]
        layers |> Seq.fold (fun t l -> l.Call(t, training)) x

    /// Forward pass returning the pre-activation of the last layer (logits) — for fused losses on the tape.
    member m.CallLogits(x: Tensor, [<Optional; DefaultParameterValue(false)>] training: bool) : Tensor =
        m.EnsureBuilt x.Shape.[1..]
        let tr = training
        let n = layers.Count
        let h = layers |> Seq.take (n - 1) |> Seq.fold (fun t l -> l.Call(t, tr)) x
        layers.[n - 1].CallLogits(h, tr)

    /// All variables in layer order (kernel, bias per Dense).
    member _.Variables = layers |> Seq.collect (fun l -> l.Variables) |> Array.ofSeq
    /// Trainable variables (all of them for the built-in layers).
    member m.TrainableVariables = m.Variables |> Array.filter (fun v -> v.Trainable)

    /// Copies of the weights, in layer order (live values while fit runs).
    member m.GetWeights() : float32[][] =
        if not (isNull live) then Weights.copy live
        else m.Variables |> Array.map (fun v -> v.Value.ToFloat32Array())

    /// Replaces all weights (shapes must match, in layer order).
    member m.SetWeights(weights: float32[][]) =
        let vars = m.Variables
        if weights.Length <> vars.Length then
            raise (ArgumentException(sprintf "set_weights: model '%s' has %d weight arrays but %d were given" name vars.Length weights.Length))
        for i in 0 .. vars.Length - 1 do
            let n = Array.fold (*) 1 vars.[i].Shape
            if weights.[i].Length <> n then
                raise (ShapeException(sprintf "set_weights: '%s' has shape %s (%d values) but %d values were given" vars.[i].Name (Shape.str vars.[i].Shape) n weights.[i].Length))
            vars.[i].Assign(Tensor.FromArray(weights.[i], vars.[i].Shape))   // FromArray copies
            if not (isNull live) then Array.Copy(weights.[i], live.[i], n)

    /// SHA-256 of the float32 weights in layer order (little-endian).
    member m.WeightsSha256() = Weights.sha256 (m.GetWeights())

    /// Configures training (Keras `compile`).
    member _.Compile(opt: Optimizer, lossName: string, [<Optional; DefaultParameterValue(null: seq<string>)>] metrics: seq<string>) =
        if isNull (box opt) then raise (ArgumentNullException("optimizer"))
        optimizer <- opt
        loss <- Loss.Parse lossName
        metricKeys <- (if isNull metrics then Seq.empty else metrics) |> Seq.map (Metrics.resolve loss) |> Seq.distinct |> Array.ofSeq
        compiled <- true

    /// The compiled optimizer.
    member _.Optimizer = optimizer
    /// The compiled loss.
    member _.Loss = loss
    /// Metric keys reported in logs.
    member _.MetricNames = metricKeys :> IReadOnlyList<string>
    /// Set by callbacks to stop fit.
    member _.StopTraining with get () = stop and set v = stop <- v

    /// The flat engine plan (builds nothing; the model must be built and compiled).
    member m.Plan : ModelPlan =
        if not m.Built then raise (InvalidOperationException(sprintf "model '%s' is not built yet: call Build(inputShape) or fit/predict first" name))
        let mutable s = inputShape
        let plan = ResizeArray()
        for l in layers do
            match l.Plan s with
            | Some p -> plan.Add p
            | None -> ()
            s <- l.ComputeOutputShape s
        { InputDim = Array.fold (*) 1 inputShape; Layers = plan.ToArray(); Loss = loss }

    member private m.RequireCompiled(what: string) =
        if not compiled then raise (InvalidOperationException(sprintf "%s: model '%s' must be compiled first (call Compile(optimizer, loss, metrics))" what name))

    member private m.CheckData(what: string, d: ArrayData) =
        if d.Count < 0 || d.X.Length <> d.Count * d.Features then
            raise (ArgumentException(sprintf "%s: x has %d values, expected %d samples × %d features" what d.X.Length d.Count d.Features))
        if loss.SparseTargets then
            if isNull d.Labels || d.Labels.Length <> d.Count then
                raise (ArgumentException(sprintf "%s: loss %s needs %d integer labels, got %s" what loss.Name d.Count (if isNull d.Labels then "none" else string d.Labels.Length)))
        elif isNull d.Targets || d.Targets.Length <> d.Count * m.Plan.OutputDim then
            raise (ArgumentException(sprintf "%s: loss %s needs targets of shape (%d, %d)" what loss.Name d.Count m.Plan.OutputDim))

    member private m.EvaluateWith(engine: GradientEngine, weights: float32[][], d: ArrayData) : ShardStats =
        let mutable st = ShardStats.Zero
        let mutable start = 0
        let ow = engine.Plan.OutputDim
        while start < d.Count do
            let rows = min engine.MaxRows (d.Count - start)
            st <- st + engine.Evaluate(weights, ReadOnlySpan(d.X, start * d.Features, rows * d.Features),
                                       (if isNull d.Labels then ReadOnlySpan.Empty else ReadOnlySpan(d.Labels, start, rows)),
                                       (if isNull d.Targets then ReadOnlySpan.Empty else ReadOnlySpan(d.Targets, start * ow, rows * ow)), rows)
            start <- start + rows
        st

    member private _.Logs(prefix: string, st: ShardStats, into: Dictionary<string, float>) =
        into.[prefix + "loss"] <- st.LossSum / float (max 1 st.Count)
        for k in metricKeys do into.[prefix + k] <- st.Correct / float (max 1 st.Count)

    /// Trains on flat arrays (Keras `fit`). Returns the History. shardsPerBatch fixes how each batch is split for
    /// the gradient sum (the actor runtime with the same value reproduces these weights bit for bit).
    member m.FitArrays(train: ArrayData,
                       [<Optional; DefaultParameterValue(1)>] epochs: int,
                       [<Optional; DefaultParameterValue(32)>] batchSize: int,
                       [<Optional; DefaultParameterValue(null: ArrayData)>] validationData: ArrayData,
                       [<Optional; DefaultParameterValue(0.0)>] validationSplit: float,
                       [<Optional; DefaultParameterValue(true)>] shuffle: bool,
                       [<Optional; DefaultParameterValue(null: seq<ICallback>)>] callbacks: seq<ICallback>,
                       [<Optional; DefaultParameterValue(1)>] verbose: int,
                       [<Optional; DefaultParameterValue(1)>] shardsPerBatch: int,
                       [<Optional; DefaultParameterValue(null: TextWriter)>] output: TextWriter) : History =
        m.RequireCompiled "fit"
        let shards = shardsPerBatch
        if isNull train then raise (ArgumentNullException("train"))
        if epochs < 0 then raise (ArgumentOutOfRangeException("epochs", epochs, "epochs must be >= 0"))
        if batchSize < 1 then raise (ArgumentOutOfRangeException("batchSize", batchSize, "batch_size must be >= 1"))
        let split = validationSplit
        if split < 0.0 || split >= 1.0 then raise (ArgumentOutOfRangeException("validationSplit", split, "validation_split must be in [0, 1)"))
        m.EnsureBuilt(if isNull inputShape then [| train.Features |] else inputShape)
        if m.Plan.InputDim <> train.Features then
            raise (ShapeException(sprintf "fit: model '%s' expects %d features per sample but x has %d" name m.Plan.InputDim train.Features))
        let train, validation =
            match validationData with
            | null when split > 0.0 ->
                let nVal = int (float train.Count * split)
                train.Slice(0, train.Count - nVal), Some(train.Slice(train.Count - nVal, nVal))
            | null -> train, None
            | v -> train, Some v
        m.CheckData("fit", train)
        validation |> Option.iter (fun v -> m.CheckData("fit validation_data", v))
        let plan = m.Plan
        let stepper = SyncStepper(plan, batchSize, shards)
        let history = History()
        let out = if isNull output then Console.Out else output
        let cbs =
            [ yield history :> ICallback
              if verbose > 0 then yield ProgbarLogger(epochs, out, verbose = 1 && not Console.IsOutputRedirected && Object.ReferenceEquals(out, Console.Out)) :> ICallback
              if not (isNull callbacks) then yield! callbacks ]
        let handle = m :> IModelHandle
        for c in cbs do c.SetModel handle
        let weights = m.GetWeights()
        live <- weights
        stop <- false
        let logs = Dictionary<string, float>()
        let mutable globalStep = optimizer.Iterations
        try
            for c in cbs do c.OnTrainBegin()
            let mutable epoch = 0
            while epoch < epochs && not stop do
                let steps = Batching.batchCount train.Count batchSize
                for c in cbs do c.OnEpochBegin(epoch, steps)
                let order = Batching.permutation seed epoch train.Count shuffle
                let mutable st = ShardStats.Zero
                let mutable b = 0
                while b < steps && not stop do
                    for c in cbs do c.OnTrainBatchBegin b
                    let rows = min batchSize (train.Count - b * batchSize)
                    st <- st + stepper.Step(weights, optimizer, train.X, train.Labels, train.Targets, order, b * batchSize, rows, seed, globalStep)
                    globalStep <- globalStep + 1L
                    m.Logs("", st, logs)
                    for c in cbs do c.OnTrainBatchEnd(b, logs)
                    b <- b + 1
                logs.Clear()
                m.Logs("", st, logs)
                validation |> Option.iter (fun v -> m.Logs("val_", m.EvaluateWith(stepper.Engine, weights, v), logs))
                live <- null
                m.SetWeights weights
                live <- weights
                for c in cbs do c.OnEpochEnd(epoch, logs)
                epoch <- epoch + 1
            for c in cbs do c.OnTrainEnd logs
        finally
            live <- null
            m.SetWeights weights
        history

    /// Flat ArrayData from x (N, ...) and y (labels or targets by the compiled loss), with shape checks.
    member private m.ToData(what: string, x: Tensor, y: Tensor) : ArrayData =
        if isNull x || isNull y then raise (ArgumentNullException((if isNull x then "x" else "y"), sprintf "%s: x and y are required" what))
        if x.NDim < 1 then raise (ShapeException(sprintf "%s: x must have a batch axis, got shape %s" what (Shape.str x.Shape)))
        if y.NDim < 1 || y.Shape.[0] <> x.Shape.[0] then
            raise (ShapeException(sprintf "%s: x has %d samples (shape %s) but y has shape %s" what x.Shape.[0] (Shape.str x.Shape) (Shape.str y.Shape)))
        let n = x.Shape.[0]
        m.EnsureBuilt x.Shape.[1..]
        ArrayData(x.ToFloat32Array(), (if n = 0 then 0 else x.Size / n),
                  (if loss.SparseTargets then y.ToInt32Array() else null),
                  (if loss.SparseTargets then null else y.ToFloat32Array()), n)

    /// Trains on tensors: x (N, ...) float32; y (N,) integer labels for sparse losses or (N, outputs) float targets.
    member m.Fit(x: Tensor, y: Tensor,
                 [<Optional; DefaultParameterValue(1)>] epochs: int,
                 [<Optional; DefaultParameterValue(32)>] batchSize: int,
                 [<Optional; DefaultParameterValue(null: Tensor)>] validationX: Tensor,
                 [<Optional; DefaultParameterValue(null: Tensor)>] validationY: Tensor,
                 [<Optional; DefaultParameterValue(0.0)>] validationSplit: float,
                 [<Optional; DefaultParameterValue(true)>] shuffle: bool,
                 [<Optional; DefaultParameterValue(null: seq<ICallback>)>] callbacks: seq<ICallback>,
                 [<Optional; DefaultParameterValue(1)>] verbose: int,
                 [<Optional; DefaultParameterValue(1)>] shardsPerBatch: int,
                 [<Optional; DefaultParameterValue(null: TextWriter)>] output: TextWriter) : History =
        m.RequireCompiled "fit"
        let train = m.ToData("fit", x, y)
        let v =
            match validationX, validationY with
            | null, null -> null
            | null, _ | _, null -> raise (ArgumentException("fit: give both validationX and validationY, or neither"))
            | vx, vy -> m.ToData("fit validation data", vx, vy)
        m.FitArrays(train, epochs, batchSize, v, validationSplit, shuffle, callbacks, verbose, shardsPerBatch, output)

    /// Mean loss and metrics on data (Keras `evaluate`), as a dictionary ("loss", "accuracy", ...).
    member m.EvaluateArrays(d: ArrayData, [<Optional; DefaultParameterValue(128)>] batchSize: int) : IReadOnlyDictionary<string, float> =
        m.RequireCompiled "evaluate"
        m.EnsureBuilt [| d.Features |]
        m.CheckData("evaluate", d)
        let engine = GradientEngine(m.Plan, batchSize)
        let logs = Dictionary<string, float>()
        m.Logs("", m.EvaluateWith(engine, m.GetWeights(), d), logs)
        logs :> IReadOnlyDictionary<string, float>

    /// Mean loss and metrics on tensors x (N, ...) and y.
    member m.Evaluate(x: Tensor, y: Tensor, [<Optional; DefaultParameterValue(128)>] batchSize: int) : IReadOnlyDictionary<string, float> =
        m.RequireCompiled "evaluate"
        m.EvaluateArrays(m.ToData("evaluate", x, y), batchSize)

    /// Model outputs (probabilities after softmax) for flat rows: (count × outputs), row-major.
    member m.PredictArrays(x: float32[], features: int, [<Optional; DefaultParameterValue(128)>] batchSize: int) : float32[] =
        m.EnsureBuilt [| features |]
        let plan = { m.Plan with Loss = loss }
        if plan.InputDim <> features then
            raise (ShapeException(sprintf "predict: model '%s' expects %d features per sample but got %d" name plan.InputDim features))
        if x.Length % max 1 features <> 0 then
            raise (ArgumentException(sprintf "predict: x has %d values, not a multiple of %d features" x.Length features))
        let count = if features = 0 then 0 else x.Length / features
        let engine = GradientEngine(plan, batchSize)
        let ow = plan.OutputDim
        let out = Array.zeroCreate<float32> (count * ow)
        let w = m.GetWeights()
        let mutable start = 0
        while start < count do
            let rows = min engine.MaxRows (count - start)
            engine.Predict(w, ReadOnlySpan(x, start * features, rows * features), rows).CopyTo(Span(out, start * ow, rows * ow))
            start <- start + rows
        out

    /// Model outputs for x (N, ...) as a (N, outputs) tensor (Keras `predict`; argmax for labels).
    member m.Predict(x: Tensor, [<Optional; DefaultParameterValue(128)>] batchSize: int) : Tensor =
        let n = x.Shape.[0]
        m.EnsureBuilt x.Shape.[1..]
        let out = m.PredictArrays(x.ToFloat32Array(), (if n = 0 then m.Plan.InputDim else x.Size / n), batchSize)
        Tensor.FromArray(out, [| n; m.Plan.OutputDim |])

    /// Keras-style summary table (layer, output shape, params; totals), also printed when a writer is given.
    member m.Summary([<Optional; DefaultParameterValue(null: TextWriter)>] writer: TextWriter) : string =
        if not m.Built then raise (InvalidOperationException(sprintf "summary: model '%s' is not built yet: call Build(inputShape) or fit first" name))
        let sb = Text.StringBuilder()
        let line (a: string) (b: string) (c: string) = sb.AppendLine(sprintf " %-28s%-26s%-10s" a b c) |> ignore
        sb.AppendLine(sprintf "Model: \"%s\"" name) |> ignore
        sb.AppendLine(String('_', 65)) |> ignore
        line "Layer (type)" "Output Shape" "Param #"
        sb.AppendLine(String('=', 65)) |> ignore
        let mutable s = inputShape
        let mutable total = 0
        for i in 0 .. layers.Count - 1 do
            let l = layers.[i]
            s <- l.ComputeOutputShape s
            let p = l.CountParams()
            total <- total + p
            line (sprintf "%s (%s)" l.Name l.ClassName) (shapeStr s) (p.ToString("N0", Globalization.CultureInfo.InvariantCulture))
            if i < layers.Count - 1 then sb.AppendLine("") |> ignore
        sb.AppendLine(String('=', 65)) |> ignore
        let mb (n: int) = float n * 4.0 / 1048576.0
        let fmt (n: int) = n.ToString("N0", Globalization.CultureInfo.InvariantCulture)
        sb.AppendLine(sprintf "Total params: %s (%.2f MB)" (fmt total) (mb total)) |> ignore
        sb.AppendLine(sprintf "Trainable params: %s (%.2f MB)" (fmt total) (mb total)) |> ignore
        sb.AppendLine("Non-trainable params: 0 (0.00 B)") |> ignore
        sb.AppendLine(String('_', 65)) |> ignore
        let text = sb.ToString()
        if not (isNull writer) then writer.Write text
        text

    /// Total number of weights.
    member m.CountParams() = layers |> Seq.sumBy (fun l -> l.CountParams())

    /// Keras-style model config as JSON: architecture ({"class_name": "Sequential", "config": {...}}) and compile config.
    member m.GetConfig() : JsonNode =
        let layersJson = JsonArray()
        for l in layers do
            layersJson.Add(ModelConfig.objectOf [ "class_name", box l.ClassName; "config", box (l.GetConfig()) ])
        let shape = JsonArray()
        shape.Add(null :> JsonNode)
        if not (isNull inputShape) then for d in inputShape do shape.Add(JsonValue.Create d)
        let root = JsonObject()
        root.["class_name"] <- JsonValue.Create "Sequential"
        root.["config"] <- ModelConfig.objectOf [ "name", box name; "seed", box seed; "build_input_shape", box shape; "layers", box layersJson ]
        if compiled then
            let metrics = JsonArray()
            for k in metricKeys do metrics.Add(JsonValue.Create k)
            root.["compile_config"] <- ModelConfig.objectOf [ "optimizer", box (ModelConfig.optimizer optimizer); "loss", box loss.Name; "metrics", box metrics ]
        root :> JsonNode

    /// Saves config.json + model.safetensors (+ optimizer.safetensors when compiled) into a directory, atomically.
    member m.Save(dir: string) =
        if not m.Built then raise (InvalidOperationException(sprintf "save: model '%s' is not built yet" name))
        let weights = m.GetWeights()
        let named = m.Variables |> Array.mapi (fun i v -> ActorTrainer.Interop.NamedTensor(v.Name, v.Shape, weights.[i]))
        ModelFiles.write dir (m.GetConfig()) named (if compiled then Some optimizer else None)

    /// Loads a model saved by Save: rebuilds the layers, sets the weights (names and shapes checked), and restores
    /// the compile config and optimizer state when present.
    static member Load(dir: string) : Sequential =
        let cfgPath, cfg = ModelFiles.readConfig dir
        let spec = ModelConfig.parseModel cfgPath cfg
        let model = Sequential(spec.Layers, spec.Name, spec.InputShape, spec.Seed)
        // Shapes and sizes are compared with the weights file before any weight is allocated or initialised.
        let specs = model.WeightSpecs spec.InputShape
        let values = ModelFiles.readWeights dir specs
        model.Build spec.InputShape
        model.SetWeights values
        spec.Compile |> Option.iter (fun (opt, lossName, metrics) ->
            model.Compile(opt, lossName, metrics)
            let sizes = specs |> Array.map (fun (_, s) -> s |> Array.fold (fun (acc: int64) d -> acc * int64 d) 1L)
            ModelFiles.readOptimizerState dir opt sizes |> Option.iter (fun (it, slots) -> opt.LoadState(it, slots)))
        model

    interface IModelHandle with
        member _.StopTraining with get () = stop and set v = stop <- v
        member _.Optimizer = optimizer
        member m.GetWeights() = m.GetWeights()
        member m.SetWeights w = m.SetWeights w
        member m.Save path = m.Save path
