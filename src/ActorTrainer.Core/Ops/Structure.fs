namespace ActorTrainer.Core

open System
open System.Runtime.InteropServices

/// One axis of a NumPy-style slice: an integer index (drops the axis), a start:stop:step range, or the whole axis;
/// Ellipsis (NumPy `...`, at most one per slice) stands for as many whole axes as the other specs leave.
type SliceSpec =
    /// NumPy `a[i]`: the single position i of the axis (negative counts from the end; out of bounds throws); drops the axis.
    | Index of int
    /// NumPy `a[start:stop:step]`: a null start or stop means the axis' end in the step's direction; indices are
    /// clamped; step ≠ 0.
    | Range of start: Nullable<int> * stop: Nullable<int> * step: int
    /// NumPy `a[:]`: the whole axis.
    | All
    /// NumPy `...`: as many whole axes as the other specs leave (at most one per slice).
    | Ellipsis
    /// C#: the range start:stop:step of one axis; null start/stop means the axis' end (NumPy `a[start:stop:step]`).
    static member Between(start: Nullable<int>, stop: Nullable<int>, [<Optional; DefaultParameterValue(1)>] step: int) : SliceSpec =
        Range(start, stop, step)
    /// C#: the single position i of one axis (drops the axis; negative counts from the end).
    static member At(index: int) : SliceSpec = Index index

/// Slice parsing and resolution (NumPy semantics: negative indices, clamped ranges, negative steps).
module internal SliceSpec =
    /// Parses "a:b:c" / "i" / ":" comma-separated specs, e.g. ":, 7:-7, ::2"; error names the bad token.
    let parse (text: string) : SliceSpec[] =
        if isNull text then raise (ArgumentNullException("text"))
        let bad tok = invalidArg "text" (sprintf "slice: cannot parse '%s' in slice string \"%s\"" tok text)
        let num (tok: string) (s: string) =
            let s = s.Trim()
            if s = "" then None
            else
                match Int32.TryParse s with
                | true, v -> Some v
                | _ -> bad tok
        if text.Trim() = "" then [||]
        else
            text.Split(',')
            |> Array.map (fun tok ->
                let t = tok.Trim()
                if t = "" then bad tok
                elif t = "..." then Ellipsis
                elif t.Contains ":" then
                    let parts = t.Split(':')
                    if parts.Length > 3 then bad tok
                    let step = if parts.Length = 3 then defaultArg (num tok parts.[2]) 1 else 1
                    match num tok parts.[0], num tok parts.[1] with
                    | None, None when step = 1 -> All
                    | a, b -> Range(Option.toNullable a, Option.toNullable b, step)
                else
                    match num tok t with
                    | Some i -> Index i
                    | None -> bad tok)

    /// The specs with their Ellipsis (if any) replaced by the whole axes it stands for on a rank-`rank` array.
    let private expandEllipsis (specs: SliceSpec[]) (rank: int) : SliceSpec[] =
        match specs |> Array.filter ((=) Ellipsis) |> Array.length with
        | 0 -> specs
        | 1 ->
            let at = Array.IndexOf(specs, Ellipsis)
            let fill = max 0 (rank - (specs.Length - 1))
            Array.concat [ specs.[.. at - 1]; Array.create fill All; specs.[at + 1 ..] ]
        | _ -> invalidArg "specs" "slice: an index can only have a single ellipsis ('...')"

    /// Resolves specs against a shape: (flat offset, per-output-axis strides, output dims) for a strided gather.
    let resolve (specs: SliceSpec[]) (dims: int[]) : int * int[] * int[] =
        let specs = expandEllipsis specs dims.Length
        if specs.Length > dims.Length then
            raise (IndexOutOfRangeException(sprintf "slice: too many indices for array: array is %d-dimensional, but %d were indexed" dims.Length specs.Length))
        let st = Shape.strides dims
        let mutable offset = 0
        let outStrides = Collections.Generic.List<int>()
        let outDims = Collections.Generic.List<int>()
        for ax in 0 .. dims.Length - 1 do
            let d = dims.[ax]
            match (if ax < specs.Length then specs.[ax] else All) with
            | All ->
                outDims.Add d
                outStrides.Add st.[ax]
            | Ellipsis -> invalidOp "slice: Ellipsis left after expansion"
            | Index k ->
                let k' = if k < 0 then k + d else k
                if k' < 0 || k' >= d then
                    raise (IndexOutOfRangeException(sprintf "slice: index %d is out of bounds for axis %d with size %d" k ax d))
                offset <- offset + k' * st.[ax]
            | Range(start, stop, step) ->
                if step = 0 then invalidArg "specs" (sprintf "slice: slice step cannot be zero (axis %d)" ax)
                let lower, upper = if step > 0 then 0, d else -1, d - 1
                let clampIdx (v: Nullable<int>) (dflt: int) =
                    if not v.HasValue then dflt
                    elif v.Value < 0 then max (v.Value + d) lower
                    else min v.Value upper
                let b = clampIdx start (if step > 0 then lower else upper)
                let e = clampIdx stop (if step > 0 then upper else lower)
                let count =
                    if step > 0 then (if e > b then (e - b + step - 1) / step else 0)
                    else (if b > e then (b - e - step - 1) / (-step) else 0)
                if count > 0 then offset <- offset + b * st.[ax]
                outDims.Add count
                outStrides.Add(st.[ax] * step)
        offset, outStrides.ToArray(), outDims.ToArray()

/// Shape-manipulating differentiable ops: reshape, permute, broadcast, slice, mask, concatenate.
module internal StructureOps =
    open OpHelpers

    /// View with a new (resolved) shape of equal size; gradient reshaped back.
    let reshape (shape: int[]) =
        mk "reshape" (fun i -> i.[0].WithShape(Array.copy shape)) (fun i _ g -> [| g.WithShape(i.[0].Dims) |])

    /// Axis permutation out.shape[k] = x.shape[perm[k]]; gradient permuted by the inverse.
    let permute (perm: int[]) =
        let inv = Array.zeroCreate perm.Length
        perm |> Array.iteri (fun k p -> inv.[p] <- k)
        mk "transpose" (fun i -> Strided.permute i.[0] perm) (fun _ _ g -> [| Strided.permute g inv |])

    /// broadcast_to(shape); gradient summed back to the input shape.
    let broadcastTo (shape: int[]) =
        mk "broadcast_to" (fun i -> Strided.broadcastTo i.[0] shape) (fun i _ g -> [| unbroadcast g i.[0].Dims |])

    /// Strided slice (offset, strides, dims from SliceSpec.resolve); gradient scattered into zeros.
    let slice (offset: int) (strides: int[]) (dims: int[]) =
        mk "slice" (fun i -> Strided.gather i.[0] offset strides dims) (fun i _ g -> [| Strided.scatter g i.[0].Dims offset strides |])

    /// Rows along axis 0 where mask; gradient scattered back into zeros.
    let mask (m: bool[]) =
        mk "mask" (fun i -> Strided.maskRows i.[0] m) (fun i _ g -> [| Strided.unmaskRows g m i.[0].Dims |])

    /// Concatenation along a normalised axis; each input's gradient is its slice of g.
    let concat (axis: int) =
        mk "concatenate" (fun i -> Strided.concat i axis)
            (fun i _ g ->
                let st = Shape.strides g.Dims
                let mutable start = 0
                [| for x in i do
                       let dims = x.Dims
                       yield Strided.gather g (start * st.[axis]) st dims
                       start <- start + dims.[axis] |])
