module ActorTrainer.Core.Tests.CallbackTests

open System
open System.IO
open System.Collections.Generic
open System.Text.RegularExpressions
open Xunit
open ActorTrainer.Core

/// IModelHandle double: weights are a single scalar; records SetWeights calls.
type FakeHandle(optimizer: Optimizer) =
    let mutable stop = false
    let mutable weights = [| [| 0.0f |] |]
    member val Restored = ResizeArray<float32>()
    member _.Current with get () = weights and set v = weights <- v
    member _.Stop = stop
    interface IModelHandle with
        member _.StopTraining with get () = stop and set v = stop <- v
        member _.Optimizer = optimizer
        member _.GetWeights() = weights |> Array.map Array.copy
        member h.SetWeights w = weights <- w |> Array.map Array.copy; h.Restored.Add w.[0].[0]

let private logsOf (kvs: (string * float) list) =
    let d = Dictionary<string, float>()
    for (k, v) in kvs do d.[k] <- v
    d :> IReadOnlyDictionary<string, float>

/// Drives a callback over scripted epochs; weights at epoch e are [[e]]. Returns the epoch after which it stopped (or −1).
let private drive (cb: ICallback) (key: string) (values: float list) =
    let h = FakeHandle(SGD())
    cb.SetModel h
    cb.OnTrainBegin()
    let mutable stoppedAfter = -1
    values |> List.iteri (fun e v ->
        if stoppedAfter < 0 then
            cb.OnEpochBegin(e, 1)
            h.Current <- [| [| float32 e |] |]
            cb.OnEpochEnd(e, logsOf [ "loss", v; key, v ])
            if (h :> IModelHandle).StopTraining then stoppedAfter <- e)
    stoppedAfter, h

let private tinyData (n: int) (offset: int) =
    let x = Array.init (n * 20) (fun i -> float32 (sin (float (i + offset * 20) * 0.37)))
    let labels = Array.init n (fun i -> (i + offset) % 3)
    ArrayData.OfLabels(x, 20, labels)

let private tinyModel (lr: float) =
    let m = Sequential([ Dense(8, "relu") :> Layer; Dense(3, "softmax") :> Layer ], seed = 3)
    m.Compile(SGD(lr), "sparse_categorical_crossentropy", [ "accuracy" ])
    m

