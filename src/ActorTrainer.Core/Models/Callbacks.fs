namespace ActorTrainer.Core

open System
open System.IO
open System.Collections.Generic
open System.Globalization
open System.Runtime.InteropServices

/// What a callback may do with the model being trained.
type IModelHandle =
    /// Set to true to stop after the current batch/epoch (EarlyStopping, TerminateOnNaN).
    abstract StopTraining: bool with get, set
    /// The compiled optimizer (LearningRateScheduler changes its learning rate).
    abstract Optimizer: Optimizer
    /// Copy of the current weights, in layer order.
    abstract GetWeights: unit -> float32[][]
    /// Replaces the weights (copied).
    abstract SetWeights: float32[][] -> unit

/// Keras callback hooks. Logs hold the running/epoch values ("loss", "accuracy", "val_loss", ...).
type ICallback =
    /// Hands the callback the model being trained; fit calls it before OnTrainBegin (Keras `set_model`).
    abstract SetModel: IModelHandle -> unit
    /// Start of fit, before the first epoch (Keras `on_train_begin`).
    abstract OnTrainBegin: unit -> unit
    /// End of fit, with the last logs fit wrote (normally the last epoch's) (Keras `on_train_end`).
    abstract OnTrainEnd: logs: IReadOnlyDictionary<string, float> -> unit
    /// Start of epoch `epoch` (0-based) of `steps` batches (Keras `on_epoch_begin`).
    abstract OnEpochBegin: epoch: int * steps: int -> unit
    /// End of epoch `epoch` (0-based): loss and metrics of the epoch, val_* when validated (Keras `on_epoch_end`).
    abstract OnEpochEnd: epoch: int * logs: IReadOnlyDictionary<string, float> -> unit
    /// Before batch `batch` (0-based within the epoch) (Keras `on_train_batch_begin`).
    abstract OnTrainBatchBegin: batch: int -> unit
    /// After batch `batch`: the epoch's running mean loss and metrics so far (Keras `on_train_batch_end`).
    abstract OnTrainBatchEnd: batch: int * logs: IReadOnlyDictionary<string, float> -> unit

/// Marks a callback whose batch hooks (OnTrainBatchBegin/End) write only outside the training (a console, a log,
/// metrics): they never read the weights and never write the weights or the optimizer, and they write StopTraining
/// only at the batch end of a step that diverged (loss NaN: nothing was applied and no executor opened a step after
/// it; TerminateOnNaN). While every callback of a fit is such a callback or has no batch hooks, the loop may let a
/// sync executor open the next batch before the hooks of the last one have run (the actor runtime does: one
/// hand-over less per step).
type IReadOnlyBatchHooks = interface end

/// Marks a callback whose batch hooks do only what an IReadOnlyBatchHooks' may and, before each batch, set the
/// optimizer's learning rate to LearningRateAt(epoch, batch, steps per epoch), a pure function (LearningRateWarmup).
/// The loop may let a sync executor open batch b + 1 ahead when every such callback gives b + 1 the rate of b: the
/// hook of b + 1 then writes the value the optimizer already holds.
type IBatchLearningRate =
    /// The learning rate the callback sets before batch `batch` of epoch `epoch` (`stepsPerEpoch` batches).
    abstract LearningRateAt: epoch: int * batch: int * stepsPerEpoch: int -> float

/// Keras' `Callback.set_params`: fit calls SetParams on a callback implementing this before OnTrainBegin.
type IFitParams =
    /// The epochs fit trains up to (a resumed fit: the total, counting the epochs the checkpoint had done).
    abstract SetParams: epochs: int -> unit

/// A callback that puts keys into the epoch logs, as Keras' LearningRateScheduler sets logs["learning_rate"] in its
/// on_epoch_end: fit calls AddEpochLogs on each such callback, in list order, before any callback's OnEpochEnd, so every
/// callback (History, CSVLogger, the progress bar, TensorBoard) sees the keys wherever it stands in the list.
type IEpochLogs =
    /// Adds or sets keys of the logs of epoch `epoch` (0-based), after the loss, metrics and val_* of the epoch.
    abstract AddEpochLogs: epoch: int * logs: IDictionary<string, float> -> unit

