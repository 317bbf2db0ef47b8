module ActorTrainer.Core.Tests.OptimizerTests

open System
open Xunit
open ActorTrainer.Core

let private grads = [| 0.5f; -0.25f; 1.0f |]

/// Runs three steps on w = 1.0 with g = 0.5, −0.25, 1.0 and returns w after each.
let private trace (o: Optimizer) =
    let w = [| [| 1.0f |] |]
    [| for g in grads do
         o.Apply(w, [| [| g |] |])
         yield float w.[0].[0] |]

let private checkTrace (expected: float[]) (o: Optimizer) =
    let got = trace o
    for i in 0 .. 2 do
        let d = abs (got.[i] - expected.[i])
        Assert.True(d <= 2e-6, sprintf "%s step %d: expected %.10f got %.10f" o.Name (i + 1) expected.[i] got.[i])

[<Fact>]
let ``SGD default golden values`` () = checkTrace [| 0.995; 0.9975; 0.9875 |] (SGD())

[<Fact>]
let ``SGD momentum golden values`` () = checkTrace [| 0.95; 0.93; 0.812 |] (SGD(0.1, 0.9))

[<Fact>]
let ``SGD nesterov golden values`` () = checkTrace [| 0.905; 0.912; 0.7058 |] (SGD(0.1, 0.9, true))

[<Fact>]
let ``RMSprop default golden values`` () =
    checkTrace [| 0.9968377286643679; 0.9983121456617157; 0.9954935674804782 |] (RMSprop())

[<Fact>]
let ``RMSprop centered momentum golden values`` () =
    checkTrace [| 0.9666667407404939; 0.9648479316970439; 0.9340512867383161 |] (RMSprop(0.01, 0.9, 0.5, 1e-7, true))

[<Fact>]
let ``Adagrad default golden values`` () =
    checkTrace [| 0.9991548458660078; 0.9995440952909068; 0.9987026889968678 |] (Adagrad())

[<Fact>]
let ``Adam default golden values`` () =
    checkTrace [| 0.9990000063245154; 0.9987336707920792; 0.9980755610087696 |] (Adam())

let private makers : (string * (unit -> Optimizer)) list =
    [ "sgd", (fun () -> SGD(0.05) :> Optimizer)
      "sgd-momentum", (fun () -> SGD(0.05, 0.9) :> Optimizer)
      "sgd-nesterov", (fun () -> SGD(0.05, 0.9, true) :> Optimizer)
      "rmsprop", (fun () -> RMSprop(0.01) :> Optimizer)
      "rmsprop-centered", (fun () -> RMSprop(0.01, 0.8, 0.3, 1e-7, true) :> Optimizer)
      "adagrad", (fun () -> Adagrad(0.1) :> Optimizer)
      "adam", (fun () -> Adam(0.01) :> Optimizer)
      "adam-amsgrad", (fun () -> Adam(0.01, 0.9, 0.999, 1e-7, true) :> Optimizer) ]

let private mixed (n: int) (step: int) = Array.init n (fun i -> float32 (sin (float (i * 7 + step * 13)) * (if i % 5 = 0 then 3.0 else 0.4)))

/// 37 = 2×16 + 5 and 61 = 3×16 + 8 + 5: every width the update runs at (512-bit, Vector<T>, scalar tail) is used.
[<Theory>]
[<InlineData(37)>]
[<InlineData(61)>]
let ``vector path equals element-by-element scalar path bitwise`` (n: int) =
    for (name, make) in makers do
        let vec = make ()
        let w = [| Array.init n (fun i -> float32 i * 0.1f - 1.5f) |]
        let scalars = Array.init n (fun _ -> make ())
        let ws = Array.init n (fun i -> [| [| w.[0].[i] |] |])
        for step in 0 .. 4 do
            let g = mixed n step
            vec.Apply(w, [| g |])
            for i in 0 .. n - 1 do scalars.[i].Apply(ws.[i], [| [| g.[i] |] |])
        for i in 0 .. n - 1 do
            Assert.True(BitConverter.SingleToInt32Bits w.[0].[i] = BitConverter.SingleToInt32Bits ws.[i].[0].[0],
                        sprintf "%s element %d of %d: vector %.9g vs scalar %.9g" name i n w.[0].[i] ws.[i].[0].[0])

