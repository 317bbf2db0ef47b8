/// Seeded byte-mutation fuzzing for file loaders: FsCheck generators produce mutation plans (bit flips, truncations,
/// insertions, deletions, absurd header numbers, absurd JSON numbers), each case runs under a watchdog with its
/// allocation measured, and only the exception types a loader may throw for bad input are allowed to escape. Every
/// failure names the target, seed, case number and mutation plan, so it can be replayed.
module ActorTrainer.Core.Tests.FuzzHarness

open System
open System.Text
open System.Text.RegularExpressions
open System.Threading.Tasks
open FsCheck
open FsCheck.FSharp

/// One edit of a byte string; positions are taken modulo the current length.
type Mutation =
    | Flip of pos: int * bit: int
    | Truncate of keep: int
    | Insert of pos: int * bytes: byte[]
    | Delete of pos: int * count: int
    /// Overwrites 4 bytes (big- or little-endian) with an absurd integer.
    | Absurd32 of pos: int * value: uint32 * bigEndian: bool
    /// Overwrites 8 bytes little-endian with an absurd integer.
    | Absurd64 of pos: int * value: uint64
    /// Replaces the n-th JSON number token (modulo their count) with an absurd number text.
    | JsonNumber of index: int * text: string
    /// Replaces the n-th JSON string token (modulo their count) with another JSON value.
    | JsonString of index: int * text: string

let private absurd32 = [| 0u; 1u; 0x7FFFFFFFu; 0x80000000u; 0xFFFFFFFFu; 0x10000000u; 60000u; 0x7FFFFFC7u; 255u |]
let private absurd64 =
    [| 0UL; 0xFFFFFFFFFFFFFFFFUL; 0x7FFFFFFFFFFFFFFFUL; 0x8000000000000000UL; 0x100000000UL; 0x80000000UL; 1UL <<< 40 |]
let private absurdNumbers =
    [| "-1"; "0"; "2147483647"; "2147483648"; "4294967296"; "9223372036854775807"; "99999999999999999999"; "1e400"
       "-1e400"; "0.5"; "1e-400"; "3000000000"; "2000000000"; "-2147483649"; "1.0000001" |]
let private absurdValues = [| "\"\""; "null"; "123"; "[]"; "{}"; "true"; "\"relu\""; "\"x\""; "[null]"; "\"\\u0000\"" |]

