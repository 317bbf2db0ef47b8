module ActorTrainer.Core.Tests.TailCallTests

// The F# assemblies are compiled without `.tail` call prefixes (Directory.Build.props, Tailcalls=false): a prefixed
// call whose arguments do not fit in the caller's argument area goes through the runtime's tail-call helpers, which
// park the arguments in a per-thread buffer where a garbage collection could move an array under a span argument
// without updating it (the callee then read garbage; bench/RESULTS.md, 2026-12-04). This reads every method body's IL.

open System
open System.Reflection
open System.Reflection.Emit
open Xunit
open ActorTrainer.Core

/// Every IL opcode by its value (one byte, or 0xFE then one byte).
let private opcodes =
    typeof<OpCodes>.GetFields(BindingFlags.Public ||| BindingFlags.Static)
    |> Array.map (fun f -> f.GetValue null :?> OpCode)
    |> Array.map (fun o -> int (uint16 o.Value), o)
    |> dict

/// Bytes of an operand that follows an opcode (the switch table's length read from the IL itself).
let private operandBytes (o: OpCode) (il: byte[]) (at: int) =
    match o.OperandType with
    | OperandType.InlineNone -> 0
    | OperandType.ShortInlineBrTarget | OperandType.ShortInlineI | OperandType.ShortInlineVar -> 1
    | OperandType.InlineVar -> 2
    | OperandType.InlineI8 | OperandType.InlineR -> 8
    | OperandType.InlineSwitch -> 4 + 4 * BitConverter.ToInt32(il, at)
    | _ -> 4

/// How many `tail.` prefixes a method body holds.
let private tailPrefixes (il: byte[]) =
    let mutable i, n = 0, 0
    while i < il.Length do
        let code = if il.[i] = 0xFEuy then 0xFE00 ||| int il.[i + 1] else int il.[i]
        let o = opcodes.[code]
        i <- i + o.Size
        if o = OpCodes.Tailcall then n <- n + 1
        i <- i + operandBytes o il i
    n

/// "Type.Method (count)" for each method of the assembly whose body holds tail. prefixes.
let private tailCallers (asm: Assembly) =
    let flags = BindingFlags.Public ||| BindingFlags.NonPublic ||| BindingFlags.Instance ||| BindingFlags.Static ||| BindingFlags.DeclaredOnly
    [ for t in asm.GetTypes() do
        let methods = Seq.append (t.GetMethods flags |> Seq.cast<MethodBase>) (t.GetConstructors flags |> Seq.cast<MethodBase>)
        for m in methods do
            match m.GetMethodBody() with
            | null -> ()
            | body ->
                let n = tailPrefixes (body.GetILAsByteArray())
                if n > 0 then yield sprintf "%s.%s (%d)" t.FullName m.Name n ]

[<Fact>]
let ``the IL walker finds tail prefixes where F# emits them`` () =
    // FSharp.Core is compiled with tail calls on: the walker must see some there, or the checks below prove nothing
    Assert.NotEmpty(tailCallers typeof<list<int>>.Assembly)

[<Fact>]
let ``the library and its tests carry no tail call prefixes`` () =
    for asm in [ typeof<Tensor>.Assembly; Assembly.GetExecutingAssembly() ] do
        let found = tailCallers asm
        Assert.True(List.isEmpty found, sprintf "%s has tail. prefixes (Tailcalls=false lost?): %s" (asm.GetName().Name) (String.Join(", ", found |> List.truncate 10)))
