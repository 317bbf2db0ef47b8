namespace ActorTrainer.Core

/// Matrix products with derivatives via the transposed-operand GEMM forms (no materialised transposes).
module internal LinalgOps =
    open OpHelpers

    /// Batched matmul of rank ≥ 2 operands (batch dims broadcast): C = A·B;
    /// dA = g·Bᵀ (transB), dB = Aᵀ·g (transA), each summed over broadcast batch dims.
    let matmul =
        mk "matmul" (fun i -> Backend.matmul "matmul" false false i.[0] i.[1])
            (fun i _ g ->
                let a, b = i.[0], i.[1]
                [| unbroadcast (Backend.matmul "matmul" false true g b) a.Dims
                   unbroadcast (Backend.matmul "matmul" true false a g) b.Dims |])