/// Slot values of one step for RMSprop (v) and Adam (m, v) around the smallest normal float32 2⁻¹²⁶ ≈ 1.1755e-38.
let private nearTiny (n: int) =
    Array.init n (fun i ->
        match i % 6 with
        | 0 -> 1e-40f             // subnormal already (a checkpoint of an older build): ρ·v stays subnormal → +0
        | 1 -> 1.25e-38f          // normal, ρ·v = 1.125e-38 falls below 2⁻¹²⁶ → +0
        | 2 -> 1.4e-38f           // normal, ρ·v = 1.26e-38 stays normal → kept
        | 3 -> Single.NaN         // NaN is kept
        | 4 -> -1.25e-38f         // negative (Adam's m): |0.9·m| < 2⁻¹²⁶ → +0
        | _ -> 0.25f)

[<Theory>]
[<InlineData(37)>]
[<InlineData(61)>]
let ``slots below the smallest normal float are flushed to +0 at every width and the weights do not change`` (n: int) =
    let tiny = 1.17549435e-38f
    let bits (x: float32) = BitConverter.SingleToInt32Bits x
    let g = Array.init n (fun i -> if i % 6 = 5 then 0.5f else 0f)
    let w0 = Array.init n (fun i -> float32 i * 0.1f - 1.5f)
    for name, make, slotsOf in
        [ "rmsprop", (fun () -> RMSprop(0.01) :> Optimizer), (fun (s: float32[]) -> [| Array.map abs s |])
          "adam", (fun () -> Adam(0.01) :> Optimizer), (fun (s: float32[]) -> [| Array.copy s; Array.map abs s |]) ] do
        let start = nearTiny n
        let vec = make ()
        vec.LoadState(0L, [| slotsOf start |])
        let w = Array.copy w0
        vec.Apply([| w |], [| g |])
        let struct (_, state) = vec.GetState()
        for i in 0 .. n - 1 do
            let one = make ()
            one.LoadState(0L, [| slotsOf [| start.[i] |] |])
            let wi = [| w0.[i] |]
            one.Apply([| wi |], [| [| g.[i] |] |])
            let struct (_, s1) = one.GetState()
            Assert.True(bits w.[i] = bits wi.[0], sprintf "%s weight %d of %d: vector %.9g vs scalar %.9g" name i n w.[i] wi.[0])
            for k in 0 .. state.[0].Length - 1 do
                let v, vs = state.[0].[k].[i], s1.[0].[k].[0]
                Assert.True(bits v = bits vs, sprintf "%s slot %d element %d of %d: vector %.9g vs scalar %.9g" name k i n v vs)
                Assert.False(Single.IsSubnormal v, sprintf "%s slot %d element %d is subnormal: %.9g" name k i v)
                // where g = 0 the slot decays by ρ = 0.9 (RMSprop's v), β₁ = 0.9 (Adam's m) or β₂ = 0.999 (Adam's v)
                let decayed = float (slotsOf [| start.[i] |]).[k].[0] * (if name = "adam" && k = 1 then 0.999 else 0.9)
                if Single.IsNaN start.[i] then Assert.True(Single.IsNaN v, sprintf "%s slot %d element %d: expected NaN, got %.9g" name k i v)
                elif g.[i] = 0f && abs decayed < float tiny then
                    Assert.True(bits v = 0, sprintf "%s slot %d element %d: expected +0, got %.9g" name k i v)
                else Assert.True(abs v >= tiny, sprintf "%s slot %d element %d: expected a normal value, got %.9g" name k i v)
        // the flush never moves a weight: where g = 0 and the slot is not NaN the weight is unchanged
        for i in 0 .. n - 1 do
            if i % 6 <> 5 && i % 6 <> 3 then Assert.True(bits w.[i] = bits w0.[i], sprintf "%s weight %d moved: %.9g" name i w.[i])

