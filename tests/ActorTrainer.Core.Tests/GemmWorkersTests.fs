module ActorTrainer.Core.Tests.GemmWorkersTests

open System
open System.Collections.Concurrent
open System.Threading
open Xunit
open ActorTrainer.Kernels

/// A job whose parts run `body part`.
let private job (body: int -> unit) =
    { new IParallelJob with
        member _.Run(part) = body part }

[<Fact>]
let ``jobs from two callers run at the same time, each with its own helper`` () =
    // Four parts (two per job) meet at one barrier: they can only all get there if both jobs run at once, each on
    // its caller and a helper. (When the pool took one job at a time, the second caller was turned away.)
    use barrier = new Barrier(4)
    let met = ConcurrentBag<int>()
    let results = Array.zeroCreate<bool> 2
    let failures = ConcurrentQueue<exn>()
    let caller i =
        Thread(fun () ->
            try
                let j = job (fun part ->
                    if not (barrier.SignalAndWait(TimeSpan.FromSeconds 30.0)) then
                        failwithf "job %d part %d: the other job's parts never ran at the same time" i part
                    met.Add Environment.CurrentManagedThreadId)
                results[i] <- GemmWorkers.TryRun(j, 2, 2)
            with e -> failures.Enqueue e)
    let threads = [| caller 0; caller 1 |]
    for t in threads do t.Start()
    for t in threads do Assert.True(t.Join(TimeSpan.FromSeconds 60.0), "a caller did not finish")
    Assert.Empty(failures)
    Assert.Equal<bool[]>([| true; true |], results)
    Assert.Equal(4, met |> Seq.distinct |> Seq.length)

[<Fact>]
let ``a job uses at most its thread share, and every part runs once`` () =
    // Grow the pool first, so that more helpers than the share are there to join.
    use wide = new Barrier(4)
    let warm = job (fun _ -> wide.SignalAndWait(TimeSpan.FromSeconds 30.0) |> ignore)
    Assert.True(GemmWorkers.TryRun(warm, 4, 4))
    for _ in 1 .. 20 do
        let runs = Array.zeroCreate<int> 16
        let threads = ConcurrentDictionary<int, bool>()
        let j = job (fun part ->
            Interlocked.Increment(&runs[part]) |> ignore
            threads[Environment.CurrentManagedThreadId] <- true
            Thread.SpinWait 20000)
        Assert.True(GemmWorkers.TryRun(j, 16, 2))
        Assert.All(runs, fun n -> Assert.Equal(1, n))
        Assert.InRange(threads.Count, 1, 2)

[<Fact>]
let ``a failing part is rethrown to its caller, and the pool keeps working`` () =
    let boom = job (fun part -> if part = 3 then invalidOp "part 3 failed")
    let e = Assert.Throws<InvalidOperationException>(Action(fun () -> GemmWorkers.TryRun(boom, 8, 2) |> ignore))
    Assert.Equal("part 3 failed", e.Message)
    let count = ref 0
    Assert.True(GemmWorkers.TryRun(job (fun _ -> Interlocked.Increment(&count.contents) |> ignore), 8, 2))
    Assert.Equal(8, count.Value)

[<Fact>]
let ``a kernel called from inside a part runs on that part's thread`` () =
    let inner = Array.create 4 true
    let j = job (fun part ->
        inner[part] <- GemmWorkers.TryRun(job ignore, 2, 2))
    Assert.True(GemmWorkers.TryRun(j, 4, 2))
    Assert.Equal<bool[]>(Array.create 4 false, inner)

[<Fact>]
let ``many concurrent callers start at most MaxHelpers helper threads`` () =
    let callers =
        [| for _ in 1 .. 12 ->
             Thread(fun () ->
                 for _ in 1 .. 20 do
                     GemmWorkers.TryRun(job (fun _ -> Thread.SpinWait 5000), 8, 8) |> ignore) |]
    for t in callers do t.Start()
    for t in callers do t.Join()
    Assert.InRange(GemmWorkers.HelperCount, 1, GemmWorkers.MaxHelpers)
    Assert.True(GemmWorkers.MaxHelpers < 12 * 7 || Environment.ProcessorCount >= 42)

[<Fact>]
let ``too small a job or a single thread is left to the caller`` () =
    Assert.False(GemmWorkers.TryRun(job ignore, 1, 4))
    Assert.False(GemmWorkers.TryRun(job ignore, 4, 1))
    Assert.False(GemmWorkers.TryRun(job ignore, GemmWorkers.MaxParts + 1, 4))

/// Whether the pool's first helper is idle (waiting for work, not reserved by a post): read by reflection, as the
/// pool does not expose it.
let private firstHelperIdle () =
    let flags = Reflection.BindingFlags.NonPublic
    let workers = typeof<IParallelJob>.Assembly.GetType("ActorTrainer.Kernels.GemmWorkers")
                      .GetField("s_workers", flags ||| Reflection.BindingFlags.Static).GetValue(null) :?> Array
    let first = workers.GetValue 0
    (first.GetType().GetField("_idle", flags ||| Reflection.BindingFlags.Instance).GetValue first :?> int) = 1

[<Fact>]
let ``posts go to the first idle helper, so helpers beyond the jobs' need stay parked`` () =
    // Grow the pool to at least three helpers, then run one job at a time (1 ms apart: every helper is idle): the first
    // helper should take them all. With posts round-robin over the pool, each helper took its turn and kept spinning
    // after it. Other tests' GEMMs may hold the first helper now and then, so the best of five rounds counts.
    use wide = new Barrier(4)
    Assert.True(GemmWorkers.TryRun(job (fun _ -> wide.SignalAndWait(TimeSpan.FromSeconds 30.0) |> ignore), 4, 4))
    Assert.True(GemmWorkers.HelperCount >= 3)
    let round () =
        let caller = Environment.CurrentManagedThreadId
        let names = ConcurrentBag<string>()
        for _ in 1 .. 50 do
            let helpers = ConcurrentDictionary<string, bool>()
            // two parts that wait for each other: a helper runs one of them (eight short parts were all done by the
            // caller before the woken helper got a core on a loaded machine: no helper seen, a share of 0)
            use pair = new Barrier(2)
            let j = job (fun _ ->
                if Environment.CurrentManagedThreadId <> caller then helpers[Thread.CurrentThread.Name] <- true
                pair.SignalAndWait(TimeSpan.FromSeconds 10.0) |> ignore)
            Assert.True(GemmWorkers.TryRun(j, 2, 2))
            for n in helpers.Keys do names.Add n
            Thread.Sleep 1
            // the first helper back from its last post (a loaded machine may not run it within the 1 ms): until it
            // is, it is rightly not idle and the next post goes to the second helper
            let until = DateTime.UtcNow.AddSeconds 2.0
            while not (firstHelperIdle ()) && DateTime.UtcNow < until do Thread.Sleep 1
        let all = names.ToArray()
        if all.Length = 0 then 0.0 else float (all |> Array.filter (fun n -> n = "ActorTrainer.Gemm.1") |> Array.length) / float all.Length
    let shares = [| for _ in 1 .. 5 -> round () |]
    Assert.True(Array.max shares >= 0.9, sprintf "share of the first helper per round: %A" shares)
