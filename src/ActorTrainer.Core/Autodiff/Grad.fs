namespace ActorTrainer.Core

open System

/// Functional autodiff (JAX-style) on top of GradientTape.
module Autodiff =
    /// d(Σ f(x))/dx (shape and dtype of x).
    let valueAndGrad (f: Tensor -> Tensor) (x: Tensor) : Tensor * Tensor =
        use tape = new GradientTape()
        tape.Watch x
        let y = f x
        y, tape.Gradient(y, x)

    /// d(Σ f(x))/dx.
    let grad (f: Tensor -> Tensor) (x: Tensor) : Tensor = snd (valueAndGrad f x)

    /// f(xs) and d(Σ f(xs))/dxᵢ for every input.
    let valueAndGradN (f: Tensor[] -> Tensor) (xs: Tensor[]) : Tensor * Tensor[] =
        use tape = new GradientTape()
        for x in xs do tape.Watch x
        let y = f xs
        y, tape.Gradient(y, xs)

    /// d(Σ f(xs))/dxᵢ for every input.
    let gradN (f: Tensor[] -> Tensor) (xs: Tensor[]) : Tensor[] = snd (valueAndGradN f xs)

    /// C#: d(Σ f(x))/dx (shape and dtype of x), e.g. `Autodiff.Grad(t => (t * t).Sum(), x)`.
    let Grad (f: Func<Tensor, Tensor>, x: Tensor) : Tensor =
        if isNull f then raise (ArgumentNullException("f"))
        grad f.Invoke x

    /// C#: (f(x), d(Σ f(x))/dx) as a value tuple: `var (y, g) = Autodiff.ValueAndGrad(f, x)`.
    let ValueAndGrad (f: Func<Tensor, Tensor>, x: Tensor) : struct (Tensor * Tensor) =
        if isNull f then raise (ArgumentNullException("f"))
        let y, g = valueAndGrad f.Invoke x
        struct (y, g)

    /// C#: d(Σ f(xs))/dxᵢ for every input (one gradient per xs[i], same shape).
    let GradN (f: Func<Tensor[], Tensor>, xs: Tensor[]) : Tensor[] =
        if isNull f then raise (ArgumentNullException("f"))
        gradN f.Invoke xs

    /// C#: (f(xs), d(Σ f(xs))/dxᵢ for every input) as a value tuple.
    let ValueAndGradN (f: Func<Tensor[], Tensor>, xs: Tensor[]) : struct (Tensor * Tensor[]) =
        if isNull f then raise (ArgumentNullException("f"))
        let y, gs = valueAndGradN f.Invoke xs
        struct (y, gs)