/// A callback that takes up a resumed fit where the checkpointed run left it: after every callback's OnTrainBegin,
/// fit calls RestoreEpochLogs with each epoch the checkpoint had finished, in order, with the logs OnEpochEnd had for
/// it (History adds them, so a resumed History equals the uninterrupted one's; LearningRateScheduler takes back the
/// learning rate it had logged).
type IRestoreEpochLogs =
    /// Takes up finished epoch `epoch` (0-based) of the checkpointed run, whose epoch-end logs were `logs`.
    abstract RestoreEpochLogs: epoch: int * logs: IReadOnlyDictionary<string, float> -> unit

/// Convenience base class: every hook is a no-op; override what you need. `Model` is set by fit.
[<AbstractClass>]
type Callback() =
    /// The model being trained (Keras `self.model`); set by fit before OnTrainBegin, null before.
    member val Model : IModelHandle = Unchecked.defaultof<_> with get, set
    /// Start of fit (see ICallback.OnTrainBegin).
    abstract OnTrainBegin: unit -> unit
    default _.OnTrainBegin() = ()
    /// End of fit, with the last logs (see ICallback.OnTrainEnd).
    abstract OnTrainEnd: IReadOnlyDictionary<string, float> -> unit
    default _.OnTrainEnd _ = ()
    /// Start of an epoch: (0-based epoch, batches in it) (see ICallback.OnEpochBegin).
    abstract OnEpochBegin: int * int -> unit
    default _.OnEpochBegin(_, _) = ()
    /// End of an epoch: (0-based epoch, its logs) (see ICallback.OnEpochEnd).
    abstract OnEpochEnd: int * IReadOnlyDictionary<string, float> -> unit
    default _.OnEpochEnd(_, _) = ()
    /// Before a batch: its 0-based index within the epoch (see ICallback.OnTrainBatchBegin).
    abstract OnTrainBatchBegin: int -> unit
    default _.OnTrainBatchBegin _ = ()
    /// After a batch: (0-based batch, running logs of the epoch) (see ICallback.OnTrainBatchEnd).
    abstract OnTrainBatchEnd: int * IReadOnlyDictionary<string, float> -> unit
    default _.OnTrainBatchEnd(_, _) = ()
    interface ICallback with
        member c.SetModel m = c.Model <- m
        member c.OnTrainBegin() = c.OnTrainBegin()
        member c.OnTrainEnd logs = c.OnTrainEnd logs
        member c.OnEpochBegin(e, s) = c.OnEpochBegin(e, s)
        member c.OnEpochEnd(e, l) = c.OnEpochEnd(e, l)
        member c.OnTrainBatchBegin b = c.OnTrainBatchBegin b
        member c.OnTrainBatchEnd(b, l) = c.OnTrainBatchEnd(b, l)

/// What the fit loop may assume about callbacks' hooks.
module CallbackHooks =
    let private overrides (t: Type) (name: string) (args: Type[]) =
        t.GetMethod(name, args).DeclaringType <> typeof<Callback>

    /// True when c's batch hooks cannot touch the model: it is an IReadOnlyBatchHooks, or a Callback that overrides
    /// neither batch hook (Keras checks the same to skip batch hooks). Any other ICallback: false.
    let batchHooksReadOnly (c: ICallback) =
        match c with
        | :? IReadOnlyBatchHooks -> true
        | :? Callback ->
            let t = c.GetType()
            not (overrides t "OnTrainBatchBegin" [| typeof<int> |])
            && not (overrides t "OnTrainBatchEnd" [| typeof<int>; typeof<IReadOnlyDictionary<string, float>> |])
        | _ -> false

