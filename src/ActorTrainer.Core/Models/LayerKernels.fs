namespace ActorTrainer.Core

open System
open System.Numerics.Tensors
open ActorTrainer.Kernels

/// Dense layer span kernels on row-major float32 buffers: the one definition of Dense's forward and backward,
/// used by the training engine (GradientEngine) and by the GradientTape op (TapeOps.dense).
module internal DenseKernels =

    /// z = x·W (+ b on every row when b is non-empty); x (rows × inDim), W (inDim × units), b (units), z (rows × units).
    let forward (x: ReadOnlySpan<float32>) (w: ReadOnlySpan<float32>) (b: ReadOnlySpan<float32>) (z: Span<float32>)
                (rows: int) (inDim: int) (units: int) =
        GemmBackends.Default.Gemm(false, false, rows, units, inDim, 1.0f, x, inDim, w, units, 0.0f, z, units)
        if not b.IsEmpty then
            for r in 0 .. rows - 1 do
                let zr = z.Slice(r * units, units)
                TensorPrimitives.Add(SpanUtil.ro zr, b, zr)

    /// Given g = ∂L/∂z (rows × units): dW = xᵀ·g (inDim × units), db = Σ_rows g (units), dx = g·Wᵀ (rows × inDim);
    /// each is overwritten, and skipped when its span is empty.
    let backward (x: ReadOnlySpan<float32>) (g: ReadOnlySpan<float32>) (w: ReadOnlySpan<float32>)
                 (dW: Span<float32>) (db: Span<float32>) (dx: Span<float32>) (rows: int) (inDim: int) (units: int) =
        let gemm = GemmBackends.Default
        if not dW.IsEmpty then
            gemm.Gemm(true, false, inDim, units, rows, 1.0f, x, inDim, g, units, 0.0f, dW, units)
        if not db.IsEmpty then
            db.Clear()
            for r in 0 .. rows - 1 do
                TensorPrimitives.Add(SpanUtil.ro db, g.Slice(r * units, units), db)
        if not dx.IsEmpty then
            gemm.Gemm(false, true, rows, inDim, units, 1.0f, g, units, w, units, 0.0f, dx, inDim)

/// Inverted dropout's keyed mask: the one random source for dropout, shared by the engine and the tape's Dropout
/// layer, so both draw the same mask for the same (seed, layer, element) on any worker.
module DropoutKernels =

    /// The mask's stream key: mix64(seed ⊕ layer≪56) (also the GPU backend's dropout kernel's).
    let key (seed: int64) (layer: int) : uint64 = Rng.Mix64(uint64 seed ^^^ (uint64 layer <<< 56))

    /// mask[e] = 0 when u(e) < rate else 1/(1−rate), with u(e) = (mix64(key + e) ≫ 11)·2⁻⁵³ and
    /// key = mix64(seed ⊕ layer≪56); mask is the (rows × width) element block of plan layer `layer`.
    let mask (seed: int64) (layer: int) (rate: float) (mask: Span<float32>) =
        let scale = float32 (1.0 / (1.0 - rate))
        let key = key seed layer
        for e in 0 .. mask.Length - 1 do
            mask.[e] <- if Rng.Unit(key, uint64 e) < rate then 0.0f else scale

    /// y = x ⊙ mask (forward), and equally g ← g ⊙ mask (backward); x, mask, y of equal length, may alias.
    let apply (x: ReadOnlySpan<float32>) (mask: ReadOnlySpan<float32>) (y: Span<float32>) =
        TensorPrimitives.Multiply(x, mask, y)
