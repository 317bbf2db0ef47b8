/// A checkpoint holds the weights and the optimizer state of one step, also when the run fails while they are read.
module ActorTrainer.Core.Tests.CheckpointConsistencyTests

open System
open Xunit
open ActorTrainer.Core

/// The in-process executor as a run whose weights live elsewhere (ps nodes) and whose node is lost while the weights
/// of step `failAt` are pulled: Weights then gives the ones pulled before (what the home still holds, as the actor
/// runtime does), and OptimizerState and NextStep throw the run's failure from then on.
type private LostDuringPullExecutor(inner: IStepExecutor, failAt: int) =
    let mutable steps = 0
    let mutable failed = false
    let mutable pulled : float32[][] = Weights.copy inner.Weights
    let lost () = raise (InvalidOperationException "parameter-server node lost")
    interface IStepExecutor with
        member _.Workers = inner.Workers
        member _.WorkersAlive = inner.WorkersAlive
        member _.Asynchronous = false
        member _.BeginEpoch(e, s, g) = inner.BeginEpoch(e, s, g)
        member _.NextStep() =
            if failed then lost ()
            steps <- steps + 1
            inner.NextStep()
        member _.Drain() = inner.Drain()
        member _.Weights =
            if steps >= failAt then failed <- true
            if not failed then pulled <- Weights.copy inner.Weights
            pulled
        member _.SetWeights w = inner.SetWeights w
        member _.OptimizerState() = if failed then lost () else inner.OptimizerState()
        member _.Version = inner.Version
        member _.StaleRejected = inner.StaleRejected
        member _.Dispose() = inner.Dispose()

type private LostDuringPullRuntime(failAt: int) =
    interface IStepRuntime with
        member _.Name = "lost-during-pull"
        member _.Start(job, start) = new LostDuringPullExecutor((InProcessRuntime.Instance :> IStepRuntime).Start(job, start), failAt)

[<Fact>]
let ``A run that fails while a checkpoint reads its weights writes no checkpoint of older weights with newer slots`` () =
    let m = Sequential([ Dense(4, "relu") :> Layer; Dense(3, "softmax") :> Layer ], seed = 5)
    m.Compile(RMSprop(0.01), "sparse_categorical_crossentropy", [ "accuracy" ])
    let n = 40
    let data = ArrayData.OfLabels(Array.init (n * 6) (fun i -> float32 (sin (float i * 0.37))), 6, Array.init n (fun i -> i % 3))
    let saved = ResizeArray<int64 * float32[][]>()
    let sink = { new ICheckpointSink with member _.Save c = saved.Add((c.GlobalStep, Weights.copy c.Weights)) }
    let o = FitOptions(Epochs = 2, BatchSize = 10, Verbose = 0, Runtime = LostDuringPullRuntime(6), Checkpoints = sink, CheckpointEverySteps = 3)
    let e = Assert.Throws<InvalidOperationException>(fun () -> m.FitWith(data, o, []) |> ignore)
    Assert.Equal("parameter-server node lost", e.Message)
    // 4 steps per epoch: the checkpoints after step 3 and epoch 0's end, not the one after step 6 (it would pair
    // step 4's weights with step 6's slots)
    Assert.Equal<int64 list>([ 3L; 4L ], saved |> Seq.map fst |> List.ofSeq)