/// Per-epoch values of every log key (Keras `History.history`), returned by fit.
type History() =
    inherit Callback()
    let values = Dictionary<string, ResizeArray<float>>()
    let epochs = ResizeArray<int>()
    /// Epoch indices (0-based) that completed.
    member _.Epochs = epochs :> IReadOnlyList<int>
    /// Key → one value per completed epoch.
    member _.History = values |> Seq.map (fun kv -> KeyValuePair(kv.Key, kv.Value.ToArray())) |> Dictionary :> IReadOnlyDictionary<string, float[]>
    /// Values of one key (throws naming the key and the available ones when absent).
    member _.Item
        with get (key: string) =
            match values.TryGetValue key with
            | true, v -> v.ToArray()
            | _ -> raise (KeyNotFoundException(sprintf "history has no '%s' (available: %s)" key (String.Join(", ", values.Keys))))
    override _.OnTrainBegin() = values.Clear(); epochs.Clear()
    override _.OnEpochEnd(epoch, logs) =
        epochs.Add epoch
        for kv in logs do
            match values.TryGetValue kv.Key with
            | true, l -> l.Add kv.Value
            | _ -> values.[kv.Key] <- ResizeArray [ kv.Value ]
    // a resumed fit: the checkpoint's epochs come first, as the uninterrupted run recorded them
    interface IRestoreEpochLogs with
        member h.RestoreEpochLogs(epoch, logs) = h.OnEpochEnd(epoch, logs)

/// Keras' progress bar: "Epoch 1/5" then
/// "469/469 [==============================] - 1s 2ms/step - loss: 0.2579 - accuracy: 0.9254 - val_loss: … - val_accuracy: …".
/// On a terminal the bar is redrawn in place (at most every 50 ms); otherwise one line per epoch.
/// `epochs` is shown until fit gives its own count (IFitParams), which wins; a null writer is Console.Out.
type ProgbarLogger(epochs: int, writer: TextWriter, interactive: bool) =
    inherit Callback()
    let writer = if isNull writer then Console.Out else writer
    let mutable epochs = epochs
    let width = 30
    let sw = Diagnostics.Stopwatch()
    let mutable steps = 0
    let mutable lastDraw = 0L
    let mutable lastLen = 0
    let bar (current: int) =
        let digits = int (floor (log10 (float (max 1 steps)))) + 1
        let progW = int (float width * float current / float (max 1 steps))
        let fill =
            if progW > 0 then String('=', progW - 1) + (if current < steps then ">" else "=") else ""
        sprintf "%*d/%d [%s%s]" digits current steps fill (String('.', width - fill.Length))
    let metrics (logs: IReadOnlyDictionary<string, float>) =
        String.Join("", logs |> Seq.map (fun kv -> sprintf " - %s: %s" kv.Key (Metrics.format kv.Value)))
    let timePerStep (sec: float) (n: int) =
        let per = sec / float (max 1 n)
        if per >= 1.0 then sprintf "%.0fs/step" per
        elif per >= 1e-3 then sprintf "%.0fms/step" (per * 1e3)
        else sprintf "%.0fus/step" (per * 1e6)
    let draw (line: string) (final: bool) =
        if interactive then
            let pad = if line.Length < lastLen then String(' ', lastLen - line.Length) else ""
            writer.Write("\r" + line + pad)
            lastLen <- line.Length
            if final then writer.WriteLine()
            writer.Flush()
        elif final then
            writer.WriteLine line
            writer.Flush()
    override _.OnEpochBegin(epoch, n) =
        steps <- n
        lastLen <- 0
        writer.WriteLine(sprintf "Epoch %d/%d" (epoch + 1) epochs)
        writer.Flush()
        sw.Restart()
        lastDraw <- 0L
    override _.OnTrainBatchEnd(batch, logs) =
        if interactive && batch + 1 < steps && sw.ElapsedMilliseconds - lastDraw >= 50L then
            lastDraw <- sw.ElapsedMilliseconds
            let el = sw.Elapsed.TotalSeconds
            let eta = el / float (batch + 1) * float (steps - batch - 1)
            draw (sprintf "%s - ETA: %.0fs%s" (bar (batch + 1)) eta (metrics logs)) false
    override _.OnEpochEnd(_, logs) =
        let el = sw.Elapsed.TotalSeconds
        draw (sprintf "%s - %.0fs %s%s" (bar steps) el (timePerStep el steps) (metrics logs)) true
    /// A progress bar on `writer` (null: Console.Out) that takes the epoch count from fit (Keras' ProgbarLogger()).
    new(writer: TextWriter, interactive: bool) = ProgbarLogger(0, writer, interactive)
    /// A progress bar on Console.Out, redrawn in place unless the output is redirected; epochs come from fit.
    new() = ProgbarLogger(0, Console.Out, not Console.IsOutputRedirected)
    interface IReadOnlyBatchHooks
    interface IFitParams with
        member _.SetParams n = epochs <- n

