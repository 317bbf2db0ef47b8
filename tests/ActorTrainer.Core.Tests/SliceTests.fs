module ActorTrainer.Core.Tests.SliceTests

open System
open Xunit
open FsCheck.Xunit
open ActorTrainer.Core
open ActorTrainer.Core.Tests.TensorTests

/// Python-semantics index list selected by a spec on an axis of length d (None for an integer index).
let private refIndices (spec: SliceSpec) (d: int) : int[] option =
    match spec with
    | SliceSpec.All | SliceSpec.Ellipsis -> Some(Array.init d id)
    | SliceSpec.Index k -> None
    | SliceSpec.Range(start, stop, step) ->
        // brute force: the Python rule "indices i = start + n·step within the clamped bounds"
        let norm v = if v < 0 then v + d else v
        let b =
            match Option.ofNullable start with
            | None -> if step > 0 then 0 else d - 1
            | Some s -> if step > 0 then min d (max 0 (norm s)) else min (d - 1) (max -1 (norm s))
        let e =
            match Option.ofNullable stop with
            | None -> if step > 0 then d else -1
            | Some s -> if step > 0 then min d (max 0 (norm s)) else min (d - 1) (max -1 (norm s))
        Some [| let mutable i = b
                while (step > 0 && i < e) || (step < 0 && i > e) do
                    yield i
                    i <- i + step |]

/// Element-by-element reference slicing via Get.
let private refSlice (x: Tensor) (specs: SliceSpec[]) : int[] * float[] =
    let s = x.Shape
    let full = Array.init s.Length (fun a -> if a < specs.Length then specs.[a] else SliceSpec.All)
    let per = full |> Array.mapi (fun a sp ->
        match refIndices sp s.[a], sp with
        | Some idx, _ -> idx, true
        | None, SliceSpec.Index k -> [| (if k < 0 then k + s.[a] else k) |], false
        | None, _ -> failwith "unreachable")
    let outShape = [| for idx, keep in per do if keep then yield idx.Length |]
    let rec go (a: int) (acc: int list) : float seq =
        if a = per.Length then Seq.singleton (x.Get(acc |> List.rev |> Array.ofList))
        else seq { for i in fst per.[a] do yield! go (a + 1) (i :: acc) }
    outShape, go 0 [] |> Array.ofSeq

let private specText (sp: SliceSpec) =
    match sp with
    | SliceSpec.All -> ":"
    | SliceSpec.Ellipsis -> "..."
    | SliceSpec.Index k -> string k
    | SliceSpec.Range(a, b, st) ->
        let o (v: Nullable<int>) = if v.HasValue then string v.Value else ""
        sprintf "%s:%s:%d" (o a) (o b) st

[<Property(MaxTest = 200)>]
let ``slicing agrees with an index-by-index reference`` (seed: int) =
    let rng = Random(seed)
    let s = randShape rng 1 4 6
    let x = t64 s (randData rng (Array.fold (*) 1 s) -1.0 1.0)
    let nspec = rng.Next(0, s.Length + 1)
    let specs =
        Array.init nspec (fun a ->
            let d = s.[a]
            match rng.Next(4) with
            | 0 -> SliceSpec.Index(rng.Next(-d, d))
            | 1 -> SliceSpec.All
            | _ ->
                let opt lo hi = if rng.Next(3) = 0 then Nullable() else Nullable(rng.Next(lo, hi))
                let step = (if rng.Next(2) = 0 then 1 else -1) * rng.Next(1, 4)
                SliceSpec.Range(opt (-d - 3) (d + 3), opt (-d - 3) (d + 3), step))
    let expShape, expData = refSlice x specs
    let y = Tensor.Slice(x, specs)
    Assert.Equal<int[]>(expShape, y.Shape)
    Assert.Equal<float[]>(expData, y.ToFloat64Array())
    let z = x.Slice(String.Join(", ", specs |> Array.map specText))
    Assert.Equal<int[]>(expShape, z.Shape)
    Assert.Equal<float[]>(expData, z.ToFloat64Array())

[<Fact>]
let ``string slices from the chapter`` () =
    let images = Tensor.FromArray(Array.init (60 * 28 * 28) float32, [| 60; 28; 28 |])
    let crop = images.Slice(":, 7:-7, 7:-7")
    Assert.Equal<int[]>([| 60; 14; 14 |], crop.Shape)
    Assert.Equal(float (7 * 28 + 7), crop.Get [| 0; 0; 0 |])
    Assert.Equal(float (59 * 784 + 20 * 28 + 20), crop.Get [| -1; -1; -1 |])
    Assert.Equal<int[]>([| 50; 28; 28 |], images.Slice("10:100").Shape)
    Assert.Equal(float (10 * 784), images.Slice("10:100").Get [| 0; 0; 0 |])
    let img = images.Slice("3")
    Assert.Equal<int[]>([| 28; 28 |], img.Shape)
    Assert.Equal(float (3 * 784 + 5), img.Get [| 0; 5 |])
    Assert.Equal<int[]>([| 28; 28 |], images.[3].Shape)
    Assert.Equal<float32[]>(img.ToFloat32Array(), images.[3].ToFloat32Array())
    Assert.Equal<int[]>([| 60; 14; 14 |], images.Slice(":, 14:, 14:").Shape)
    let v = Tensor.Arange(10)
    Assert.Equal<float32[]>([| 9.0f; 7.0f; 5.0f; 3.0f; 1.0f |], v.Slice("::-2").ToFloat32Array())
    Assert.Equal<float32[]>([| 7.0f; 8.0f |], v.Slice("-3:-1").ToFloat32Array())
    Assert.Equal<float32[]>([| 9.0f |], v.Slice("-1:").ToFloat32Array())
    Assert.Equal(0, v.Slice("5:2").Size)
    Assert.Equal(9.0, v.Slice("-1").ToScalar())

