/// The fit loop's lookahead (IStepLookahead): where it lets an executor open the next batch before the loop asks,
/// and that nothing reads or writes the model between such a batch and the next step.
module ActorTrainer.Core.Tests.LookaheadTests

open System
open System.Collections.Generic
open System.Threading
open Xunit
open ActorTrainer.Core

/// The in-process executor behind a recorder: per step "ahead" (NextStepOpeningNext) or "step" (NextStep), and
/// "violation: <call>" for any other call while a batch is open ahead (the promise the loop breaks).
type private RecordingExecutor(inner: IStepExecutor) =
    let mutable ahead = false
    member val Calls = ResizeArray<string>()
    member x.Check(call: string) = if ahead then x.Calls.Add("violation: " + call)
    interface IStepExecutor with
        member _.Workers = inner.Workers
        member _.WorkersAlive = inner.WorkersAlive
        member _.Asynchronous = false
        member x.BeginEpoch(e, s, g) = x.Check "BeginEpoch"; inner.BeginEpoch(e, s, g)
        member x.NextStep() = ahead <- false; x.Calls.Add "step"; inner.NextStep()
        member x.Drain() = x.Check "Drain"; inner.Drain()
        member x.Weights = x.Check "Weights"; inner.Weights
        member x.SetWeights w = x.Check "SetWeights"; inner.SetWeights w
        member x.OptimizerState() = x.Check "OptimizerState"; inner.OptimizerState()
        member _.Version = inner.Version
        member _.StaleRejected = inner.StaleRejected
        member x.Dispose() = x.Check "Dispose"; inner.Dispose()
    interface IStepLookahead with
        member x.NextStepOpeningNext() =
            ahead <- false
            x.Calls.Add "ahead"
            let o = inner.NextStep()
            ahead <- true
            o

type private RecordingRuntime() =
    member val Last : RecordingExecutor option = None with get, set
    interface IStepRuntime with
        member _.Name = "recording"
        member r.Start(job, start) =
            let e = new RecordingExecutor((InProcessRuntime.Instance :> IStepRuntime).Start(job, start))
            r.Last <- Some e
            e :> IStepExecutor

let private data () =
    let n = 40
    ArrayData.OfLabels(Array.init (n * 6) (fun i -> float32 (sin (float i * 0.37))), 6, Array.init n (fun i -> i % 3))

/// Fits 2 epochs of 4 batches on the recording runtime; returns its calls and the result.
let private fit (callbacks: ICallback list) (configure: FitOptions -> unit) =
    let m = Sequential([ Dense(4, "relu") :> Layer; Dense(3, "softmax") :> Layer ], seed = 5)
    m.Compile(SGD(0.1), "sparse_categorical_crossentropy", [ "accuracy" ])
    let rt = RecordingRuntime()
    let o = FitOptions(Epochs = 2, BatchSize = 10, Verbose = 0, Runtime = rt)
    configure o
    let result = m.FitWith(data (), o, callbacks)
    List.ofSeq rt.Last.Value.Calls, result

type private BatchEndCallback() =
    inherit Callback()
    override _.OnTrainBatchEnd(_, _) = ()

type private ReadOnlyBatchEndCallback(onEnd: int -> unit) =
    inherit Callback()
    override _.OnTrainBatchEnd(b, _) = onEnd b
    interface IReadOnlyBatchHooks

type private EpochEndCallback() =
    inherit Callback()
    override _.OnEpochEnd(_, _) = ()

let private everyStepAhead = [ "ahead"; "ahead"; "ahead"; "step"; "ahead"; "ahead"; "ahead"; "step" ]

[<Fact>]
let ``The next batch is opened ahead except before an epoch's end and before a checkpoint`` () =
    let saved = ResizeArray<int64>()
    let sink = { new ICheckpointSink with member _.Save c = saved.Add c.GlobalStep }
    let calls, _ = fit [] (fun o -> o.Checkpoints <- sink; o.CheckpointEverySteps <- 3)
    // global steps 0..7; a checkpoint follows global steps 2 and 5 (3 and 6 done) and each epoch's last step
    Assert.Equal<string list>([ "ahead"; "ahead"; "step"; "step"; "ahead"; "step"; "ahead"; "step" ], calls)
    Assert.Equal<int64 list>([ 3L; 4L; 6L; 8L ], List.ofSeq saved)
    let plain, _ = fit [] ignore
    Assert.Equal<string list>(everyStepAhead, plain)

