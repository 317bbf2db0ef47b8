module GradientFoldTests

open System
open Xunit
open ActorTrainer.Kernels

let private values (rng: Random) n = Array.init n (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0) * 1e3f)

[<Fact>]
let ``GradientFold.Add and AddChecked give the bits of a scalar loop, every length and tail`` () =
    let rng = Random 7
    for n in [ 0; 1; 7; 8; 15; 16; 17; 31; 33; 64; 100; 1027 ] do
        let a, g = values rng n, values rng n
        let expected = Array.map2 (+) a g
        let a1, a2 = Array.copy a, Array.copy a
        GradientFold.Add(Span a1, ReadOnlySpan g)
        Assert.True(GradientFold.AddChecked(Span a2, ReadOnlySpan g), sprintf "n %d: finite sum flagged" n)
        for r in [ a1; a2 ] do
            Assert.Equal<int[]>(Array.map BitConverter.SingleToInt32Bits expected, Array.map BitConverter.SingleToInt32Bits r)
        Assert.True(GradientFold.AllFinite(ReadOnlySpan expected))

[<Fact>]
let ``GradientFold flags NaN, infinities and an overflowing sum at any position, and only then`` () =
    let rng = Random 11
    for n in [ 1; 9; 16; 40; 1027 ] do
        for pos in [ 0; n / 2; n - 1 ] do
            for (bad: float32, other: float32) in [ nanf, 1.0f; infinityf, 1.0f; -infinityf, 1.0f; 3e38f, 3e38f; -3e38f, -3e38f ] do
                let a, g = values rng n, values rng n
                a.[pos] <- bad
                g.[pos] <- other
                let folded = Array.copy a
                Assert.False(GradientFold.AddChecked(Span folded, ReadOnlySpan g), sprintf "n %d, pos %d, %g + %g: not flagged" n pos bad other)
                Assert.Equal(Single.IsFinite bad, GradientFold.AllFinite(ReadOnlySpan a))
                Assert.False(GradientFold.AllFinite(ReadOnlySpan folded))
                // a plain Add writes the same values
                let plain = Array.copy a
                GradientFold.Add(Span plain, ReadOnlySpan g)
                Assert.Equal<int[]>(Array.map BitConverter.SingleToInt32Bits folded, Array.map BitConverter.SingleToInt32Bits plain)

[<Fact>]
let ``GradientFold.Add refuses operands of different lengths, naming both`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> GradientFold.Add(Span(Array.zeroCreate<float32> 3), ReadOnlySpan(Array.zeroCreate<float32> 4)))
    Assert.Contains("acc has 3 elements, g has 4", e.Message)
