namespace ActorTrainer.Core

open System
open System.Security.Cryptography

/// Weights helpers shared by fit, checkpoints and the runtimes: weights are float32 arrays in plan order.
module Weights =
    /// SHA-256 (lower-case hex) of the float32 weights in order, little-endian — `weights_sha256` in summary.json.
    let sha256 (weights: float32[][]) =
        use h = IncrementalHash.CreateHash HashAlgorithmName.SHA256
        for w in weights do
            let bytes = Runtime.InteropServices.MemoryMarshal.AsBytes(ReadOnlySpan w)
            if BitConverter.IsLittleEndian then h.AppendData bytes
            else
                let copy = bytes.ToArray()
                for i in 0 .. 4 .. copy.Length - 4 do Array.Reverse(copy, i, 4)
                h.AppendData copy
        Convert.ToHexString(h.GetHashAndReset()).ToLowerInvariant()

    /// Deep copy.
    let copy (weights: float32[][]) = weights |> Array.map Array.copy

    /// A deep copy of `src` in the arrays of `into` (a copy made earlier, kept for reuse: no fresh memory, whose first
    /// touch costs a page fault per 4 KiB) where their counts and sizes match, in new arrays where not; returns it.
    let copyReusing (into: float32[][]) (src: float32[][]) : float32[][] =
        let into = if isNull into || into.Length <> src.Length then Array.zeroCreate src.Length else into
        for i in 0 .. src.Length - 1 do
            if isNull into.[i] || into.[i].Length <> src.[i].Length then into.[i] <- Array.zeroCreate src.[i].Length
            Array.Copy(src.[i], into.[i], src.[i].Length)
        into

    /// dest[i] ← src[i] for every array; throws ShapeException naming `what` when the counts or sizes differ.
    let checkedCopyInto (what: string) (src: float32[][]) (dest: float32[][]) =
        if isNull src || src.Length <> dest.Length then
            raise (ShapeException(sprintf "%s: the model has %d weight arrays but %d were given" what dest.Length (if isNull src then 0 else src.Length)))
        for i in 0 .. dest.Length - 1 do
            if isNull src.[i] || src.[i].Length <> dest.[i].Length then
                raise (ShapeException(sprintf "%s: weight %d has %d values but %d were given" what i dest.[i].Length (if isNull src.[i] then 0 else src.[i].Length)))
        for i in 0 .. dest.Length - 1 do Array.Copy(src.[i], dest.[i], dest.[i].Length)

/// Samples as flat float32 rows plus integer labels (sparse losses) or float targets (rows × outputs).
[<Sealed; AllowNullLiteral>]
type ArrayData(x: float32[], features: int, labels: int[], targets: float32[], count: int) =
    /// Samples, row-major (Count × Features).
    member _.X = x
    /// Values per sample.
    member _.Features = features
    /// Integer labels (sparse losses) or null.
    member _.Labels = labels
    /// Float targets (Count × outputs) or null.
    member _.Targets = targets
    /// Number of samples.
    member _.Count = count

    /// Rows [start, start+count) as a new ArrayData (copies).
    member d.Slice(start: int, n: int) =
        ArrayData(Array.sub x (start * features) (n * features), features,
                  (if isNull labels then null else Array.sub labels start n),
                  (if isNull targets then null else let w = targets.Length / max 1 count in Array.sub targets (start * w) (n * w)), n)

    /// Keras' validation_split: the first floor(Count·(1 − split)) samples train and the rest validate; this is that
    /// training count (0 or Count when a side would be empty, which Keras refuses).
    member _.ValidationSplitAt(split: float) = int (Math.Floor(float count * (1.0 - split)))

    /// Refuses a null x, features < 1 and an x that is not `count` rows of `features` values, naming `what`'s arguments.
    static member private CheckRows(what: string, x: float32[], features: int, count: int, ys: string, perSample: int) =
        if isNull x then raise (ArgumentNullException("x", sprintf "ArrayData.%s: x is null" what))
        if features < 1 then raise (ArgumentOutOfRangeException("features", features, sprintf "ArrayData.%s: features must be >= 1" what))
        if x.Length <> count * features then
            let rows = if x.Length % features = 0 then sprintf "%d samples × %d features" (x.Length / features) features
                       else sprintf "not a whole number of rows of %d features" features
            let per = if perSample = 1 then "" else sprintf " (%d per sample)" perSample
            raise (ArgumentException(sprintf "ArrayData.%s: x has %d values (%s) but %s has %d entries%s, i.e. %d samples"
                                             what x.Length rows ys (count * perSample) per count, "x"))

    /// Samples with integer labels (e.g. MNIST images and digits): x holds labels.Length rows of `features` values.
    /// Throws ArgumentException naming x and labels when their sample counts differ.
    static member OfLabels(x: float32[], features: int, labels: int[]) =
        if isNull labels then raise (ArgumentNullException("labels", "ArrayData.OfLabels: labels is null"))
        ArrayData.CheckRows("OfLabels", x, features, labels.Length, "labels", 1)
        ArrayData(x, features, labels, null, labels.Length)

    /// Samples with float targets (losses such as categorical_crossentropy or mse): targets holds N rows of `outputs`
    /// values (N × outputs, row-major) and x N rows of `features` values. Throws ArgumentException naming the array
    /// whose length does not fit.
    static member OfTargets(x: float32[], features: int, targets: float32[], outputs: int) =
        if isNull targets then raise (ArgumentNullException("targets", "ArrayData.OfTargets: targets is null"))
        if outputs < 1 then raise (ArgumentOutOfRangeException("outputs", outputs, "ArrayData.OfTargets: outputs must be >= 1"))
        if targets.Length % outputs <> 0 then
            raise (ArgumentException(sprintf "ArrayData.OfTargets: targets has %d values, not a whole number of rows of %d outputs" targets.Length outputs, "targets"))
        let n = targets.Length / outputs
        ArrayData.CheckRows("OfTargets", x, features, n, "targets", outputs)
        ArrayData(x, features, null, targets, n)
