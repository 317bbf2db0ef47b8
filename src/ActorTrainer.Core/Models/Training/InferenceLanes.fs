namespace ActorTrainer.Core

open System

/// The engines of chunked inference passes (evaluation, prediction): chunk c covers rows [c·MaxRows, (c+1)·MaxRows).
/// With T ≥ 2 kernel threads (KernelSettings.MaxDegreeOfParallelism on the calling thread) and at least two chunks,
/// min(T, chunks, 64) lanes each take a contiguous run of chunks on their own engine with single-threaded kernels (the
/// work between the GEMMs runs in parallel too); otherwise one engine runs the chunks in turn with multi-threaded
/// GEMMs. A caller's chunk result must not depend on the engine that computes it (k-only blocking makes that so for
/// every inference pass). Each engine keeps buffers for MaxRows rows; one Run at a time.
[<Sealed>]
type internal InferenceLanes(plan: ModelPlan, maxRows: int) =
    let engine = lazy (GradientEngine(plan, maxRows))      // the one engine in turn: made only when a Run needs it
    let lanes = ResizeArray<GradientEngine>()
    let mutable pass = struct (0, (null: Action<GradientEngine, int>))   // chunks and work of the Run in progress

    /// Largest number of rows per chunk.
    member _.MaxRows = maxRows

    /// The rows of chunk c of `total` rows.
    member _.ChunkRows(total: int, c: int) = min maxRows (total - c * maxRows)

    /// Calls work(engine, c) once for every chunk c of `total` rows, on the lanes or in turn.
    member l.Run(total: int, work: Action<GradientEngine, int>) =
        let chunks = (total + maxRows - 1) / maxRows
        let width = min chunks (min ActorTrainer.Kernels.KernelSettings.MaxDegreeOfParallelism 64)
        if width < 2 then
            for c in 0 .. chunks - 1 do work.Invoke(engine.Value, c)
        else
            while lanes.Count < width do lanes.Add(GradientEngine(plan, maxRows, MaxDegreeOfParallelism = 1))
            pass <- struct (chunks, work)
            try ActorTrainer.Kernels.KernelThreads.Run(l, width)
            finally pass <- struct (0, null)

    interface ActorTrainer.Kernels.IPartitionedWork with
        member _.Run(part, parts) =
            let struct (chunks, work) = pass
            let c0 = int (int64 chunks * int64 part / int64 parts)
            let c1 = int (int64 chunks * int64 (part + 1) / int64 parts)
            for c in c0 .. c1 - 1 do work.Invoke(lanes.[part], c)