[<Fact>]
let ``ApplyGradients on Variables equals Apply on arrays`` () =
    for (name, make) in makers do
        let a, b = make (), make ()
        let k0 = Array.init 6 (fun i -> float32 i * 0.25f - 0.5f)
        let b0 = [| 0.1f; -0.2f |]
        let arrays = [| Array.copy k0; Array.copy b0 |]
        let vk = Variable(Tensor.FromArray(Array.copy k0, [| 3; 2 |]), "k")
        let vb = Variable(Tensor.FromArray(Array.copy b0, [| 2 |]), "b")
        for step in 0 .. 3 do
            let g = mixed 37 step
            let gk, gb = Array.sub g 0 6, Array.sub g 6 2
            a.Apply(arrays, [| gk; gb |])
            b.ApplyGradients([ Tensor.FromArray(gk, [| 3; 2 |]), vk; Tensor.FromArray(gb, [| 2 |]), vb ])
        Assert.Equal<float32[]>(arrays.[0], vk.Value.ToFloat32Array())
        Assert.Equal<float32[]>(arrays.[1], vb.Value.ToFloat32Array())
        Assert.True((a.Iterations = 4L && b.Iterations = 4L), name)

[<Fact>]
let ``ApplyGradients rejects a gradient of the wrong shape naming the variable`` () =
    let v = Variable(Tensor.Zeros [| 2; 2 |], "dense/kernel")
    let ex = Assert.Throws<ShapeException>(fun () -> (SGD()).ApplyGradients([ Tensor.Zeros [| 4 |], v ]))
    Assert.Contains("dense/kernel", ex.Message)

[<Fact>]
let ``GetState and LoadState round trip continues identically`` () =
    for (name, make) in makers do
        let a = make ()
        let w = [| Array.init 5 (fun i -> float32 i); [| 0.5f; -0.5f |] |]
        for step in 0 .. 2 do a.Apply(w, [| Array.sub (mixed 37 step) 0 5; Array.sub (mixed 37 step) 5 2 |])
        let struct (it, slots) = a.GetState()
        Assert.Equal(3L, it)
        let b = make ()
        b.LoadState(it, slots)
        Assert.Equal(3L, b.Iterations)
        let w2 = w |> Array.map Array.copy
        for step in 3 .. 5 do
            let g = [| Array.sub (mixed 37 step) 0 5; Array.sub (mixed 37 step) 5 2 |]
            a.Apply(w, g)
            b.Apply(w2, g)
        for i in 0 .. 1 do Assert.True((w.[i] = w2.[i]), sprintf "%s weight %d differs after restoring state" name i)

[<Fact>]
let ``GetState returns copies`` () =
    let a = Adam()
    let w = [| [| 1.0f |] |]
    a.Apply(w, [| [| 1.0f |] |])
    let struct (_, s1) = a.GetState()
    s1.[0].[0].[0] <- 99.0f
    let struct (_, s2) = a.GetState()
    Assert.NotEqual(99.0f, s2.[0].[0].[0])
    Assert.Equal(0.1f, s2.[0].[0].[0], 6)

