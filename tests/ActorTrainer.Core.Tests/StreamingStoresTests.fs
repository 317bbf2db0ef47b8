module ActorTrainer.Core.Tests.StreamingStoresTests

// The optimizer updates (RMSprop, Adam, SGD without momentum) with streaming (non-temporal) stores of the weights (KernelSettings.StreamingStores): the same
// bits as plain stores for every alignment of the range and every value, and the switch's rules. The tests in this
// class set the process-wide mode (other tests see only which store instruction runs, never different bits) and run
// one after the other.

open System
open Xunit
open ActorTrainer.Core
open ActorTrainer.Kernels

let private bits (a: float32[]) = Array.map BitConverter.SingleToInt32Bits a

/// Gradient values of step `step`: mixed magnitudes, exact zeros, and one NaN and one +Inf past the middle.
let private gradient (n: int) (step: int) =
    Array.init n (fun i ->
        if i = n / 2 + step then Single.NaN
        elif i = n / 2 + 100 + step then Single.PositiveInfinity
        elif i % 9 = 0 then 0f
        else float32 (sin (float (i * 7 + step * 13))) * (if i % 5 = 0 then 3f else 0.04f))

/// Three UpdateRange steps of a fresh optimizer over w[offset .. offset + count) of one 70 000 + 37-element weight
/// under `mode`; returns the weights and the slots.
let private run (mode: StreamingStoresMode) (make: unit -> Optimizer) (offset: int) (count: int) =
    let n = 70_037
    let w = Array.init n (fun i -> float32 (cos (float i)) * 0.05f)
    let o = make ()
    o.EnsureSlots [| n |]
    let before = KernelSettings.StreamingStores
    KernelSettings.StreamingStores <- mode
    try
        for step in 1 .. 3 do o.UpdateRange(0, w, gradient n step, offset, count, 0.01f, int64 step)
    finally KernelSettings.StreamingStores <- before
    let struct (_, slots) = o.GetState()
    w, slots.[0]

[<Fact>]
let ``streamed weights have the bits of plain stores for RMSprop, Adam and SGD at every alignment`` () =
    let makers : (string * (unit -> Optimizer)) list =
        [ "RMSprop", (fun () -> RMSprop()); "Adam", (fun () -> Adam()); "SGD", (fun () -> SGD(0.1)) ]
    for name, make in makers do
        // offsets 0 … 17 move the range's start through every alignment of a 64-byte line (arrays start 8 or 16
        // bytes into one), and the odd counts leave a tail for the Vector<T> and scalar paths
        for offset in [ 0; 1; 2; 3; 5; 8; 13; 16; 17 ] do
            let count = 70_037 - offset - (offset % 4)
            let wOn, sOn = run StreamingStoresMode.On make offset count
            let wOff, sOff = run StreamingStoresMode.Off make offset count
            Assert.True(bits wOn = bits wOff, sprintf "%s, offset %d: streamed weights differ from plain stores" name offset)
            for k in 0 .. sOn.Length - 1 do
                Assert.True(bits sOn.[k] = bits sOff.[k], sprintf "%s, offset %d: slot %d differs" name offset k)
            Assert.True(Single.IsNaN wOn.[70_037 / 2 + 1], sprintf "%s: the NaN gradient must reach its weight" name)

[<Fact>]
let ``StreamWeights: large updates only, Auto follows the calling thread's kernel parallelism`` () =
    let before = KernelSettings.StreamingStores
    try
        KernelSettings.StreamingStores <- StreamingStoresMode.Auto
        (using (KernelSettings.UseParallelism 1) (fun _ -> Assert.False(KernelSettings.StreamWeights 1_000_000, "one kernel thread: plain stores")))
        using (KernelSettings.UseParallelism 2) (fun _ ->
            Assert.True(KernelSettings.StreamWeights KernelSettings.StreamingStoresMinLength, "two kernel threads, 64 Ki weights")
            Assert.False(KernelSettings.StreamWeights(KernelSettings.StreamingStoresMinLength - 1), "below the minimum length"))
        KernelSettings.StreamingStores <- StreamingStoresMode.On
        (using (KernelSettings.UseParallelism 1) (fun _ -> Assert.True(KernelSettings.StreamWeights 1_000_000, "On")))
        Assert.False(KernelSettings.StreamWeights 100, "On still leaves small updates plain")
        KernelSettings.StreamingStores <- StreamingStoresMode.Off
        (using (KernelSettings.UseParallelism 4) (fun _ -> Assert.False(KernelSettings.StreamWeights 1_000_000, "Off")))
        Assert.Throws<ArgumentOutOfRangeException>(fun () -> KernelSettings.StreamingStores <- enum<StreamingStoresMode> 7) |> ignore
    finally KernelSettings.StreamingStores <- before

[<Fact>]
let ``ACTORTRAINER_STREAMING_STORES: auto, the on/off spellings, a clear error for anything else`` () =
    for auto in [ null; ""; "auto"; " AUTO " ] do Assert.Equal(StreamingStoresMode.Auto, KernelSettings.ParseStreamingStores auto)
    for on in [ "1"; "true"; "On"; "yes" ] do Assert.Equal(StreamingStoresMode.On, KernelSettings.ParseStreamingStores on)
    for off in [ "0"; "false"; "OFF"; " no" ] do Assert.Equal(StreamingStoresMode.Off, KernelSettings.ParseStreamingStores off)
    let e = Assert.Throws<KernelSettingException>(fun () -> KernelSettings.ParseStreamingStores "fast" |> ignore)
    Assert.Contains("ACTORTRAINER_STREAMING_STORES = 'fast'", e.Message)
    Assert.Contains("auto", e.Message)
