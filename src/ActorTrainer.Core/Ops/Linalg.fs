namespace ActorTrainer.Core

/// Matrix products with derivatives via the transposed-operand GEMM forms (no materialised transposes).
module internal LinalgOps =
    open OpHelpers

    /// Batched matmul of rank ≥ 2 operands (batch dims broadcast): C = A·B;
    /// dA = g·Bᵀ (transB), dB = Aᵀ·g (transA), each summed over broadcast batch dims.
    /// Only the needed gradients are computed (x·W with x not watched skips dx = g·Wᵀ).
    let matmul =
        mkSel "matmul" (fun i -> Backend.matmul "matmul" false false i.[0] i.[1])
            (fun i _ g needed ->
                let a, b = i.[0], i.[1]
                [| (if needed.[0] then unbroadcast (Backend.matmul "matmul" false true g b) a.Dims else null)
                   (if needed.[1] then unbroadcast (Backend.matmul "matmul" true false a g) b.Dims else null) |])