[<Fact>]
let ``GetStateReusing refills the arrays it is given with the values GetState copies`` () =
    for (name, make) in makers do
        let a = make ()
        let w = [| Array.init 5 (fun i -> float32 i); [| 0.5f; -0.5f |] |]
        a.Apply(w, [| Array.sub (mixed 37 0) 0 5; Array.sub (mixed 37 0) 5 2 |])
        let struct (_, first) = a.GetStateReusing null
        a.Apply(w, [| Array.sub (mixed 37 1) 0 5; Array.sub (mixed 37 1) 5 2 |])
        let arrays = first |> Array.collect id
        let struct (it, again) = a.GetStateReusing first
        let struct (_, fresh) = a.GetState()
        Assert.Equal(2L, it)
        Assert.Same(first, again)
        // the same arrays, now holding the state after the second update, exactly as a fresh copy holds it
        Assert.True(Array.forall2 (fun (x: float32[]) y -> obj.ReferenceEquals(x, y)) arrays (again |> Array.collect id), sprintf "%s: a slot array was replaced" name)
        for i in 0 .. fresh.Length - 1 do
            for k in 0 .. fresh.[i].Length - 1 do
                Assert.True((fresh.[i].[k] = again.[i].[k]), sprintf "%s weight %d slot %d differs from GetState" name i k)
        // copies, not the optimizer's own slots
        if arrays.Length > 0 then
            arrays.[0].[0] <- 99.0f
            let struct (_, s) = a.GetState()
            Assert.NotEqual(99.0f, s.[0].[0].[0])
        // arrays of another shape are replaced, not written past
        let struct (_, other) = a.GetStateReusing [| [| [| 0f |] |] |]
        Assert.Equal(fresh.Length, other.Length)

[<Fact>]
let ``LoadState with the wrong slot count names the optimizer`` () =
    let ex = Assert.Throws<ArgumentException>(fun () -> (Adam()).LoadState(1L, [| [| [| 0.0f |] |] |]))
    Assert.Contains("Adam", ex.Message)
    Assert.Contains("2 slots", ex.Message)

[<Fact>]
let ``Iterations counts Apply calls`` () =
    let o = RMSprop()
    Assert.Equal(0L, o.Iterations)
    let w = [| [| 1.0f; 2.0f |] |]
    for _ in 1 .. 7 do o.Apply(w, [| [| 0.1f; 0.2f |] |])
    Assert.Equal(7L, o.Iterations)

[<Fact>]
let ``Adam bias correction uses the iteration count`` () =
    // with g constant, the first Adam step moves every weight by ≈ lr regardless of |g|
    let o = Adam(0.01)
    let w = [| [| 0.0f; 0.0f |] |]
    o.Apply(w, [| [| 5.0f; 0.001f |] |])
    Assert.Equal(-0.01f, w.[0].[0], 5)
    Assert.Equal(-0.01f, w.[0].[1], 4)

[<Fact>]
let ``bad arguments name the parameter`` () =
    let check (name: string) (f: unit -> obj) =
        let ex = Assert.ThrowsAny<ArgumentException>(fun () -> f () |> ignore)
        Assert.Equal(name, ex.ParamName)
    check "learningRate" (fun () -> box (SGD(0.0)))
    check "learningRate" (fun () -> box (Adam(-1.0)))
    check "learningRate" (fun () -> box (RMSprop(nan)))
    check "learningRate" (fun () -> box (Adagrad(infinity)))
    check "rho" (fun () -> box (RMSprop(0.001, 1.5)))
    check "rho" (fun () -> box (RMSprop(0.001, -0.1)))
    check "momentum" (fun () -> box (SGD(0.1, 1.1)))
    check "momentum" (fun () -> box (RMSprop(0.001, 0.9, -0.5)))
    check "epsilon" (fun () -> box (RMSprop(0.001, 0.9, 0.0, 0.0)))
    check "beta1" (fun () -> box (Adam(0.001, 1.0)))
    check "beta2" (fun () -> box (Adam(0.001, 0.9, 1.0)))
    check "initialAccumulatorValue" (fun () -> box (Adagrad(0.001, -1.0)))
    let o = SGD()
    let ex = Assert.Throws<ArgumentOutOfRangeException>(fun () -> o.LearningRate <- 0.0)
    Assert.Equal("LearningRate", ex.ParamName)
    Assert.Contains("learning_rate", ex.Message)

