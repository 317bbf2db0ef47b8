/// Keras' LearningRateScheduler sets logs["learning_rate"] (the optimizer's float32 rate) in on_epoch_end, so
/// History, CSVLogger and the progress bar show it; ours does the same through IEpochLogs.
module ActorTrainer.Core.Tests.LearningRateLogTests

open System
open System.IO
open System.Globalization
open Xunit
open ActorTrainer.Core

let private tinyData (n: int) (offset: int) =
    let x = Array.init (n * 20) (fun i -> float32 (sin (float (i + offset * 20) * 0.37)))
    ArrayData.OfLabels(x, 20, Array.init n (fun i -> (i + offset) % 3))

let private tinyModel () =
    let m = Sequential([ Dense(8, "relu") :> Layer; Dense(3, "softmax") :> Layer ], seed = 3)
    m.Compile(SGD(0.1), "sparse_categorical_crossentropy", [ "accuracy" ])
    m

let private withTempDir (f: string -> unit) =
    let dir = Path.Combine(Path.GetTempPath(), "coretests-lrlog-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory dir |> ignore
    try f dir finally Directory.Delete(dir, true)

[<Fact>]
let ``LearningRateScheduler puts learning_rate as float32 into History, CSVLogger's last column and the progress bar`` () =
    withTempDir (fun dir ->
        let path = Path.Combine(dir, "log.csv")
        let out = new StringWriter()
        let sched = LearningRateScheduler(Func<int, float, float>(fun epoch _ -> 0.1 / float (epoch + 1)))
        // the CSVLogger stands before the scheduler and History first: both see the key all the same
        let h = tinyModel().FitArrays(tinyData 30 0, epochs = 3, batchSize = 10, validationData = tinyData 9 50, verbose = 1,
                                      output = out, callbacks = [ CSVLogger(path) :> ICallback; sched :> ICallback ])
        let expected = [| for e in 0 .. 2 -> float (float32 (0.1 / float (e + 1))) |]
        Assert.Equal<float[]>(expected, h.["learning_rate"])
        Assert.Equal(0.10000000149011612, h.["learning_rate"].[0])        // Keras: float(np.float32(0.1))
        let lines = File.ReadAllLines path
        Assert.Equal("epoch,loss,accuracy,val_loss,val_accuracy,learning_rate", lines.[0])
        Assert.Equal<string[]>([| for e in 0 .. 2 -> expected.[e].ToString("R", CultureInfo.InvariantCulture) |],
                               lines.[1..] |> Array.map (fun l -> l.Split(',').[5]))
        Assert.Equal("0.10000000149011612", lines.[1].Split(',').[5])
        Assert.Contains("val_accuracy: ", out.ToString())
        Assert.Matches(@"- val_accuracy: \d\.\d{4} - learning_rate: 0\.0500", out.ToString()))

[<Fact>]
let ``without a scheduler the epoch logs hold no learning_rate`` () =
    let h = tinyModel().FitArrays(tinyData 30 0, epochs = 1, batchSize = 10, verbose = 0)
    Assert.DoesNotContain("learning_rate", h.History.Keys)

/// Keeps copies of every checkpoint fit saves (weights and slots are only valid during Save).
type private KeepCheckpoints() =
    let saved = ResizeArray<FitCheckpoint>()
    member _.Saved = saved
    interface ICheckpointSink with
        member _.Save c =
            saved.Add { c with Weights = c.Weights |> Array.map Array.copy
                               OptimizerSlots = c.OptimizerSlots |> Array.map (Array.map Array.copy) }

[<Fact>]
let ``a resumed fit's History equals the uninterrupted one's, learning_rate included`` () =
    let schedule () = LearningRateScheduler(Func<int, float, float>(fun epoch _ -> 0.1 / float (epoch + 1))) :> ICallback
    let options (epochs: int) = FitOptions(Epochs = epochs, BatchSize = 10, Seed = 5, Verbose = 0, Validation = tinyData 9 50)
    let full = tinyModel().FitWith(tinyData 30 0, options 3, [ schedule () ])
    let keep = KeepCheckpoints()
    let first = options 1
    first.Checkpoints <- keep
    tinyModel().FitWith(tinyData 30 0, first, [ schedule () ]) |> ignore
    let o = options 3
    o.Resume <- keep.Saved |> Seq.last
    Assert.Equal(1, o.Resume.Epoch)
    let resumed = tinyModel().FitWith(tinyData 30 0, o, [ schedule () ])
    Assert.Equal<string[]>([| "loss"; "accuracy"; "val_loss"; "val_accuracy"; "learning_rate" |], full.History.History.Keys |> Array.ofSeq)
    Assert.Equal<string[]>(full.History.History.Keys |> Array.ofSeq, resumed.History.History.Keys |> Array.ofSeq)
    for k in full.History.History.Keys do
        Assert.Equal<float[]>(full.History.[k], resumed.History.[k])
    Assert.Equal<int[]>([| 0; 1; 2 |], resumed.History.Epochs |> Array.ofSeq)
    Assert.Equal<float[]>(full.History.["learning_rate"], resumed.Epochs |> Array.map (fun e -> e.Logs.["learning_rate"]))

/// Trains `epochs` epochs with lr ← factor·lr uninterrupted, and again resumed from the checkpoint after epoch 1:
/// (uninterrupted History, resumed History, the two models' weight digests).
let private scheduleAcrossResume (factor: float) (epochs: int) =
    let schedule () = LearningRateScheduler(Func<int, float, float>(fun _ lr -> lr * factor)) :> ICallback
    let options (n: int) = FitOptions(Epochs = n, BatchSize = 10, Seed = 5, Verbose = 0)
    let model = tinyModel ()
    let full = model.FitWith(tinyData 30 0, options epochs, [ schedule () ])
    let keep = KeepCheckpoints()
    let first = options 1
    first.Checkpoints <- keep
    tinyModel().FitWith(tinyData 30 0, first, [ schedule () ]) |> ignore
    let o = options epochs
    o.Resume <- keep.Saved |> Seq.last
    let again = tinyModel ()
    let resumed = again.FitWith(tinyData 30 0, o, [ schedule () ])
    full.History, resumed.History, model.WeightsSha256(), again.WeightsSha256()

[<Fact>]
let ``a resumed fit continues a schedule of the current rate from the rate the checkpointed run had`` () =
    // lr ← lr / 2 each epoch: the rate depends on the optimizer's, which the checkpoint's logs hold (as float32)
    let full, resumed, digest, resumedDigest = scheduleAcrossResume 0.5 3
    Assert.Equal<float[]>([| for e in 1 .. 3 -> float (float32 (0.1 / 2.0 ** float e)) |], resumed.["learning_rate"])
    for k in full.History.Keys do
        Assert.Equal<float[]>(full.[k], resumed.[k])
    Assert.Equal(digest, resumedDigest)

[<Fact>]
let ``a resumed fit continues a schedule whose rates are not exact in float32 with the uninterrupted run's bits`` () =
    // lr ← 0.9·lr: 0.1·0.9² in double and float32(0.09)·0.9 round to different float32 rates (as Keras, the rate is a
    // float32 variable, so the uninterrupted run's chain is of float32 values too)
    let full, resumed, digest, resumedDigest = scheduleAcrossResume 0.9 4
    let mutable lr = float32 0.1
    let chain = [| for _ in 1 .. 4 -> lr <- float32 (float lr * 0.9); float lr |]
    Assert.Equal<float[]>(chain, full.["learning_rate"])
    Assert.Equal<float[]>(full.["learning_rate"], resumed.["learning_rate"])
    Assert.Equal(digest, resumedDigest)