/// Writes one CSV row per epoch ("epoch,loss,accuracy,val_loss,...") to a file, atomically rewritten each epoch.
type CSVLogger(filename: string, [<Optional; DefaultParameterValue(",")>] separator: string, [<Optional; DefaultParameterValue(false)>] append: bool) =
    inherit Callback()
    let sep = separator
    let rows = ResizeArray<string>()
    let mutable keys : string[] = null
    do if isNull filename then raise (ArgumentNullException("filename", "CSVLogger: filename is null; give the path of the CSV file"))
    do if String.IsNullOrWhiteSpace filename then raise (ArgumentException("CSVLogger: filename is empty; give the path of the CSV file", "filename"))
    let full = Path.GetFullPath filename
    /// Beside the target, named after it ("log.csv" → ".log.csv.tmp"), so a failed write leaves nothing elsewhere.
    let tmp = Path.Combine(Path.GetDirectoryName full, "." + Path.GetFileName full + ".tmp")
    let writeAll () =
        Directory.CreateDirectory(Path.GetDirectoryName full) |> ignore
        try
            File.WriteAllLines(tmp, rows)
            File.Move(tmp, full, true)
        with _ ->
            (try File.Delete tmp with _ -> ())
            reraise ()
    override _.OnTrainBegin() =
        // Keras opens the file at on_train_begin: a path that cannot be the log fails before the first epoch
        if Directory.Exists full || Path.EndsInDirectorySeparator filename then
            raise (ArgumentException(sprintf "CSVLogger: '%s' is a directory; give the path of a file for the CSV log" filename, "filename"))
        rows.Clear()
        keys <- null
        if append && File.Exists filename then
            let existing = File.ReadAllLines filename
            rows.AddRange existing
            if existing.Length > 0 then keys <- existing.[0].Split(sep) |> Array.skip 1
    override _.OnEpochEnd(epoch, logs) =
        if isNull keys then
            keys <- logs.Keys |> Array.ofSeq
            rows.Add(String.Join(sep, Array.append [| "epoch" |] keys))
        let value k = match logs.TryGetValue k with | true, v -> v.ToString("R", CultureInfo.InvariantCulture) | _ -> ""
        rows.Add(String.Join(sep, Array.append [| string epoch |] (keys |> Array.map value)))
        writeAll ()

module internal Monitor =
    let better (mode: string) (monitor: string) =
        match mode with
        | "min" -> fun (a: float) (b: float) -> a < b
        | "max" -> fun a b -> a > b
        | "auto" -> if monitor.Contains "acc" then (fun a b -> a > b) else (fun a b -> a < b)
        | m -> raise (ArgumentException(sprintf "mode must be auto, min or max, got '%s'" m, "mode"))
    let get (logs: IReadOnlyDictionary<string, float>) (monitor: string) (who: string) =
        match logs.TryGetValue monitor with
        | true, v -> Some v
        | _ -> eprintfn "%s: monitored metric '%s' is not available (available: %s)" who monitor (String.Join(", ", logs.Keys)); None