[<Fact>]
let ``mismatched lengths throw naming the weight`` () =
    let o = SGD()
    let ex1 = Assert.Throws<ArgumentException>(fun () -> o.Apply([| [| 1.0f |]; [| 1.0f |] |], [| [| 1.0f |] |]))
    Assert.Contains("2 weights but 1 gradients", ex1.Message)
    let ex2 = Assert.Throws<ArgumentException>(fun () -> o.Apply([| [| 1.0f; 2.0f |] |], [| [| 1.0f |] |]))
    Assert.Contains("weight 0 has 2 elements but its gradient has 1", ex2.Message)
    let m = SGD(0.1, 0.9)
    m.Apply([| [| 1.0f; 2.0f |] |], [| [| 1.0f; 1.0f |] |])
    let ex3 = Assert.Throws<ArgumentException>(fun () -> m.Apply([| [| 1.0f; 2.0f; 3.0f |] |], [| [| 1.0f; 1.0f; 1.0f |] |]))
    Assert.Contains("optimizer state was built for 2", ex3.Message)

[<Fact>]
let ``GetConfig uses Keras keys`` () =
    let keys (o: Optimizer) = o.GetConfig() |> Seq.map (fun kv -> kv.Key) |> List.ofSeq
    let value (o: Optimizer) (k: string) : obj =
        match o.GetConfig().[k].GetValueKind() with
        | System.Text.Json.JsonValueKind.String -> box (o.GetConfig().[k].GetValue<string>())
        | System.Text.Json.JsonValueKind.True | System.Text.Json.JsonValueKind.False -> box (o.GetConfig().[k].GetValue<bool>())
        | _ -> box (o.GetConfig().[k].GetValue<float>())
    Assert.Equal<string list>([ "name"; "learning_rate"; "momentum"; "nesterov" ], keys (SGD(0.1, 0.9, true)))
    Assert.Equal<string list>([ "name"; "learning_rate"; "rho"; "momentum"; "epsilon"; "centered" ], keys (RMSprop()))
    Assert.Equal<string list>([ "name"; "learning_rate"; "initial_accumulator_value"; "epsilon" ], keys (Adagrad()))
    Assert.Equal<string list>([ "name"; "learning_rate"; "beta_1"; "beta_2"; "epsilon"; "amsgrad" ], keys (Adam()))
    let a = Adam(0.002, 0.8, 0.99)
    Assert.Equal(box "Adam", value a "name")
    Assert.Equal(box 0.002, value a "learning_rate")
    Assert.Equal(box 0.8, value a "beta_1")
    Assert.Equal(box 0.99, value a "beta_2")
    Assert.Equal(box 1e-7, value a "epsilon")
    Assert.Equal(box true, value (SGD(0.1, 0.9, true)) "nesterov")
    let s = SGD()
    s.LearningRate <- 0.5
    Assert.Equal(box 0.5, value s "learning_rate")
    Assert.Equal(box 0.9, value (RMSprop()) "rho")

[<Fact>]
let ``slot names follow Keras`` () =
    Assert.Empty((SGD()).SlotNames)
    Assert.Equal<string[]>([| "momentum" |], (SGD(0.1, 0.5)).SlotNames)
    Assert.Equal<string[]>([| "velocity"; "momentum"; "average_gradient" |], (RMSprop(0.01, 0.9, 0.5, 1e-7, true)).SlotNames)
    Assert.Equal<string[]>([| "momentum"; "velocity" |], (Adam()).SlotNames)
    Assert.Equal(0.1f, (Adagrad()).InitialSlotValue)

