module ActorTrainer.Core.Tests.LargeArraysTests

// LargeArrays: large arrays advised as transparent huge pages on Linux (their memory's VmFlags in /proc/self/smaps
// gain "hg", MADV_HUGEPAGE), the switch, and its spellings.

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

[<Fact>]
let ``a large array is advised as huge pages on Linux unless switched off`` () =
    let big = LargeArrays.Allocate<float32>(8 <<< 20)       // 32 MiB
    Assert.Equal(8 <<< 20, big.Length)
    big.[big.Length - 1] <- 3f
    Assert.Equal(3f, big.[big.Length - 1])
    Assert.Empty(LargeArrays.Allocate<byte> 0)
    if OperatingSystem.IsLinux() && Directory.Exists "/sys/kernel/mm/transparent_hugepage" then
        Assert.True(LargeArrays.Advises)
        let flags = (vmFlagsAt (middle big)).Value
        Assert.Contains(" hg", flags)
        // (whether an array allocated while it is off lies on advised memory depends on what the GC reused)
        let before = KernelSettings.HugePages
        KernelSettings.HugePages <- false
        try Assert.False(LargeArrays.Advises)
        finally KernelSettings.HugePages <- before
    GC.KeepAlive big

[<Fact>]
let ``the huge-pages switch reads the usual spellings and names a bad value`` () =
    Assert.False(KernelSettings.ParseSwitch(KernelSettings.HugePagesVariable, "off", true))
    Assert.True(KernelSettings.ParseSwitch(KernelSettings.HugePagesVariable, null, true))
    let e = Assert.Throws<KernelSettingException>(fun () -> KernelSettings.ParseSwitch(KernelSettings.HugePagesVariable, "maybe", true) |> ignore)
    Assert.Contains("ACTORTRAINER_HUGE_PAGES = 'maybe'", e.Message)
