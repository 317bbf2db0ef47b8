namespace ActorTrainer.Core.FSharp

open ActorTrainer.Core

/// Functional autodiff (JAX-style) on top of GradientTape, curried for F# (`Autodiff.grad f x`); C# calls the
/// ActorTrainer.Core.Autodiff members (`Autodiff.Grad(f, x)`).
module Autodiff =
    /// (f(x), d(Σ f(x))/dx): the gradient has the shape and dtype of x.
    let valueAndGrad (f: Tensor -> Tensor) (x: Tensor) : Tensor * Tensor =
        use tape = new GradientTape()
        tape.Watch x
        let y = f x
        y, tape.Gradient(y, x)

    /// d(Σ f(x))/dx (shape and dtype of x).
    let grad (f: Tensor -> Tensor) (x: Tensor) : Tensor = snd (valueAndGrad f x)

    /// f(xs) and d(Σ f(xs))/dxᵢ for every input (one gradient per xs[i], same shape).
    let valueAndGradN (f: Tensor[] -> Tensor) (xs: Tensor[]) : Tensor * Tensor[] =
        use tape = new GradientTape()
        for x in xs do tape.Watch x
        let y = f xs
        y, tape.Gradient(y, xs)

    /// d(Σ f(xs))/dxᵢ for every input (one gradient per xs[i], same shape).
    let gradN (f: Tensor[] -> Tensor) (xs: Tensor[]) : Tensor[] = snd (valueAndGradN f xs)

namespace ActorTrainer.Core

open System

/// Functional autodiff (JAX-style) on top of GradientTape: `Autodiff.Grad(t => (t * t).Sum(), x)`. F# code calls the
/// curried `Autodiff.grad f x` of ActorTrainer.Core.FSharp.
module Autodiff =
    /// d(Σ f(x))/dx (shape and dtype of x), e.g. `Autodiff.Grad(t => (t * t).Sum(), x)`.
    let Grad (f: Func<Tensor, Tensor>, x: Tensor) : Tensor =
        if isNull f then raise (ArgumentNullException("f"))
        ActorTrainer.Core.FSharp.Autodiff.grad f.Invoke x

    /// (f(x), d(Σ f(x))/dx) as a value tuple (gradient: shape and dtype of x): `var (y, g) = Autodiff.ValueAndGrad(f, x)`.
    let ValueAndGrad (f: Func<Tensor, Tensor>, x: Tensor) : struct (Tensor * Tensor) =
        if isNull f then raise (ArgumentNullException("f"))
        let y, g = ActorTrainer.Core.FSharp.Autodiff.valueAndGrad f.Invoke x
        struct (y, g)

    /// d(Σ f(xs))/dxᵢ for every input (one gradient per xs[i], same shape).
    let GradN (f: Func<Tensor[], Tensor>, xs: Tensor[]) : Tensor[] =
        if isNull f then raise (ArgumentNullException("f"))
        ActorTrainer.Core.FSharp.Autodiff.gradN f.Invoke xs

    /// (f(xs), d(Σ f(xs))/dxᵢ for every input) as a value tuple (one gradient per xs[i], same shape).
    let ValueAndGradN (f: Func<Tensor[], Tensor>, xs: Tensor[]) : struct (Tensor * Tensor[]) =
        if isNull f then raise (ArgumentNullException("f"))
        let y, gs = ActorTrainer.Core.FSharp.Autodiff.valueAndGradN f.Invoke xs
        struct (y, gs)
