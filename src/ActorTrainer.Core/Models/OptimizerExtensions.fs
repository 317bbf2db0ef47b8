namespace ActorTrainer.Core

open System
open System.Collections.Generic
open System.Runtime.CompilerServices

/// `optimizer.ApplyGradients(grads.Zip(vars))` for the low-level GradientTape path (Keras `apply_gradients`).
/// Variables get slot positions 0, 1, ... in the order first seen, so passing a model's TrainableVariables shares the
/// optimizer state with `fit` (which uses the same weight order).
[<Extension>]
type OptimizerExtensions =
    /// One optimizer step from (gradient, variable) value tuples, e.g. <c>optimizer.ApplyGradients(grads.Zip(variables))</c>:
    /// each variable is updated in float32 with Keras' rule and reassigned (gradient shape = variable shape).
    [<Extension>]
    static member ApplyGradients(o: Optimizer, gradsAndVars: seq<struct (Tensor * Variable)>) =
        if isNull (box gradsAndVars) then raise (ArgumentNullException("gradsAndVars"))
        OptimizerExtensions.Apply(o, gradsAndVars |> Seq.map (fun struct (g, v) -> g, v) |> Array.ofSeq)

    /// One optimizer step: <c>gradients[i]</c> applied to <c>variables[i]</c> (as <c>tape.Gradient(loss, variables)</c>
    /// returns them); ArgumentException when the counts differ.
    [<Extension>]
    static member ApplyGradients(o: Optimizer, gradients: Tensor[], variables: Variable[]) =
        if isNull gradients then raise (ArgumentNullException("gradients"))
        if isNull variables then raise (ArgumentNullException("variables"))
        if gradients.Length <> variables.Length then
            invalidArg "gradients" (sprintf "%s.apply_gradients: %d gradients given for %d variables" o.Name gradients.Length variables.Length)
        OptimizerExtensions.Apply(o, Array.zip gradients variables)

    static member private Apply(o: Optimizer, pairs: (Tensor * Variable)[]) =
        // every pair checked before anything (the step count too) changes
        for (g, v) in pairs do
            if g.Shape <> v.Shape then
                raise (ShapeException(sprintf "%s.apply_gradients: gradient shape %s does not match variable '%s' shape %s" o.Name (Shape.str g.Shape) v.Name (Shape.str v.Shape)))
            if v.Value.DType <> DType.Float32 then
                invalidArg "gradsAndVars" (sprintf "%s.apply_gradients: variable '%s' is %s; the optimizers update float32 variables (their state and update rules are float32)" o.Name v.Name (DType.name v.Value.DType))
        o.Iterations <- o.Iterations + 1L
        let lr = float32 o.LearningRate
        for (g, v) in pairs do
            let w = v.Value.ToFloat32Array()
            o.UpdateRange(OptimizerExtensions.IndexOf(o, v), w, g.ToFloat32Array(), 0, w.Length, lr, o.Iterations)
            v.Assign(Tensor.FromArray(w, v.Shape))

    static member val private Indices = ConditionalWeakTable<Optimizer, Dictionary<Variable, int>>()

    static member private IndexOf(o: Optimizer, v: Variable) =
        let d = OptimizerExtensions.Indices.GetValue(o, fun _ -> Dictionary<Variable, int>(HashIdentity.Reference))
        match d.TryGetValue v with
        | true, i -> i
        | _ -> let i = d.Count in d.[v] <- i; i

namespace ActorTrainer.Core.FSharp

open System
open ActorTrainer.Core

/// F# members of the optimizers: `optimizer.ApplyGradients(Seq.zip grads vars)` with F# tuples.
[<AutoOpen>]
module OptimizerFSharpExtensions =
    type Optimizer with
        /// One optimizer step from (gradient, variable) pairs: each variable is updated in float32 with Keras' rule
        /// and reassigned (gradient shape = variable shape).
        member o.ApplyGradients(gradsAndVars: seq<Tensor * Variable>) =
            if isNull (box gradsAndVars) then raise (ArgumentNullException("gradsAndVars"))
            OptimizerExtensions.ApplyGradients(o, gradsAndVars |> Seq.map (fun (g, v) -> struct (g, v)))