/// Stops training when `monitor` has not improved by more than minDelta for `patience` epochs.
type EarlyStopping([<Optional; DefaultParameterValue("val_loss")>] monitor: string,
                   [<Optional; DefaultParameterValue(0.0)>] minDelta: float,
                   [<Optional; DefaultParameterValue(0)>] patience: int,
                   [<Optional; DefaultParameterValue("auto")>] mode: string,
                   [<Optional>] baseline: Nullable<float>,
                   [<Optional; DefaultParameterValue(false)>] restoreBestWeights: bool,
                   [<Optional; DefaultParameterValue(0)>] startFromEpoch: int) =
    inherit Callback()
    let minDelta = abs minDelta
    let better = Monitor.better mode monitor
    let restore = restoreBestWeights
    let start = startFromEpoch
    let mutable best = nan
    let mutable bestWeights : float32[][] = null
    let mutable wait = 0
    let isImprovement (v: float) (reference: float) =
        Double.IsNaN reference || (if better 0.0 1.0 then better (v + minDelta) reference else better (v - minDelta) reference)
    /// Epoch (0-based) at which training was stopped, or −1.
    member val StoppedEpoch = -1 with get, set
    /// Best monitored value seen.
    member _.Best = best
    override c.OnTrainBegin() =
        wait <- 0
        c.StoppedEpoch <- -1
        best <- nan
        bestWeights <- null
    override c.OnEpochEnd(epoch, logs) =
        match Monitor.get logs monitor "EarlyStopping" with
        | Some v when epoch >= start ->
            if restore && isNull bestWeights then bestWeights <- c.Model.GetWeights()
            wait <- wait + 1
            if isImprovement v best then
                best <- v
                if restore then bestWeights <- c.Model.GetWeights()
                if not baseline.HasValue || isImprovement v baseline.Value then wait <- 0
            elif wait >= patience && epoch > 0 then
                c.StoppedEpoch <- epoch
                c.Model.StopTraining <- true
                if restore && not (isNull bestWeights) then c.Model.SetWeights bestWeights
        | _ -> ()

/// Stops training as soon as a batch loss is NaN or infinite.
type TerminateOnNaN([<Optional; DefaultParameterValue(null: TextWriter)>] writer: TextWriter) =
    inherit Callback()
    /// Batch at which training was terminated, or −1.
    member val TerminatedAtBatch = -1 with get, set
    override c.OnTrainBatchEnd(batch, logs) =
        match logs.TryGetValue "loss" with
        | true, l when Double.IsNaN l || Double.IsInfinity l ->
            (if isNull writer then Console.Error else writer).WriteLine(sprintf "Batch %d: Invalid loss, terminating training" batch)
            c.TerminatedAtBatch <- batch
            c.Model.StopTraining <- true
        | _ -> ()
    // the loop's logs hold a non-finite loss only at a diverged step's batch end, where nothing is opened ahead
    interface IReadOnlyBatchHooks

/// Sets the learning rate at the start of each epoch: lr = float32(schedule(epoch, float32 currentLr)). Like Keras, it puts the rate
/// into the epoch logs as "learning_rate" (the optimizer's rate as float32, the precision the updates use and Keras
/// reports), after the other keys, so History, CSVLogger (a last column) and the progress bar show it.
type LearningRateScheduler(schedule: Func<int, float, float>, [<Optional; DefaultParameterValue(false)>] verbose: bool,
                           [<Optional; DefaultParameterValue(null: TextWriter)>] writer: TextWriter) =
    inherit Callback()
    // The rate lives as float32, as in Keras' optimizer variable: the schedule gets float(np.float32(rate)) and its
    // answer is stored rounded, so a resumed fit (which restores the logged float32 rate) continues the same chain.
    override c.OnEpochBegin(epoch, _) =
        let lr = schedule.Invoke(epoch, float (float32 c.Model.Optimizer.LearningRate))
        c.Model.Optimizer.LearningRate <- float (float32 lr)
        if verbose then
            (if isNull writer then Console.Out else writer).WriteLine(sprintf "Epoch %d: LearningRateScheduler setting learning rate to %g." (epoch + 1) lr)
    interface IEpochLogs with
        member c.AddEpochLogs(_, logs) = logs.["learning_rate"] <- float (float32 c.Model.Optimizer.LearningRate)
    // a resumed fit: the optimizer starts the next epoch at the rate the last finished one logged (as float32, so the
    // updates use the same rate; a schedule of the current rate then sees that float32 value)
    interface IRestoreEpochLogs with
        member c.RestoreEpochLogs(_, logs) =
            match logs.TryGetValue "learning_rate" with
            | true, lr -> c.Model.Optimizer.LearningRate <- lr
            | _ -> ()