let private withTempDir (f: string -> unit) =
    let dir = Path.Combine(Path.GetTempPath(), "coretests-cb-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory dir |> ignore
    try f dir finally Directory.Delete(dir, true)

[<Fact>]
let ``History records per-epoch logs`` () =
    let h = History()
    let cb = h :> ICallback
    cb.OnTrainBegin()
    cb.OnEpochEnd(0, logsOf [ "loss", 0.9; "accuracy", 0.5 ])
    cb.OnEpochEnd(1, logsOf [ "loss", 0.7; "accuracy", 0.6 ])
    Assert.Equal<float[]>([| 0.9; 0.7 |], h.["loss"])
    Assert.Equal<float[]>([| 0.5; 0.6 |], h.History.["accuracy"])
    Assert.Equal<int list>([ 0; 1 ], List.ofSeq h.Epochs)
    let ex = Assert.Throws<KeyNotFoundException>(fun () -> h.["val_loss"] |> ignore)
    Assert.Contains("'val_loss'", ex.Message)
    Assert.Contains("loss", ex.Message)
    cb.OnTrainBegin()
    Assert.Empty(h.Epochs)

[<Fact>]
let ``fit returns a History with train and validation keys`` () =
    let m = tinyModel 0.1
    let h = m.FitArrays(tinyData 30 0, epochs = 3, batchSize = 10, validationData = tinyData 12 100, verbose = 0)
    Assert.Equal<int list>([ 0; 1; 2 ], List.ofSeq h.Epochs)
    for k in [ "loss"; "accuracy"; "val_loss"; "val_accuracy" ] do
        Assert.Equal(3, h.[k].Length)
        Assert.True(h.[k] |> Array.forall Double.IsFinite, k)
    Assert.True(abs (h.["loss"].[0] - log 3.0) < 0.5, sprintf "first loss %.4f should be near ln 3" h.["loss"].[0])
    Assert.True(h.["accuracy"] |> Array.forall (fun a -> a >= 0.0 && a <= 1.0))

[<Fact>]
let ``CSVLogger writes epoch rows and appends`` () =
    withTempDir (fun dir ->
        let path = Path.Combine(dir, "log", "history.csv")
        let run (cb: ICallback) (rows: (int * float * float) list) =
            cb.OnTrainBegin()
            for (e, l, a) in rows do cb.OnEpochEnd(e, logsOf [ "loss", l; "accuracy", a ])
        run (CSVLogger(path)) [ 0, 0.5, 0.75; 1, 0.25, 0.875 ]
        Assert.Equal<string[]>([| "epoch,loss,accuracy"; "0,0.5,0.75"; "1,0.25,0.875" |], File.ReadAllLines path)
        run (CSVLogger(path, ",", true)) [ 0, 0.125, 1.0 ]
        Assert.Equal<string[]>([| "epoch,loss,accuracy"; "0,0.5,0.75"; "1,0.25,0.875"; "0,0.125,1" |], File.ReadAllLines path)
        run (CSVLogger(path)) [ 0, 0.1, 0.2 ]
        Assert.Equal<string[]>([| "epoch,loss,accuracy"; "0,0.1,0.2" |], File.ReadAllLines path)
        Assert.Equal<string[]>([| "history.csv" |], Directory.GetFiles(Path.GetDirectoryName path) |> Array.map Path.GetFileName)
        let semi = Path.Combine(dir, "semi.csv")
        run (CSVLogger(semi, ";")) [ 0, 1.5, 0.0 ]
        Assert.Equal<string[]>([| "epoch;loss;accuracy"; "0;1.5;0" |], File.ReadAllLines semi))

[<Fact>]
let ``CSVLogger during a real fit has one row per epoch`` () =
    withTempDir (fun dir ->
        let path = Path.Combine(dir, "fit.csv")
        let m = tinyModel 0.1
        let h = m.FitArrays(tinyData 30 0, epochs = 2, batchSize = 10, validationData = tinyData 9 50, verbose = 0,
                            callbacks = [ CSVLogger(path) :> ICallback ])
        let lines = File.ReadAllLines path
        Assert.Equal(3, lines.Length)
        Assert.Equal("epoch,loss,accuracy,val_loss,val_accuracy", lines.[0])
        let row1 = lines.[2].Split(',')
        Assert.Equal("1", row1.[0])
        Assert.Equal(h.["loss"].[1], Double.Parse(row1.[1], Globalization.CultureInfo.InvariantCulture)))

[<Fact>]
let ``EarlyStopping stops at the first epoch without improvement for patience 0 and restores the best weights`` () =
    let es = EarlyStopping(patience = 0, restoreBestWeights = true)
    let stopped, h = drive es "val_loss" [ 1.0; 0.8; 0.9; 0.5 ]
    Assert.Equal(2, stopped)
    Assert.Equal(2, es.StoppedEpoch)
    Assert.Equal<float32 list>([ 1.0f ], List.ofSeq h.Restored)
    Assert.Equal(1.0f, h.Current.[0].[0])

// BUG (src/ActorTrainer.Core/Models/Callbacks.fs, EarlyStopping.OnEpochEnd, `if wait > patience`): Keras stops once
// `wait >= patience` epochs passed without improvement (keras.callbacks.EarlyStopping: "Number of epochs with no
// improvement after which training will be stopped"); the code waits one epoch more. Fix: `if wait >= patience && epoch > 0`.
[<Fact>]
let ``EarlyStopping patience counts epochs without improvement as Keras does`` () =
    let es = EarlyStopping(patience = 2, restoreBestWeights = true)
    let stopped, h = drive es "val_loss" [ 1.0; 0.8; 0.9; 0.85; 0.95; 0.5 ]
    Assert.Equal(3, stopped)
    Assert.Equal<float32 list>([ 1.0f ], List.ofSeq h.Restored)
    let stopped1, _ = drive (EarlyStopping(patience = 1)) "val_loss" [ 1.0; 0.9; 0.95; 0.5 ]
    Assert.Equal(2, stopped1)

[<Fact>]
let ``EarlyStopping without restore keeps the last weights and does not stop while improving`` () =
    let es = EarlyStopping(patience = 0)
    let stopped, h = drive es "val_loss" [ 1.0; 0.9; 0.8; 0.7 ]
    Assert.Equal(-1, stopped)
    Assert.Equal(-1, es.StoppedEpoch)
    Assert.Empty(h.Restored)
    let stopped2, h2 = drive (EarlyStopping(patience = 0)) "val_loss" [ 1.0; 0.8; 0.85 ]
    Assert.Equal(2, stopped2)
    Assert.Empty(h2.Restored)
    Assert.Equal(2.0f, h2.Current.[0].[0])

[<Fact>]
let ``EarlyStopping respects min_delta`` () =
    let values = [ 1.0; 0.95; 0.92; 0.5 ]
    let plain, _ = drive (EarlyStopping(patience = 0)) "val_loss" values
    Assert.Equal(-1, plain)
    let withDelta, _ = drive (EarlyStopping(minDelta = 0.1, patience = 0)) "val_loss" values
    Assert.Equal(1, withDelta)
    let negative, _ = drive (EarlyStopping(minDelta = -0.1, patience = 0)) "val_loss" values
    Assert.Equal(1, negative)

[<Fact>]
let ``EarlyStopping mode max for accuracy`` () =
    let accs = [ 0.5; 0.6; 0.55 ]
    let maxMode, _ = drive (EarlyStopping("val_accuracy", mode = "max")) "val_accuracy" accs
    Assert.Equal(2, maxMode)
    let autoMode, _ = drive (EarlyStopping("val_accuracy")) "val_accuracy" accs
    Assert.Equal(2, autoMode)
    let minMode, _ = drive (EarlyStopping("val_accuracy", mode = "min")) "val_accuracy" accs
    Assert.Equal(1, minMode)
    let ex = Assert.Throws<ArgumentException>(fun () -> EarlyStopping(mode = "sideways") |> ignore)
    Assert.Equal("mode", ex.ParamName)
    Assert.Contains("'sideways'", ex.Message)

[<Fact>]
let ``EarlyStopping baseline must be beaten`` () =
    let stopped, h = drive (EarlyStopping(patience = 1, baseline = Nullable 0.5, restoreBestWeights = true)) "val_loss" [ 0.6; 0.7; 0.4 ]
    Assert.Equal(1, stopped)
    // Keras 3: the epoch-0 weights are the best seen (even though they miss the baseline) and are restored
    Assert.Single(h.Restored) |> ignore

[<Fact>]
let ``EarlyStopping ignores epochs without the monitored key`` () =
    let es = EarlyStopping("val_loss", patience = 0) :> ICallback
    let h = FakeHandle(SGD())
    es.SetModel h
    es.OnTrainBegin()
    for e in 0 .. 3 do es.OnEpochEnd(e, logsOf [ "loss", float e ])
    Assert.False(h.Stop)

/// A built model as the handle ModelCheckpoint saves (fit hands callbacks the Sequential itself).
let private builtModel () =
    let m = tinyModel 0.1
    m.Build [| 20 |]
    m

/// Drives a ModelCheckpoint over scripted epochs with a built model as its handle; returns the paths it saved.
let private driveCheckpoint (mc: ModelCheckpoint) (key: string) (values: float list) =
    let cb = mc :> ICallback
    cb.SetModel(builtModel ())
    cb.OnTrainBegin()
    values |> List.iteri (fun e v -> cb.OnEpochEnd(e, logsOf [ "loss", v; key, v ]))
    List.ofSeq mc.Saved

[<Fact>]
let ``ModelCheckpoint formats filenames from the epoch and the logs`` () =
    withTempDir (fun dir ->
        let mc = ModelCheckpoint(Path.Combine(dir, "ckpt/model-{epoch:02d}-{val_loss:.4f}"))
        let cb = mc :> ICallback
        let m = builtModel ()
        cb.SetModel m
        cb.OnTrainBegin()
        cb.OnEpochEnd(0, logsOf [ "loss", 1.0; "val_loss", 0.123456 ])
        cb.OnEpochEnd(9, logsOf [ "loss", 1.0; "val_loss", 2.0 ])
        let expected = [ "ckpt/model-01-0.1235"; "ckpt/model-10-2.0000" ] |> List.map (fun p -> Path.Combine(dir, p))
        Assert.Equal<string list>(expected, List.ofSeq mc.Saved)
        for p in expected do Assert.True(File.Exists(Path.Combine(p, ModelFiles.ConfigFile)), p)
        let plain = ModelCheckpoint(Path.Combine(dir, "m{epoch}_{loss}"))
        (plain :> ICallback).SetModel m
        (plain :> ICallback).OnTrainBegin()
        (plain :> ICallback).OnEpochEnd(2, logsOf [ "loss", 0.5 ])
        Assert.Equal(Path.Combine(dir, "m3_0.5"), plain.Saved.[0])
        let bad = ModelCheckpoint("m-{val_acc:.2f}") :> ICallback
        bad.SetModel m
        let ex = Assert.Throws<ArgumentException>(fun () -> bad.OnEpochEnd(0, logsOf [ "loss", 0.5 ]))
        Assert.Contains("{val_acc}", ex.Message))

[<Fact>]
let ``ModelCheckpoint formats placeholders as Python's str.format does`` () =
    withTempDir (fun dir ->
        let fill (pattern: string) (epoch: int) (loss: float) =
            let mc = ModelCheckpoint(Path.Combine(dir, pattern))
            (mc :> ICallback).SetModel(builtModel ())
            (mc :> ICallback).OnEpochEnd(epoch, logsOf [ "loss", loss ])
            Path.GetFileName mc.Saved.[0]
        for expected, pattern, epoch, loss in
                [ "m-1.15e+00", "m-{loss:.2e}", 0, 1.1462403116747737
                  "m- 1", "m-{epoch:2d}", 0, 1.0
                  "m-007", "m-{epoch:03d}", 6, 1.0
                  "m-12", "m-{epoch:d}", 11, 1.0
                  "m-0.000123", "m-{loss:g}", 0, 0.000123
                  "m-1.23e-05", "m-{loss:.3g}", 0, 0.0000123456
                  "m-1.5", "m-{loss:.3g}", 0, 1.5
                  "m-  0.500", "m-{loss:7.3f}", 0, 0.5
                  "m-0002.50", "m-{loss:07.2f}", 0, 2.5
                  "m-3.250000e-02", "m-{loss:e}", 0, 0.0325
                  "m-2.0", "m-{loss}", 0, 2.0
                  "m-{x}-1", "m-{{x}}-{epoch}", 0, 1.0 ] do
            Assert.Equal(expected, fill pattern epoch loss)
        for spec in [ ":>8"; ":.2"; ":,d"; ":x"; ":.2d"; ":+.2f" ] do
            let e = Assert.Throws<ArgumentException>(fun () -> ModelCheckpoint(sprintf "m-{loss%s}" spec) |> ignore)
            Assert.Contains(sprintf "format spec '%s' of {loss} is not supported" spec, e.Message)
        let d = ModelCheckpoint("m-{loss:02d}") :> ICallback
        d.SetModel(builtModel ())
        let e = Assert.Throws<ArgumentException>(fun () -> d.OnEpochEnd(0, logsOf [ "loss", 0.5 ]))
        Assert.Contains("{loss:02d} formats an integer but 'loss' is a float", e.Message))

[<Fact>]
let ``ModelCheckpoint save_best_only saves only on improvement`` () =
    withTempDir (fun dir ->
        let at names = names |> List.map (fun n -> Path.Combine(dir, n))
        let mc = ModelCheckpoint(Path.Combine(dir, "best-{epoch}"), saveBestOnly = true)
        Assert.Equal<string list>(at [ "best-1"; "best-3"; "best-5" ], driveCheckpoint mc "val_loss" [ 0.5; 0.6; 0.4; 0.4; 0.3 ])
        let acc = ModelCheckpoint(Path.Combine(dir, "acc-{epoch}"), "val_accuracy", true)
        Assert.Equal<string list>(at [ "acc-1"; "acc-2"; "acc-4" ], driveCheckpoint acc "val_accuracy" [ 0.5; 0.6; 0.4; 0.7 ]))

[<Fact>]
let ``ModelCheckpoint names itself when the handle is not a Sequential`` () =
    withTempDir (fun dir ->
        let mc = ModelCheckpoint(Path.Combine(dir, "m{epoch}"))
        let cb = mc :> ICallback
        cb.SetModel(FakeHandle(SGD()))
        let ex = Assert.Throws<InvalidOperationException>(fun () -> cb.OnEpochEnd(0, logsOf [ "loss", 0.5 ]))
        Assert.Contains("ModelCheckpoint", ex.Message)
        Assert.Contains("not a Sequential", ex.Message)
        Assert.Empty mc.Saved
        let unset = ModelCheckpoint(Path.Combine(dir, "u{epoch}")) :> ICallback
        Assert.Contains("ModelCheckpoint", Assert.Throws<InvalidOperationException>(fun () -> unset.OnEpochEnd(0, logsOf [ "loss", 0.5 ])).Message))

[<Fact>]
let ``ModelCheckpoint saves real models during fit`` () =
    withTempDir (fun dir ->
        let m = tinyModel 0.1
        m.FitArrays(tinyData 30 0, epochs = 2, batchSize = 10, verbose = 0,
                    callbacks = [ ModelCheckpoint(Path.Combine(dir, "e{epoch:02d}"), "loss") :> ICallback ]) |> ignore
        Assert.True(File.Exists(Path.Combine(dir, "e01", "model.safetensors")))
        Assert.True(File.Exists(Path.Combine(dir, "e02", "config.json")))
        let last = ModelFiles.Load(Path.Combine(dir, "e02"))
        let w1, w2 = m.GetWeights(), last.GetWeights()
        for i in 0 .. w1.Length - 1 do Assert.Equal<float32[]>(w1.[i], w2.[i]))

[<Fact>]
let ``TerminateOnNaN stops on a NaN loss from scripted logs`` () =
    let w = new StringWriter()
    let t = TerminateOnNaN(w)
    let cb = t :> ICallback
    let h = FakeHandle(SGD())
    cb.SetModel h
    cb.OnTrainBatchEnd(0, logsOf [ "loss", 0.5 ])
    Assert.False(h.Stop)
    Assert.Equal(-1, t.TerminatedAtBatch)
    cb.OnTrainBatchEnd(1, logsOf [ "loss", nan ])
    Assert.True(h.Stop)
    Assert.Equal(1, t.TerminatedAtBatch)
    Assert.Equal("Batch 1: Invalid loss, terminating training", w.ToString().Trim())

[<Fact>]
let ``TerminateOnNaN stops a diverging fit`` () =
    let m = Sequential([ Dense(3) :> Layer ], seed = 2)
    m.Compile(SGD(1e30), "mse")
    let n = 30
    let x = Array.init (n * 20) (fun i -> float32 (sin (float i * 0.37)))
    let targets = Array.init (n * 3) (fun i -> float32 (i % 2))
    let w = new StringWriter()
    let t = TerminateOnNaN(w)
    let h = m.FitArrays(ArrayData(x, 20, null, targets, n), epochs = 3, batchSize = 5, verbose = 0, callbacks = [ t :> ICallback ])
    Assert.InRange(t.TerminatedAtBatch, 1, 5)
    Assert.Equal(1, h.Epochs.Count)
    Assert.Contains("Invalid loss, terminating training", w.ToString())

type private LrRecorder() =
    inherit Callback()
    member val Seen = ResizeArray<float>()
    override c.OnTrainBatchBegin batch = if batch = 0 then c.Seen.Add c.Model.Optimizer.LearningRate

[<Fact>]
let ``LearningRateScheduler sets the learning rate each epoch of a real fit`` () =
    let m = tinyModel 0.1
    let w = new StringWriter()
    let rec_ = LrRecorder()
    let sched = LearningRateScheduler(Func<int, float, float>(fun epoch lr -> if epoch = 0 then 0.2 else lr * 0.5), true, w)
    m.FitArrays(tinyData 30 0, epochs = 3, batchSize = 10, verbose = 0, callbacks = [ sched :> ICallback; rec_ :> ICallback ]) |> ignore
    // the optimizer holds each rate as float32 (Keras' variable): float(np.float32(0.2)), …
    Assert.Equal<float list>([ for r in [ 0.2; 0.1; 0.05 ] -> float (float32 r) ], List.ofSeq rec_.Seen)
    Assert.Equal(float (float32 0.05), m.Optimizer.LearningRate)
    Assert.Contains("Epoch 1: LearningRateScheduler setting learning rate to 0.2.", w.ToString())
    Assert.Contains("Epoch 3: LearningRateScheduler setting learning rate to 0.05.", w.ToString())

[<Fact>]
let ``LearningRateScheduler changes the trained weights`` () =
    let a, b = tinyModel 0.1, tinyModel 0.1
    a.FitArrays(tinyData 30 0, epochs = 1, batchSize = 10, verbose = 0) |> ignore
    b.FitArrays(tinyData 30 0, epochs = 1, batchSize = 10, verbose = 0,
                callbacks = [ LearningRateScheduler(Func<int, float, float>(fun _ _ -> 0.01)) :> ICallback ]) |> ignore
    Assert.NotEqual<float32[]>(a.GetWeights().[0], b.GetWeights().[0])

[<Fact>]
let ``ProgbarLogger prints Keras lines for a non-interactive writer`` () =
    let m = tinyModel 0.1
    let w = new StringWriter()
    m.FitArrays(tinyData 30 0, epochs = 2, batchSize = 10, verbose = 1, output = w) |> ignore
    let lines = w.ToString().Split('\n') |> Array.map (fun l -> l.TrimEnd('\r')) |> Array.filter (fun l -> l <> "")
    Assert.Equal(4, lines.Length)
    Assert.Equal("Epoch 1/2", lines.[0])
    Assert.Equal("Epoch 2/2", lines.[2])
    let pattern = @"^3/3 \[==============================\] - \d+s \d+(ms|us|s)/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}$"
    Assert.Matches(pattern, lines.[1])
    Assert.Matches(pattern, lines.[3])

[<Fact>]
let ``ProgbarLogger shows validation metrics and pads the step counter`` () =
    let w = new StringWriter()
    let p = ProgbarLogger(5, w, false) :> ICallback
    p.OnEpochBegin(0, 12)
    for b in 0 .. 11 do p.OnTrainBatchEnd(b, logsOf [ "loss", 0.5 ])
    p.OnEpochEnd(0, logsOf [ "loss", 0.25794; "accuracy", 0.9254; "val_loss", 0.0001; "val_accuracy", 1.0 ])
    let lines = w.ToString().Split('\n') |> Array.map (fun l -> l.TrimEnd('\r')) |> Array.filter (fun l -> l <> "")
    Assert.Equal(2, lines.Length)
    Assert.Equal("Epoch 1/5", lines.[0])
    Assert.Matches(@"^12/12 \[={30}\] - \d+s \d+(ms|us|s)/step - loss: 0\.2579 - accuracy: 0\.9254 - val_loss: 1\.0000e-04 - val_accuracy: 1\.0000$", lines.[1])

[<Fact>]
let ``ProgbarLogger takes the epoch count from fit, and a null writer is the console`` () =
    let m = tinyModel 0.1
    let epochLines (w: StringWriter) = w.ToString().Split('\n') |> Array.map (fun l -> l.TrimEnd('\r')) |> Array.filter (fun l -> l.StartsWith "Epoch")
    let w = new StringWriter()
    m.FitArrays(tinyData 30 0, epochs = 2, batchSize = 10, verbose = 0, callbacks = [ ProgbarLogger(w, false) :> ICallback ]) |> ignore
    Assert.Equal<string[]>([| "Epoch 1/2"; "Epoch 2/2" |], epochLines w)
    let w7 = new StringWriter()
    m.FitArrays(tinyData 30 0, epochs = 2, batchSize = 10, verbose = 0, callbacks = [ ProgbarLogger(7, w7, false) :> ICallback ]) |> ignore
    Assert.Equal<string[]>([| "Epoch 1/2"; "Epoch 2/2" |], epochLines w7)
    let saved = Console.Out
    let console = new StringWriter()
    Console.SetOut console
    try m.FitArrays(tinyData 30 0, epochs = 1, batchSize = 10, verbose = 0, callbacks = [ ProgbarLogger(1, null, false) :> ICallback ]) |> ignore
    finally Console.SetOut saved
    Assert.Equal<string[]>([| "Epoch 1/1" |], epochLines console)

[<Fact>]
let ``CSVLogger given a directory fails at train begin naming it and leaves no temp file`` () =
    withTempDir (fun dir ->
        let target = Path.Combine(dir, "logs")
        Directory.CreateDirectory target |> ignore
        let m = tinyModel 0.1
        let e = Assert.Throws<ArgumentException>(fun () ->
            m.FitArrays(tinyData 30 0, epochs = 1, batchSize = 10, verbose = 0, callbacks = [ CSVLogger(target) :> ICallback ]) |> ignore)
        Assert.Contains(sprintf "CSVLogger: '%s' is a directory" target, e.Message)
        Assert.Equal("filename", e.ParamName)
        Assert.Equal<string[]>([| "logs" |], Directory.GetFileSystemEntries dir |> Array.map Path.GetFileName)
        Assert.Empty(Directory.GetFileSystemEntries target)
        let e2 = Assert.Throws<ArgumentException>(fun () -> (CSVLogger(Path.Combine(dir, "new") + string Path.DirectorySeparatorChar) :> ICallback).OnTrainBegin())
        Assert.Contains("is a directory", e2.Message))

type private BatchKeys() =
    inherit Callback()
    member val Seen = ResizeArray<int * string list>()
    override c.OnEpochBegin(epoch, _) = c.Seen.Add((epoch, []))
    override c.OnTrainBatchEnd(_, logs) =
        let epoch, _ = c.Seen.[c.Seen.Count - 1]
        c.Seen.[c.Seen.Count - 1] <- (epoch, logs.Keys |> Seq.sort |> List.ofSeq)

[<Fact>]
let ``batch logs hold the loss and metrics only, not the previous epoch's val_ values (Keras)`` () =
    let m = tinyModel 0.1
    let keys = BatchKeys()
    m.FitArrays(tinyData 30 0, epochs = 2, batchSize = 10, validationData = tinyData 10 5, verbose = 0, callbacks = [ keys :> ICallback ]) |> ignore
    Assert.Equal<(int * string list) list>([ 0, [ "accuracy"; "loss" ]; 1, [ "accuracy"; "loss" ] ], List.ofSeq keys.Seen)
    Assert.True(m.FitArrays(tinyData 30 0, epochs = 1, batchSize = 10, validationData = tinyData 10 5, verbose = 0).History.ContainsKey "val_loss")
