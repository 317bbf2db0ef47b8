module ActorTrainer.Core.Tests.LargeArraysTests

open System
open System.IO
open System.Runtime.InteropServices
open Xunit
open ActorTrainer.Kernels

/// The VmFlags of the mapping in /proc/self/smaps that holds `address`.
let private vmFlagsAt (address: uint64) =
    let mutable inside = false
    let mutable flags = None
    for line in File.ReadLines "/proc/self/smaps" do
        let head = line.Split(' ').[0]
        if head.Contains '-' && not (head.EndsWith ':') then
            let range = head.Split '-'
            let lo, hi = Convert.ToUInt64(range.[0], 16), Convert.ToUInt64(range.[1], 16)
            inside <- lo <= address && address < hi
        elif inside && line.StartsWith "VmFlags:" then
            flags <- Some(line.Substring 8)
    flags

[<Fact>]
let ``a large array is pinned, writable, and on Linux advised to use huge pages`` () =
    let n = int (LargeArrays.HugePageThreshold / 4L) + 3 * (1 <<< 19)   // 22 MB of float32
    let a = LargeArrays.AllocateUninitialized<float32> n
    Assert.Equal(n, a.Length)
    for i in 0 .. 4096 .. n - 1 do a.[i] <- float32 i
    a.[n - 1] <- 7.0f
    Assert.Equal(4096.0f, a.[4096])
    Assert.Equal(7.0f, a.[n - 1])
    // Pinned: the address of an element stays where it was across a compacting collection.
    let before = Marshal.UnsafeAddrOfPinnedArrayElement(a, n / 2)
    GC.Collect(2, GCCollectionMode.Forced, true, true)
    Assert.Equal(before, Marshal.UnsafeAddrOfPinnedArrayElement(a, n / 2))
    if OperatingSystem.IsLinux() && File.Exists "/sys/kernel/mm/transparent_hugepage/enabled" then
        // The middle of the array lies in a whole 2 MB page, inside the advised range ("hg": MADV_HUGEPAGE; a kernel
        // built without transparent huge pages has no such file and refuses the advice).
        match vmFlagsAt (uint64 before) with
        | Some flags -> Assert.Contains(" hg", flags)
        | None -> Assert.Fail "the array's address is in no mapping of /proc/self/smaps"

[<Fact>]
let ``a small array is an ordinary array`` () =
    let a = LargeArrays.AllocateUninitialized<byte> 1000
    Assert.Equal(1000, a.Length)
    Assert.Equal(0, LargeArrays.AllocateUninitialized<int>(0).Length)
    Assert.Throws<ArgumentOutOfRangeException>(Action(fun () -> LargeArrays.AllocateUninitialized<int>(-1) |> ignore)) |> ignore
