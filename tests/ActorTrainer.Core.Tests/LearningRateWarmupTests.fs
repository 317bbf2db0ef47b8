module ActorTrainer.Core.Tests.LearningRateWarmupTests

open System
open Xunit
open ActorTrainer.Core

/// The schedule written independently of the callback: lr(t) = (1 − f)·base + f·target, f = t / (E·S), capped at target.
let private expected (b: float) (target: float) (warmupEpochs: float) (epoch: int) (batch: int) (steps: int) =
    let f = float (epoch * steps + batch) / (warmupEpochs * float steps)
    if f >= 1.0 then target else (1.0 - f) * b + f * target

[<Fact>]
let ``Dyadic values are exact at every step, epoch boundary and the end of the warm-up`` () =
    // base 0.25, target 4 (k = 16), 4 steps per epoch, warm-up 1 epoch: every value is exact in binary
    let w = LearningRateWarmup(0.25, 4.0, 1.0)
    let got = [ for e in 0 .. 1 do for b in 0 .. 3 -> w.LearningRateAt(e, b, 4) ]
    Assert.Equal<float list>([ 0.25; 1.1875; 2.125; 3.0625; 4.0; 4.0; 4.0; 4.0 ], got)
    for e in 0 .. 1 do
        for b in 0 .. 3 do Assert.Equal(expected 0.25 4.0 1.0 e b 4, w.LearningRateAt(e, b, 4))

[<Fact>]
let ``A fractional warm-up ends inside an epoch and the next epoch continues the ramp`` () =
    // 1.5 epochs of 4 steps = 6 steps: t = 0..5 ramp by 0.5, t >= 6 target
    let w = LearningRateWarmup(1.0, 4.0, 1.5)
    let got = [ for e in 0 .. 2 do for b in 0 .. 3 -> w.LearningRateAt(e, b, 4) ]
    Assert.Equal<float list>([ 1.0; 1.5; 2.0; 2.5; 3.0; 3.5; 4.0; 4.0; 4.0; 4.0; 4.0; 4.0 ], got)

[<Fact>]
let ``Realistic values match the independent formula to the last float32 bit`` () =
    // config/mnist-mlp-16.conf: base 0.000375, k = 16, 30 steps per epoch, warm-up 1 epoch
    let b, target = 0.000375, 0.000375 * 16.0
    let w = LearningRateWarmup(b, target, 1.0)
    for e in 0 .. 2 do
        for s in 0 .. 29 do
            let lr = w.LearningRateAt(e, s, 30)
            let want = expected b target 1.0 e s 30
            Assert.Equal(float32 want, float32 lr)
            Assert.True(abs (lr - want) <= 1e-15, sprintf "epoch %d step %d: %.17g vs %.17g" e s lr want)
    Assert.Equal(b, w.LearningRateAt(0, 0, 30))
    Assert.Equal(target, w.LearningRateAt(1, 0, 30))
    Assert.Equal(b + (target - b) * (29.0 / 30.0), w.LearningRateAt(0, 29, 30))

[<Fact>]
let ``No warm-up means the target from the first step`` () =
    let w = LearningRateWarmup(0.001, 0.016, 0.0)
    Assert.Equal(0.016, w.LearningRateAt(0, 0, 30))
    Assert.Equal(0.016, w.LearningRateAt(3, 7, 30))

[<Fact>]
let ``The callback sets the optimizer's rate before each batch from epoch and batch only`` () =
    let opt = SGD(0.25)
    let w = LearningRateWarmup(0.25, 4.0, 1.0)
    let h = CallbackTests.FakeHandle(opt)
    (w :> ICallback).SetModel h
    (w :> ICallback).OnTrainBegin()
    // a resumed run starts at epoch 0, batch 2, without having seen batches 0 and 1
    (w :> ICallback).OnEpochBegin(0, 4)
    (w :> ICallback).OnTrainBatchBegin 2
    Assert.Equal(2.125, opt.LearningRate)
    (w :> ICallback).OnTrainBatchBegin 3
    Assert.Equal(3.0625, opt.LearningRate)
    (w :> ICallback).OnEpochBegin(1, 4)
    (w :> ICallback).OnTrainBatchBegin 0
    Assert.Equal(4.0, opt.LearningRate)

[<Fact>]
let ``Bad arguments are refused naming the parameter`` () =
    let name (f: unit -> obj) = (Assert.Throws<ArgumentOutOfRangeException>(fun () -> f () |> ignore)).ParamName
    Assert.Equal("baseLearningRate", name (fun () -> box (LearningRateWarmup(0.0, 1.0, 1.0))))
    Assert.Equal("targetLearningRate", name (fun () -> box (LearningRateWarmup(1.0, nan, 1.0))))
    Assert.Equal("warmupEpochs", name (fun () -> box (LearningRateWarmup(1.0, 1.0, -0.5))))
    Assert.Equal("warmupEpochs", name (fun () -> box (LearningRateWarmup(1.0, 1.0, infinity))))
    let w = LearningRateWarmup(1.0, 2.0, 1.0)
    Assert.Equal("stepsPerEpoch", name (fun () -> box (w.LearningRateAt(0, 0, 0))))
    Assert.Equal("batch", name (fun () -> box (w.LearningRateAt(0, -1, 4))))