[<Fact>]
let ``slice errors name the fault`` () =
    let x = Tensor.Zeros([| 3; 4 |])
    throwsWith<IndexOutOfRangeException> "slice: index 3 is out of bounds for axis 0 with size 3" (fun () -> box (x.Slice("3")))
    throwsWith<IndexOutOfRangeException> "slice: index -5 is out of bounds for axis 1 with size 4" (fun () -> box (x.Slice(":, -5")))
    throwsWith<IndexOutOfRangeException> "too many indices for array: array is 2-dimensional, but 3 were indexed" (fun () -> box (x.Slice("0, 0, 0")))
    throwsWith<ArgumentException> "slice step cannot be zero" (fun () -> box (x.Slice("::0")))
    throwsWith<ArgumentException> "slice: cannot parse 'a:2' in slice string \"a:2\"" (fun () -> box (x.Slice("a:2")))
    throwsWith<ArgumentException> "slice: cannot parse '1:2:3:4'" (fun () -> box (x.Slice("1:2:3:4")))

[<Fact>]
let ``an ellipsis stands for the whole axes the other specs leave, as NumPy's`` () =
    let x = Tensor.FromArray(Array.init 24 float, [| 2; 3; 4 |])
    let same (a: Tensor) (b: Tensor) =
        Assert.Equal<int[]>(b.Shape, a.Shape)
        Assert.Equal<float[]>(b.ToFloat64Array(), a.ToFloat64Array())
    same (x.Slice("..., 1")) (x.Slice(":, :, 1"))                  // x[..., 1]: shape (2, 3)
    same (x.Slice("1, ...")) (x.Slice("1"))
    same (x.Slice("0, ..., ::-1")) (x.Slice("0, :, ::-1"))
    same (x.Slice("...")) x
    same (x.Slice("0, 1, 2, ...")) (x.Slice("0, 1, 2"))            // an ellipsis may stand for no axis
    same (Tensor.Slice(x, [| SliceSpec.Ellipsis; SliceSpec.At 2 |])) (x.Slice(":, :, 2"))
    Assert.Equal(11.0, x.Slice("..., 2, 3").Slice("0").ToScalar())
    let g = Autodiff.grad (fun t -> t.Slice("..., 0")) x           // gradient scatters through the expanded slice
    Assert.Equal<float[]>(Array.init 24 (fun i -> if i % 4 = 0 then 1.0 else 0.0), g.ToFloat64Array())
    throwsWith<ArgumentException> "slice: an index can only have a single ellipsis ('...')" (fun () -> box (x.Slice("..., 0, ...")))
    throwsWith<IndexOutOfRangeException> "array is 3-dimensional, but 4 were indexed" (fun () -> box (x.Slice("0, 0, 0, ..., 0")))

[<Fact>]
let ``boolean mask selects rows along axis 0`` () =
    let x = Tensor.FromArray(Array.init 8 float, [| 4; 2 |])
    let m = Tensor.FromArray([| true; false; false; true |])
    let y = x.Mask(m)
    Assert.Equal<int[]>([| 2; 2 |], y.Shape)
    assertClose 0.0 [| 0.0; 1.0; 6.0; 7.0 |] (y.ToFloat64Array())
    let labels = Tensor.FromArray([| 3; 1; 3; 0 |])
    let sel = x.Mask(Tensor.Equal(labels, Tensor.Scalar(3.0, DType.Int32)))
    assertClose 0.0 [| 0.0; 1.0; 4.0; 5.0 |] (sel.ToFloat64Array())
    throwsWith<ShapeException> "mask: a 1-D boolean mask as long as axis 0 (shape (4,)) selects rows; got a mask of shape (3,) for a tensor of shape (4,2)" (fun () -> box (x.Mask(Tensor.FromArray([| true; true; false |]))))
    throwsWith<ArgumentException> "mask: mask must be bool, got int32" (fun () -> box (x.Mask(labels)))

[<Fact>]
let ``slice and mask gradients scatter into zeros`` () =
    let x = Tensor.FromArray(Array.init 6 float, [| 3; 2 |])
    let g = Autodiff.grad (fun t -> t.Slice("1:, ::-1") * 2.0) x
    assertClose 0.0 [| 0.0; 0.0; 2.0; 2.0; 2.0; 2.0 |] (g.ToFloat64Array())
    let gm = Autodiff.grad (fun t -> t.Mask(Tensor.FromArray([| false; true; true |]))) x
    assertClose 0.0 [| 0.0; 0.0; 1.0; 1.0; 1.0; 1.0 |] (gm.ToFloat64Array())