/// Three Apply steps on a 3-weight model of 70 000 + 33 + 5 parameters (the first above the parallel threshold, odd
/// sizes so the parts' boundaries fall mid-vector) with at most `threads` kernel threads; returns weights and slots.
let private applyWith (threads: int) (make: unit -> Optimizer) =
    let rng = Random(11)
    let sizes = [| 70_001; 33; 5 |]
    let w = sizes |> Array.map (fun n -> Array.init n (fun _ -> float32 (rng.NextDouble() - 0.5)))
    let steps = [| for _ in 1 .. 3 -> sizes |> Array.map (fun n -> Array.init n (fun _ -> float32 (rng.NextDouble() - 0.5))) |]
    let o = make ()
    use _ = ActorTrainer.Kernels.KernelSettings.UseParallelism threads
    for g in steps do o.Apply(w, g)
    let struct (_, slots) = o.GetState()
    w, slots

[<Fact>]
let ``Apply on the kernels' threads gives the bits of one thread for every optimizer`` () =
    let makers : (string * (unit -> Optimizer)) list =
        [ "SGD", (fun () -> SGD()); "SGD momentum", (fun () -> SGD(0.1, 0.9)); "SGD nesterov", (fun () -> SGD(0.1, 0.9, true))
          "RMSprop", (fun () -> RMSprop()); "RMSprop centered momentum", (fun () -> RMSprop(0.01, 0.8, 0.5, 1e-7, true))
          "Adagrad", (fun () -> Adagrad()); "Adam", (fun () -> Adam()) ]
    for name, make in makers do
        let w1, s1 = applyWith 1 make
        for threads in [ 2; 3 ] do
            let wn, sn = applyWith threads make
            for i in 0 .. w1.Length - 1 do
                Assert.True((Array.map BitConverter.SingleToInt32Bits w1.[i] = Array.map BitConverter.SingleToInt32Bits wn.[i]),
                            sprintf "%s, %d threads: weight %d differs from one thread" name threads i)
            Assert.True((s1 |> Array.collect (Array.collect id) = (sn |> Array.collect (Array.collect id))),
                        sprintf "%s, %d threads: slots differ from one thread" name threads)

/// A slice's ranges (one ending inside a tensor, one starting inside another, odd lengths) updated in 1, 2, 3 and 7
/// parts: the bits of UpdateRange over each range on one thread (the oracle), and nothing outside the ranges moves.
[<Fact>]
let ``OptimizerRangeWork updates ranges in parts with the bits of UpdateRange on one thread`` () =
    let sizes = [| 70001; 37; 5003 |]
    let ranges = [| WeightRange(0, 12345, 57656); WeightRange(1, 0, 37); WeightRange(2, 0, 4099) |]
    let run (make: unit -> Optimizer) (updater: Optimizer -> (float32[][] -> float32[][] -> int64 -> unit)) =
        let rng = Random(5)
        let w = sizes |> Array.map (fun n -> Array.init n (fun _ -> float32 (rng.NextDouble() - 0.5)))
        let o = make ()
        o.EnsureSlots sizes
        let update = updater o      // one per run: the work is reused across the steps
        for step in 1L .. 3L do
            let g = sizes |> Array.map (fun n -> Array.init n (fun _ -> float32 (rng.NextDouble() - 0.5)))
            update w g step
        let struct (_, slots) = o.GetState()
        w, slots
    let bits (a: float32[][]) = a |> Array.map (Array.map BitConverter.SingleToInt32Bits)
    for name, make in makers do
        let oracle, oracleSlots =
            run make (fun o -> fun w g step -> for r in ranges do o.UpdateRange(r.Tensor, w.[r.Tensor], g.[r.Tensor], r.Offset, r.Count, 0.01f, step))
        let untouched, _ = run make (fun _ -> fun _ _ _ -> ())
        Assert.True(oracle.[0].[12344] = untouched.[0].[12344] && oracle.[2].[4099] = untouched.[2].[4099], "the oracle moved outside the ranges")
        Assert.True(oracle.[0].[12345] <> untouched.[0].[12345], sprintf "%s: the oracle did not move the first range" name)
        for parts in [ 1; 2; 3; 7 ] do
            use _ = ActorTrainer.Kernels.KernelSettings.UseParallelism 2
            let w, slots = run make (fun o -> let work = OptimizerRangeWork(o) in fun w g step -> work.Update(ranges, w, g, 0.01f, step, parts))
            Assert.True((bits oracle = bits w), sprintf "%s in %d parts: weights differ from UpdateRange per range" name parts)
            Assert.True((oracleSlots |> Array.collect (Array.collect id) = (slots |> Array.collect (Array.collect id))),
                        sprintf "%s in %d parts: slots differ" name parts)