[<Fact>]
let ``Only callbacks whose batch hooks cannot touch the model keep the lookahead`` () =
    Assert.Equal<string list>(everyStepAhead, fst (fit [ EpochEndCallback() ] ignore))
    Assert.Equal<string list>(everyStepAhead, fst (fit [ ReadOnlyBatchEndCallback(ignore) ] ignore))
    Assert.Equal<string list>(everyStepAhead, fst (fit [ ProgbarLogger(2, IO.TextWriter.Null, false) ] ignore))
    Assert.Equal<string list>(everyStepAhead, fst (fit [ TerminateOnNaN(IO.TextWriter.Null) ] ignore))
    let off = List.replicate 8 "step"
    Assert.Equal<string list>(off, fst (fit [ BatchEndCallback() ] ignore))
    let raw =
        { new ICallback with
            member _.SetModel _ = ()
            member _.OnTrainBegin() = ()
            member _.OnTrainEnd _ = ()
            member _.OnEpochBegin(_, _) = ()
            member _.OnEpochEnd(_, _) = ()
            member _.OnTrainBatchBegin _ = ()
            member _.OnTrainBatchEnd(_, _) = () }
    Assert.Equal<string list>(off, fst (fit [ raw ] ignore))

[<Fact>]
let ``A cancellation while a batch is open ahead still takes that batch, then stops`` () =
    use cts = new CancellationTokenSource()
    let cancelAt0 = ReadOnlyBatchEndCallback(fun b -> if b = 0 then cts.Cancel())
    let calls, result = fit [ cancelAt0 ] (fun o -> o.Cancellation <- cts.Token)
    Assert.Equal<string list>([ "ahead"; "step" ], calls)
    Assert.True result.Interrupted
    Assert.Equal(2L, result.Steps)

[<Fact>]
let ``TerminateOnNaN keeps the lookahead and stops at the diverged batch, which opened nothing`` () =
    let m = Sequential([ Dense(3) :> Layer ], seed = 2)
    m.Compile(SGD(1e30), "mse")
    let n = 30
    let x = Array.init (n * 20) (fun i -> float32 (sin (float i * 0.37)))
    let targets = Array.init (n * 3) (fun i -> float32 (i % 2))
    let t = TerminateOnNaN(IO.TextWriter.Null)
    let rt = RecordingRuntime()
    let r = m.FitWith(ArrayData(x, 20, null, targets, n), FitOptions(Epochs = 3, BatchSize = 5, Verbose = 0, Runtime = rt), [ t :> ICallback ])
    // batches 0 .. diverged, each asked for with the next one opened ahead; no other call while one was open
    Assert.InRange(t.TerminatedAtBatch, 1, 4)
    Assert.Equal<string list>(List.replicate (t.TerminatedAtBatch + 1) "ahead", List.ofSeq rt.Last.Value.Calls)
    Assert.Equal(int64 t.TerminatedAtBatch, r.Steps)
    Assert.Equal(1, r.Epochs.Length)

[<Fact>]
let ``A learning-rate warm-up keeps the lookahead where the next batch's rate is the same`` () =
    // 4 batches per epoch; a warm-up of 1 epoch changes the rate before every batch of epoch 0
    let whole, _ = fit [ LearningRateWarmup(0.05, 0.1, 1.0) ] ignore
    Assert.Equal<string list>([ "step"; "step"; "step"; "step"; "ahead"; "ahead"; "ahead"; "step" ], whole)
    // half an epoch: batches 0 and 1 ramp, 2 and 3 have the target rate
    let half, _ = fit [ LearningRateWarmup(0.05, 0.1, 0.5) ] ignore
    Assert.Equal<string list>([ "step"; "step"; "ahead"; "step"; "ahead"; "ahead"; "ahead"; "step" ], half)
    // no warm-up: one rate throughout
    Assert.Equal<string list>(everyStepAhead, fst (fit [ LearningRateWarmup(0.1, 0.1, 0.0) ] ignore))

[<Fact>]
let ``A callback that throws while a batch is open ahead leaves whole weights, one step past its batch`` () =
    let model () =
        let m = Sequential([ Dense(4, "relu") :> Layer; Dense(3, "softmax") :> Layer ], seed = 5)
        m.Compile(SGD(0.1), "sparse_categorical_crossentropy", [ "accuracy" ])
        m
    let m = model ()
    let rt = RecordingRuntime()
    let boom = ReadOnlyBatchEndCallback(fun b -> if b = 1 then raise (InvalidOperationException "callback failed"))
    let e = Assert.Throws<InvalidOperationException>(fun () ->
        m.FitWith(data (), FitOptions(Epochs = 2, BatchSize = 10, Verbose = 0, Runtime = rt), [ boom :> ICallback ]) |> ignore)
    Assert.Equal("callback failed", e.Message)
    // batch 2 was open ahead when batch 1's hook threw: taken before the weights were read, nothing else while open
    Assert.Equal<string list>([ "ahead"; "ahead"; "step" ], List.ofSeq rt.Last.Value.Calls)
    // the same weights as a run stopped after three batches
    let reference = model ()
    let stopAt2 = { new Callback() with override this.OnTrainBatchEnd(b, _) = if b = 2 then this.Model.StopTraining <- true }
    reference.FitWith(data (), FitOptions(Epochs = 2, BatchSize = 10, Verbose = 0), [ stopAt2 :> ICallback ]) |> ignore
    Assert.Equal<float32[]>(Array.concat (reference.GetWeights()), Array.concat (m.GetWeights()))
