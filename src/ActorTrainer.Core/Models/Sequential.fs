namespace ActorTrainer.Core

open System
open System.IO
open System.Collections.Generic
open System.Security.Cryptography
open System.Text.Json.Nodes
open System.Runtime.InteropServices

/// A Keras `Sequential` model: a stack of layers, built on first input; compile → fit → evaluate → predict.
/// Training runs on the fast flat engine (same derivatives as the GradientTape path, fused kernels), with
/// the synchronous sharded schedule shared with the actor runtime, so results are bit-reproducible.
type Sequential([<Optional; DefaultParameterValue(null: seq<Layer>)>] layers: seq<Layer>,
                [<Optional; DefaultParameterValue("sequential")>] name: string,
                [<Optional; DefaultParameterValue(null: int[])>] inputShape: int[],
                [<Optional; DefaultParameterValue(1)>] seed: int) as this =
    static let label = LayerNames.label
    static let checkNew = LayerNames.checkNew
    let layers =
        let list = ResizeArray<Layer>()
        if not (isNull layers) then
            for l in layers do
                checkNew name list l
                list.Add l
        list
    let mutable inputShape = inputShape
    let mutable compiledOptimizer : Optimizer = Unchecked.defaultof<_>
    let mutable compiledLoss = Loss.SparseCategoricalCrossentropy
    let mutable metricKeys : string[] = [||]
    let mutable compiled = false
    let mutable stop = false
    let mutable running : IStepExecutor = null
    let isRunning () = not (isNull running)

    let shapeStr (s: int[]) = "(None, " + String.Join(", ", s) + ")"
    /// The error of `what` on a model without weights yet, saying what builds it.
    let notBuilt (what: string) =
        InvalidOperationException(
            if layers.Count = 0 then sprintf "%s: model '%s' has no layers yet: add layers first" what name
            elif isNull inputShape then sprintf "%s: model '%s' is not built yet: give inputShape when creating it, or call Build(inputShape) or fit/predict first" what name
            else sprintf "%s: model '%s' is not built yet (layers were added after it was created): call Build(%s) or fit/predict first" what name (String.Join(", ", inputShape)))
    // Keras: a model given its input shape is built when it is created (same seeds as a build by fit)
    do if not (isNull inputShape) && layers.Count > 0 then this.Build inputShape

    /// Model name.
    member _.Name = name
    /// Seed for weight initialisation, shuffling and dropout.
    member _.Seed = seed
    /// The layers, in order.
    member _.Layers = layers :> IReadOnlyList<Layer>
    /// Appends a layer (before build).
    member _.Add(layer: Layer) =
        if not (isNull inputShape) && layers.Count > 0 && layers.[0].Built then
            raise (InvalidOperationException(sprintf "cannot add layer %s to model '%s' after it was built" (label layer) name))
        checkNew name layers layer
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

    /// (name, shape) of every weight for an input shape (without batch), in layer order, computed without allocating;
    /// names unnamed layers Keras-style (dense, dense_1, ...). Throws ResourceLimitException naming the bytes when the
    /// weights cannot be held (one array over the .NET limit, or more than the available memory).
    member _.WeightSpecs(shape: int[]) : struct (string * int[])[] =
        LayerNames.assign (layers :> IReadOnlyList<Layer>)
        let mutable s = shape
        let specs = [| for l in layers do
                         yield! (if l.Built then l.Variables |> Array.map (fun v -> struct (v.Name, v.Shape)) else l.WeightSpecs s)
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

    /// All variables in layer order (kernel, bias per Dense); none for a layer not built yet (Keras `model.weights`).
    member _.Variables = layers |> Seq.collect (fun l -> if l.Built then l.Variables else [||]) |> Array.ofSeq
    /// Trainable variables (all of them for the built-in layers).
    member m.TrainableVariables = m.Variables |> Array.filter (fun v -> v.Trainable)

    /// Copies of the weights, in layer order (the executor's current values while fit runs); empty before build (Keras).
    member m.GetWeights() : float32[][] =
        if isRunning () then Weights.copy running.Weights
        else m.Variables |> Array.map (fun v -> v.Value.ToFloat32Array())

    /// Replaces all weights (shapes must match, in layer order).
    member m.SetWeights(weights: float32[][]) =
        if not m.Built then raise (notBuilt "set_weights")
        let vars = m.Variables
        if weights.Length <> vars.Length then
            raise (ArgumentException(sprintf "set_weights: model '%s' has %d weight arrays but %d were given" name vars.Length weights.Length))
        for i in 0 .. vars.Length - 1 do
            let n = Array.fold (*) 1 vars.[i].Shape
            if weights.[i].Length <> n then
                raise (ShapeException(sprintf "set_weights: '%s' has shape %s (%d values) but %d values were given" vars.[i].Name (Shape.str vars.[i].Shape) n weights.[i].Length))
        if isRunning () then running.SetWeights weights      // the executor writes the weights' home (or its own copy)
        else for i in 0 .. vars.Length - 1 do vars.[i].Assign(Tensor.FromArray(weights.[i], vars.[i].Shape))   // FromArray copies

    /// SHA-256 of the float32 weights in layer order (little-endian).
    member m.WeightsSha256() = Weights.sha256 (m.GetWeights())

    /// Configures training (Keras `compile`).
    member _.Compile(optimizer: Optimizer, loss: string, [<Optional; DefaultParameterValue(null: seq<string>)>] metrics: seq<string>) =
        if isNull (box optimizer) then raise (ArgumentNullException("optimizer", "compile: optimizer is null"))
        if isNull loss then raise (ArgumentNullException("loss", "compile: loss is null (give a Keras loss name such as \"sparse_categorical_crossentropy\")"))
        compiledOptimizer <- optimizer
        compiledLoss <- Loss.Parse loss
        metricKeys <- (if isNull metrics then Seq.empty else metrics) |> Seq.map (Metrics.resolve compiledLoss) |> Seq.distinct |> Array.ofSeq
        compiled <- true

    /// Configures training with an optimizer by Keras name ("sgd", "rmsprop", "adagrad", "adam"; any case) at Keras' defaults.
    member m.Compile(optimizer: string, loss: string, [<Optional; DefaultParameterValue(null: seq<string>)>] metrics: seq<string>) =
        m.Compile(ModelConfig.optimizerNamed optimizer, loss, metrics)
    /// The compiled optimizer.
    member _.Optimizer = compiledOptimizer
    /// The compiled loss.
    member _.Loss = compiledLoss
    /// Metric keys reported in logs.
    member _.MetricNames = metricKeys :> IReadOnlyList<string>
    /// Set by callbacks to stop fit.
    member _.StopTraining with get () = stop and set v = stop <- v

    /// The flat engine plan (builds nothing; the model must be built and compiled). Sets each Dropout layer's
    /// PlanIndex to its position in the plan, so the tape's `Call(x, training = true)` then draws the engine's masks.
    member m.Plan : ModelPlan =
        if not m.Built then raise (notBuilt "plan")
        let mutable s = inputShape
        let plan = ResizeArray()
        for l in layers do
            if not l.IdentityOnFlatRows then
                let p = l.Plan s
                // a layer that computes something would be skipped by the engine without a word
                if isNull (box p) then
                    raise (NotSupportedException(
                        sprintf "layer '%s' (%s): its Plan is null but it does not declare IdentityOnFlatRows = true; fit, evaluate and predict run the training engine, not the layer's Call: return an existing PlanLayer case, or override IdentityOnFlatRows if the layer only reshapes a sample"
                            l.Name (l.GetType().FullName)))
                match l with :? Dropout as d -> d.PlanIndex <- plan.Count | _ -> ()
                plan.Add p
            s <- l.ComputeOutputShape s
        { InputDim = Array.fold (*) 1 inputShape; Layers = plan.ToArray(); Loss = compiledLoss }

    member private m.RequireCompiled(what: string) =
        if not compiled then raise (InvalidOperationException(sprintf "%s: model '%s' must be compiled first (call Compile(optimizer, loss, metrics))" what name))

    member private m.CheckData(what: string, d: ArrayData) = SequentialChecks.data what compiledLoss m.Plan.OutputDim d

    /// Trains on flat arrays (Keras `fit`). Returns the History. shardsPerBatch fixes how each batch is split for
    /// the gradient sum (every runtime with the same value reproduces these weights bit for bit).
    member m.FitArrays(train: ArrayData,
                       [<Optional; DefaultParameterValue(1)>] epochs: int,
                       [<Optional; DefaultParameterValue(32)>] batchSize: int,
                       [<Optional; DefaultParameterValue(null: ArrayData)>] validationData: ArrayData,
                       [<Optional; DefaultParameterValue(0.0)>] validationSplit: float,
                       [<Optional; DefaultParameterValue(true)>] shuffle: bool,
                       [<Optional; DefaultParameterValue(null: seq<ICallback>)>] callbacks: seq<ICallback>,
                       [<Optional; DefaultParameterValue(1)>] verbose: int,
                       [<Optional; DefaultParameterValue(Batching.DefaultShardsPerBatch)>] shardsPerBatch: int,
                       [<Optional; DefaultParameterValue(null: TextWriter)>] output: TextWriter) : History =
        let split = validationSplit
        if split < 0.0 || split >= 1.0 then raise (ArgumentOutOfRangeException("validationSplit", split, "validation_split must be in [0, 1)"))
        let train, validation =
            match validationData with
            | null when split > 0.0 && not (isNull train) ->
                let nVal = train.Count - train.ValidationSplitAt split
                if nVal = 0 || nVal = train.Count then
                    raise (ArgumentException(sprintf "fit: the training data has %d samples, too few to split into a validation and a training set with validation_split = %g (%d would be held out)" train.Count split nVal, "validationSplit"))
                train.Slice(0, train.Count - nVal), train.Slice(train.Count - nVal, nVal)
            | v -> train, v
        let o = FitOptions(Epochs = epochs, BatchSize = batchSize, Shuffle = shuffle, Seed = seed, ShardsPerBatch = shardsPerBatch,
                           Validation = validation, Verbose = verbose, Output = output)
        (m.FitWith(train, o, callbacks)).History

    /// Trains with every option of the one fit loop (runtime, checkpoints, resume, cancellation); returns the
    /// FitResult (History, per-epoch logs including resumed ones, steps, whether it was interrupted).
    member m.FitWith(train: ArrayData, options: FitOptions, [<Optional; DefaultParameterValue(null: seq<ICallback>)>] callbacks: seq<ICallback>) : FitResult =
        m.RequireCompiled "fit"
        if isNull train then raise (ArgumentNullException("train"))
        if isNull options then raise (ArgumentNullException("options"))
        if options.Epochs < 0 then raise (ArgumentOutOfRangeException("epochs", options.Epochs, "epochs must be >= 0"))
        if options.BatchSize < 1 then raise (ArgumentOutOfRangeException("batchSize", options.BatchSize, "batch_size must be >= 1"))
        if options.CheckpointEverySteps < 0 then raise (ArgumentOutOfRangeException("CheckpointEverySteps", options.CheckpointEverySteps, "CheckpointEverySteps must be >= 0 (0: checkpoint at epoch ends only)"))
        if options.ShardsPerBatch < 1 then raise (ArgumentOutOfRangeException("shardsPerBatch", options.ShardsPerBatch, "shards per batch must be >= 1"))
        m.EnsureBuilt(if isNull inputShape then [| train.Features |] else inputShape)
        SequentialChecks.features "fit" name m.Plan.InputDim train
        m.CheckData("fit", train)
        if train.Count = 0 then raise (ArgumentException("fit: the training data has no samples", "train"))
        if not (isNull options.Validation) then
            SequentialChecks.features "fit validation_data" name m.Plan.InputDim options.Validation
            m.CheckData("fit validation_data", options.Validation)
            if options.Validation.Count = 0 then raise (ArgumentException("fit: validation_data has no samples (pass null for no validation)", "options"))
        let vars = m.Variables
        let home = vars |> Array.map (fun v -> v.Borrow())     // the weights live in the variables; fit updates them in place
        try
            let job = { Plan = m.Plan; Weights = home; Optimizer = compiledOptimizer; Train = train; BatchSize = options.BatchSize
                        ShardsPerBatch = options.ShardsPerBatch; Seed = options.Seed; Shuffle = options.Shuffle }
            stop <- false
            FitLoop.Run(job, options, metricKeys, m, callbacks)
        finally
            for v in vars do v.Return()

    /// Flat ArrayData from x (N, ...) and y (labels or targets by the compiled loss), with shape checks.
    member private m.ToData(what: string, x: Tensor, y: Tensor) : ArrayData =
        let n = SequentialChecks.samples what x y
        m.EnsureBuilt x.Shape.[1..]
        SequentialChecks.sampleShape what name inputShape x
        ArrayData(x.ToFloat32Array(), (if n = 0 then 0 else x.Size / n),
                  (if compiledLoss.SparseTargets then SequentialChecks.labels what y else null),
                  (if compiledLoss.SparseTargets then null else y.ToFloat32Array()), n)

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
                 [<Optional; DefaultParameterValue(Batching.DefaultShardsPerBatch)>] shardsPerBatch: int,
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
    /// `backend`: where the passes run (null: this process' CPU engine).
    member m.EvaluateArrays(d: ArrayData, [<Optional; DefaultParameterValue(128)>] batchSize: int,
                            [<Optional; DefaultParameterValue(null: IInferenceBackend)>] backend: IInferenceBackend) : IReadOnlyDictionary<string, float> =
        m.EvaluateArraysInto(d, batchSize, backend, null)

    /// EvaluateArrays, and the outputs for d's rows written to `outputs` unless null (d.Count × OutputDim: PredictArrays'
    /// bits), on the CPU from the same passes (`train`'s test loss and its digit plots).
    member internal m.EvaluateArraysInto(d: ArrayData, batchSize: int, backend: IInferenceBackend, outputs: float32[]) : IReadOnlyDictionary<string, float> =
        m.RequireCompiled "evaluate"
        if isNull d then raise (ArgumentNullException("d"))
        m.EnsureBuilt [| d.Features |]
        if m.Plan.InputDim <> d.Features then
            raise (ShapeException(sprintf "evaluate: model '%s' expects %d features per sample but x has %d" name m.Plan.InputDim d.Features))
        m.CheckData("evaluate", d)
        if d.Count = 0 then raise (ArgumentException("evaluate: the data has no samples", "d"))
        let stats =
            if isNull backend then Evaluator(m.Plan, batchSize).Run(m.GetWeights(), d, outputs)
            else
                if not (isNull outputs) then backend.Predict({ m.Plan with Loss = compiledLoss }, m.GetWeights(), d.X, d.Count, batchSize).CopyTo(outputs, 0)
                backend.Evaluate(m.Plan, m.GetWeights(), d, batchSize)
        let logs = Dictionary<string, float>()
        Evaluation.logs "" metricKeys stats logs
        logs :> IReadOnlyDictionary<string, float>

    /// Mean loss and metrics on tensors x (N, ...) and y.
    member m.Evaluate(x: Tensor, y: Tensor, [<Optional; DefaultParameterValue(128)>] batchSize: int) : IReadOnlyDictionary<string, float> =
        m.RequireCompiled "evaluate"
        m.EvaluateArrays(m.ToData("evaluate", x, y), batchSize)

    /// Model outputs (probabilities after softmax) for flat rows: (count × outputs), row-major.
    /// `backend`: where the passes run (null: this process' CPU engine).
    member m.PredictArrays(x: float32[], features: int, [<Optional; DefaultParameterValue(128)>] batchSize: int,
                           [<Optional; DefaultParameterValue(null: IInferenceBackend)>] backend: IInferenceBackend) : float32[] =
        m.EnsureBuilt [| features |]
        let plan = { m.Plan with Loss = compiledLoss }
        if plan.InputDim <> features then
            raise (ShapeException(sprintf "predict: model '%s' expects %d features per sample but got %d" name plan.InputDim features))
        if x.Length % max 1 features <> 0 then
            raise (ArgumentException(sprintf "predict: x has %d values, not a multiple of %d features" x.Length features))
        let count = if features = 0 then 0 else x.Length / features
        if not (isNull backend) then backend.Predict(plan, m.GetWeights(), x, count, batchSize)
        else Predictor(plan, batchSize).Run(m.GetWeights(), x, count)

    /// Model outputs for data's rows (labels or targets unused): (data.Count × outputs), row-major, as PredictArrays(x, features).
    member m.PredictArrays(data: ArrayData, [<Optional; DefaultParameterValue(128)>] batchSize: int,
                           [<Optional; DefaultParameterValue(null: IInferenceBackend)>] backend: IInferenceBackend) : float32[] =
        if isNull data then raise (ArgumentNullException("data", "predict: data is null"))
        m.PredictArrays(data.X, data.Features, batchSize, backend)

    /// Model outputs for x (N, ...) as a (N, outputs) tensor (Keras `predict`; argmax for labels).
    member m.Predict(x: Tensor, [<Optional; DefaultParameterValue(128)>] batchSize: int) : Tensor =
        if isNull x then raise (ArgumentNullException("x"))
        if x.NDim < 1 then raise (ShapeException(sprintf "predict: x must have a batch axis, got shape %s" (Shape.str x.Shape)))
        let n = x.Shape.[0]
        m.EnsureBuilt x.Shape.[1..]
        SequentialChecks.sampleShape "predict" name inputShape x
        let out = m.PredictArrays(x.ToFloat32Array(), (if n = 0 then m.Plan.InputDim else x.Size / n), batchSize)
        Tensor.FromArray(out, [| n; m.Plan.OutputDim |])

    /// Keras-style summary table (layer, output shape, params; totals), also printed when a writer is given.
    member m.Summary([<Optional; DefaultParameterValue(null: TextWriter)>] writer: TextWriter) : string =
        if not m.Built then raise (notBuilt "summary")
        let text = ModelSummary.text name inputShape layers
        if not (isNull writer) then writer.Write text
        text

    /// Total number of weights; InvalidOperationException before build (Keras raises ValueError).
    member m.CountParams() =
        if not m.Built then raise (notBuilt "count_params")
        layers |> Seq.sumBy (fun l -> l.CountParams())

    /// Keras-style model config as JSON: architecture ({"class_name": "Sequential", "config": {...}}) and compile config.
    member m.GetConfig() : JsonNode =
        ModelConfig.sequential name seed inputShape layers
            (if compiled then Some (compiledOptimizer, compiledLoss.Name, metricKeys :> seq<string>) else None)

    interface ITrainee with
        member _.StopTraining with get () = stop and set v = stop <- v
        member _.Optimizer = compiledOptimizer
        member m.GetWeights() = m.GetWeights()
        member m.SetWeights w = m.SetWeights w
        member _.Attach executor = running <- executor