[<Fact>]
let ``OptimizerRangeWork refuses a range outside its weight naming the optimizer, the weight and the range`` () =
    let o = RMSprop(0.01)
    let w = [| Array.zeroCreate<float32> 10; Array.zeroCreate<float32> 4 |]
    let g = [| Array.create 10 1.0f; Array.create 4 1.0f |]
    let work = OptimizerRangeWork(o)
    let refused (ranges: WeightRange[]) (g: float32[][]) = Assert.Throws<ArgumentException>(fun () -> work.Update(ranges, w, g, 0.01f, 1L, 2)).Message
    Assert.Equal("RMSprop update: range [8, 12) of weight 0, which has 10 elements", refused [| WeightRange(1, 0, 4); WeightRange(0, 8, 4) |] g)
    Assert.Equal("RMSprop update: a range names weight 2, but there are 2 weights and 2 gradients", refused [| WeightRange(2, 0, 1) |] g)
    Assert.Equal("RMSprop update: weight 1 has 4 elements but its gradient has 3", refused [| WeightRange(1, 0, 1) |] [| g.[0]; Array.create 3 1.0f |])
    Assert.All(w, fun a -> Assert.All(a, fun v -> Assert.Equal(0.0f, v)))      // nothing updated before the refusal

[<Fact>]
let ``UpdateParts splits from 65 536 parameters into at most 8 parts and no more than the threads`` () =
    Assert.Equal(1, Optimizer.UpdateParts(65535L, 8))
    Assert.Equal(2, Optimizer.UpdateParts(65536L, 2))
    Assert.Equal(8, Optimizer.UpdateParts(407050L, 16))
    Assert.Equal(1, Optimizer.UpdateParts(407050L, 1))
    Assert.Equal(1, Optimizer.UpdateParts(407050L, 0))

type private Recorder() =
    member val Seen = Collections.Concurrent.ConcurrentBag<int * int>()
    interface ActorTrainer.Kernels.IPartitionedWork with
        member r.Run(part, parts) =
            r.Seen.Add((part, parts))
            if part = 3 && parts = 5 then failwith "part 3 failed"

[<Fact>]
let ``KernelThreads runs every part once and rethrows a part's failure`` () =
    let r = Recorder()
    ActorTrainer.Kernels.KernelThreads.Run(r, 4)
    Assert.Equal<(int * int) list>([ 0, 4; 1, 4; 2, 4; 3, 4 ], r.Seen |> Seq.sort |> List.ofSeq)
    let failing = Recorder()
    let e = Assert.Throws<Exception>(fun () -> ActorTrainer.Kernels.KernelThreads.Run(failing, 5))
    Assert.Equal("part 3 failed", e.Message)
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> ActorTrainer.Kernels.KernelThreads.Run(r, 0)) |> ignore

[<Fact>]
let ``apply_gradients refuses a float64 variable by name before counting a step`` () =
    let o = SGD(0.1)
    let v = Variable(Tensor.FromArray([| 1.0; 2.0 |]), name = "w64")
    let e = Assert.Throws<ArgumentException>(fun () -> o.ApplyGradients([ Tensor.FromArray([| 0.5; 0.5 |]), v ]))
    Assert.Contains("variable 'w64' is float64; the optimizers update float32 variables", e.Message)
    Assert.Equal(0L, o.Iterations)
