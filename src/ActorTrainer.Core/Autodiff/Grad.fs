namespace ActorTrainer.Core

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
