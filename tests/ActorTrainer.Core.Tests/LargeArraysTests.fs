module ActorTrainer.Core.Tests.LargeArraysTests

// LargeArrays: large arrays prefaulted on Linux (mincore: every page resident before the first write), or advised as
// transparent huge pages when switched on (their memory's VmFlags in /proc/self/smaps gain "hg", MADV_HUGEPAGE), the
// switches, and their spellings.

open System
open System.IO
open System.Runtime.InteropServices
open Xunit
open ActorTrainer.Kernels

/// The VmFlags of the mapping holding address `p` (from /proc/self/smaps), or None.
let private vmFlagsAt (p: int64) =
    let header = Text.RegularExpressions.Regex "^([0-9a-f]+)-([0-9a-f]+) "
    let hex (s: string) = Int64.Parse(s, Globalization.NumberStyles.HexNumber)
    let mutable inside = false
    let mutable flags = None
    for line in File.ReadLines "/proc/self/smaps" do
        let m = header.Match line
        if m.Success then inside <- hex m.Groups.[1].Value <= p && p < hex m.Groups.[2].Value
        elif inside && line.StartsWith "VmFlags:" then flags <- Some(line.Substring 8)
    flags

let private middle (a: 'T[]) =
    let h = GCHandle.Alloc(a, GCHandleType.Pinned)
    try int64 (h.AddrOfPinnedObject()) + int64 (Buffer.ByteLength a / 2) finally h.Free()

[<DllImport("libc", SetLastError = true)>]
extern int mincore(nativeint addr, unativeint length, byte[] vec)

/// How many of the whole 4 KiB pages inside `a` are resident (mincore), and how many there are.
let private residentPages (a: 'T[]) =
    let h = GCHandle.Alloc(a, GCHandleType.Pinned)
    try
        let start = int64 (h.AddrOfPinnedObject())
        let from, until = (start + 4095L) &&& ~~~4095L, (start + int64 (Buffer.ByteLength a)) &&& ~~~4095L
        let vec = Array.zeroCreate<byte> (int ((until - from) / 4096L))
        Assert.Equal(0, mincore(nativeint from, unativeint (until - from), vec))
        (vec |> Array.sumBy (fun b -> int (b &&& 1uy))), vec.Length
    finally h.Free()

/// Runs `f` with the two switches set, restoring them after.
let private withSwitches (prefault: bool) (hugePages: bool) f =
    let p, h = KernelSettings.Prefault, KernelSettings.HugePages
    KernelSettings.Prefault <- prefault
    KernelSettings.HugePages <- hugePages
    try f () finally KernelSettings.Prefault <- p; KernelSettings.HugePages <- h

let private linuxWithMadvise () = OperatingSystem.IsLinux() && Directory.Exists "/sys/kernel/mm/transparent_hugepage"

[<Fact>]
let ``a large array's pages are resident before its first write (prefault, the default)`` () =
    // the defaults, unless the environment sets them
    if isNull (Environment.GetEnvironmentVariable KernelSettings.PrefaultVariable) then Assert.True(KernelSettings.Prefault)
    if isNull (Environment.GetEnvironmentVariable KernelSettings.HugePagesVariable) then Assert.False(KernelSettings.HugePages)
    withSwitches true false (fun () ->
        let big = LargeArrays.Allocate<float32>(12 <<< 20)        // 48 MiB, not written
        Assert.Equal(12 <<< 20, big.Length)
        if linuxWithMadvise () then
            Assert.True(LargeArrays.Prefaults)
            let resident, pages = residentPages big
            Assert.True((resident = pages), sprintf "%d of the array's %d pages resident after Allocate" resident pages)
            // (no check that its memory lacks the huge-page advice: the other test's advised memory may have been reused)
        big.[big.Length - 1] <- 3f
        Assert.Equal(3f, big.[big.Length - 1])
        Assert.Empty(LargeArrays.Allocate<byte> 0)
        GC.KeepAlive big)

[<Fact>]
let ``a large array is advised as huge pages on Linux when switched on`` () =
    withSwitches false true (fun () ->
        let big = LargeArrays.Allocate<float32>(8 <<< 20)       // 32 MiB
        Assert.Equal(8 <<< 20, big.Length)
        big.[big.Length - 1] <- 3f
        Assert.Equal(3f, big.[big.Length - 1])
        if linuxWithMadvise () then
            Assert.True(LargeArrays.Advises)
            Assert.False(LargeArrays.Prefaults)
            Assert.Contains(" hg", (vmFlagsAt (middle big)).Value)
            // (whether an array allocated while it is off lies on advised memory depends on what the GC reused)
        KernelSettings.HugePages <- false
        Assert.False(LargeArrays.Advises)
        GC.KeepAlive big)

[<Fact>]
let ``the huge-pages and prefault switches read the usual spellings and name a bad value`` () =
    Assert.False(KernelSettings.ParseSwitch(KernelSettings.HugePagesVariable, "off", true))
    Assert.True(KernelSettings.ParseSwitch(KernelSettings.HugePagesVariable, null, true))
    let e = Assert.Throws<KernelSettingException>(fun () -> KernelSettings.ParseSwitch(KernelSettings.HugePagesVariable, "maybe", true) |> ignore)
    Assert.Contains("ACTORTRAINER_HUGE_PAGES = 'maybe'", e.Message)
    Assert.True(KernelSettings.ParseSwitch(KernelSettings.PrefaultVariable, null, true))
    let p = Assert.Throws<KernelSettingException>(fun () -> KernelSettings.ParseSwitch(KernelSettings.PrefaultVariable, "sometimes", true) |> ignore)
    Assert.Contains("ACTORTRAINER_PREFAULT = 'sometimes'", p.Message)