/// A mutation for an input of `len` bytes; `headerLen` bytes at the start get most absurd-number overwrites.
let mutationGen (len: int) (headerLen: int) (json: bool) : Gen<Mutation> =
    let pos = Gen.choose (0, max 0 (len - 1))
    let headerPos = Gen.choose (0, max 0 (headerLen - 1))
    let pick (a: 'a[]) = Gen.elements a
    let binary =
        [ 4, Gen.map2 (fun p b -> Flip(p, b)) pos (Gen.choose (0, 7))
          1, Gen.map Truncate (Gen.choose (0, max 0 (len - 1)))
          1, Gen.map2 (fun p (bs: byte[]) -> Insert(p, bs)) pos (Gen.arrayOfLength 3 (Gen.map byte (Gen.choose (0, 255))))
          1, Gen.map2 (fun p n -> Delete(p, n)) pos (Gen.choose (1, 16))
          3, Gen.map3 (fun p v be -> Absurd32(p, v, be)) headerPos (pick absurd32) (Gen.elements [ true; false ])
          1, Gen.map2 (fun p v -> Absurd64(p, v)) headerPos (pick absurd64) ]
    let text =
        [ 4, Gen.map2 (fun i t -> JsonNumber(i, t)) (Gen.choose (0, 1000)) (pick absurdNumbers)
          2, Gen.map2 (fun i t -> JsonString(i, t)) (Gen.choose (0, 1000)) (pick absurdValues) ]
    Gen.frequency (if json then binary @ text else binary)

/// One to four mutations.
let planGen (len: int) (headerLen: int) (json: bool) : Gen<Mutation list> =
    Gen.choose (1, 4) |> Gen.bind (fun k -> Gen.listOfLength k (mutationGen len headerLen json))

/// Replaces the index-th (modulo count) match of `pattern` that `keep` accepts; matches are scanned left to right.
let private replaceToken (pattern: string) (keep: string -> Match -> bool) (bytes: byte[]) (index: int) (text: string) =
    let s = Encoding.UTF8.GetString bytes
    let ms = Regex.Matches(s, pattern) |> Seq.filter (keep s) |> Array.ofSeq
    if ms.Length = 0 then bytes
    else
        let m = ms.[index % ms.Length]
        Encoding.UTF8.GetBytes(s.Substring(0, m.Index) + text + s.Substring(m.Index + m.Length))

/// Applies one mutation.
let apply (bytes: byte[]) (m: Mutation) : byte[] =
    let n = bytes.Length
    let at p = if n = 0 then 0 else p % n
    match m with
    | Flip(p, b) -> if n = 0 then bytes else (let c = Array.copy bytes in c.[at p] <- c.[at p] ^^^ (1uy <<< b); c)
    | Truncate k -> Array.sub bytes 0 (min k n)
    | Insert(p, bs) -> Array.concat [ bytes.[.. at p - 1]; bs; bytes.[at p ..] ]
    | Delete(p, k) -> if n = 0 then bytes else Array.append bytes.[.. at p - 1] bytes.[min n (at p + k) ..]
    | Absurd32(p, v, be) ->
        if n < 4 then bytes
        else
            let c = Array.copy bytes
            let o = min (at p) (n - 4)
            if be then Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(Span(c, o, 4), v)
            else Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(Span(c, o, 4), v)
            c
    | Absurd64(p, v) ->
        if n < 8 then bytes
        else
            let c = Array.copy bytes
            Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(Span(c, min (at p) (n - 8), 8), v)
            c
    | JsonNumber(i, t) -> replaceToken "\"(?:[^\"\\\\]|\\\\.)*\"|-?\\d+(\\.\\d+)?([eE][+-]?\\d+)?" (fun _ m -> m.Value.[0] <> '"') bytes i t
    | JsonString(i, t) -> replaceToken "\"(?:[^\"\\\\]|\\\\.)*\"" (fun s m -> not (Regex.IsMatch(s.Substring(m.Index + m.Length), "^\\s*:"))) bytes i t

/// Applies a plan in order.
let applyAll (bytes: byte[]) (plan: Mutation list) = plan |> List.fold apply bytes

/// Seed for a target: ACTORTRAINER_FUZZ_SEED when set (to replay or explore), else the fixed default.
let seedFor (dflt: uint64) =
    match Environment.GetEnvironmentVariable "ACTORTRAINER_FUZZ_SEED" with
    | null | "" -> dflt
    | s -> UInt64.Parse s

/// Number of cases: ACTORTRAINER_FUZZ_CASES when set, else the default (CI keeps the suite well under 2 minutes).
let casesFor (dflt: int) =
    match Environment.GetEnvironmentVariable "ACTORTRAINER_FUZZ_CASES" with
    | null | "" -> dflt
    | s -> Int32.Parse s

/// `count` mutation plans drawn from `gen` with a fixed seed (the same seed gives the same plans).
let plans (seed: uint64) (count: int) (gen: Gen<Mutation list>) : Mutation list[] =
    let ps = Gen.sampleWithSeed (Rnd seed) 30 count gen
    if ps.Length <> count then failwithf "FsCheck sample gave %d plans, expected %d" ps.Length count
    ps

/// Runs every plan against `run` (which gets the mutated bytes): each case must finish within `timeout`, allocate at
/// most `maxAlloc` bytes on its thread, and throw nothing or an exception `allowed` accepts. Fails with the target,
/// seed, case and plan of the first violation.
let check (target: string) (seed: uint64) (input: byte[]) (plans: Mutation list[]) (maxAlloc: int64)
          (allowed: exn -> bool) (run: byte[] -> unit) =
    let timeout = TimeSpan.FromSeconds 10.0
    for i in 0 .. plans.Length - 1 do
        let plan = plans.[i]
        let bytes = applyAll input plan
        let describe what = sprintf "fuzz %s: seed %d case %d plan %A (%d bytes): %s" target seed i plan bytes.Length what
        // A thread of its own (LongRunning), not a thread-pool one: when parallel tests keep the pool busy, a queued
        // case could wait past the timeout and be reported as a hang.
        let task =
            Task.Factory.StartNew((fun () ->
                let before = GC.GetAllocatedBytesForCurrentThread()
                let outcome = try run bytes; None with e -> Some e
                outcome, GC.GetAllocatedBytesForCurrentThread() - before), TaskCreationOptions.LongRunning)
        if not (task.Wait timeout) then failwith (describe (sprintf "no result within %O (hang)" timeout))
        let outcome, allocated = task.Result
        match outcome with
        | Some e when not (allowed e) -> failwith (describe (sprintf "escaped %s: %s\n%s" (e.GetType().FullName) e.Message e.StackTrace))
        | _ -> ()
        if allocated > maxAlloc then failwith (describe (sprintf "allocated %d bytes (cap %d)" allocated maxAlloc))
