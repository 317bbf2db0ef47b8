namespace ActorTrainer.Core

open System
open ActorTrainer.Kernels

/// GEMM dispatch to `GemmBackends.Default` and batched matmul on raw arrays.
module internal Backend =
    let private gemm32 transA transB m n k (a: float32[]) aOff lda (b: float32[]) bOff ldb (c: float32[]) cOff ldc =
        GemmBackends.Default.Gemm(transA, transB, m, n, k, 1.0f,
                                  ReadOnlySpan<float32>(a, aOff, a.Length - aOff), lda,
                                  ReadOnlySpan<float32>(b, bOff, b.Length - bOff), ldb,
                                  0.0f, Span<float32>(c, cOff, c.Length - cOff), ldc)

    let private gemm64 transA transB m n k (a: float[]) aOff lda (b: float[]) bOff ldb (c: float[]) cOff ldc =
        GemmBackends.Default.Gemm(transA, transB, m, n, k, 1.0,
                                  ReadOnlySpan<float>(a, aOff, a.Length - aOff), lda,
                                  ReadOnlySpan<float>(b, bOff, b.Length - bOff), ldb,
                                  0.0, Span<float>(c, cOff, c.Length - cOff), ldc)

    /// Batched C[..., m, n] = op(A)[..., m, k] · op(B)[..., k, n]; both operands rank ≥ 2; batch dims broadcast.
    /// op(A) = A with its last two axes swapped when transA (likewise B). Error names the op and both shapes.
    let matmul (opName: string) (transA: bool) (transB: bool) (a: NDArray) (b: NDArray) : NDArray =
        if a.DType <> b.DType then
            invalidArg "b" (sprintf "%s: dtype mismatch between %s and %s (no implicit promotion; use AsType)" opName (DType.name a.DType) (DType.name b.DType))
        if not (DType.isFloat a.DType) then
            invalidArg "a" (sprintf "%s: unsupported dtype %s (float32 or float64 required)" opName (DType.name a.DType))
        let ad, bd = a.Dims, b.Dims
        let ra, rb = ad.Length, bd.Length
        if ra < 2 || rb < 2 then
            raise (ShapeException(sprintf "%s: operands must have rank >= 2, got shapes %s and %s" opName (Shape.str ad) (Shape.str bd)))
        let m, ka = if transA then ad.[ra - 1], ad.[ra - 2] else ad.[ra - 2], ad.[ra - 1]
        let kb, n = if transB then bd.[rb - 1], bd.[rb - 2] else bd.[rb - 2], bd.[rb - 1]
        if ka <> kb then
            let dimA = if transA then ra - 2 else ra - 1
            let dimB = if transB then rb - 1 else rb - 2
            raise (ShapeException(sprintf "%s: shapes %s and %s not aligned: %d (dim %d) != %d (dim %d)" opName (Shape.str ad) (Shape.str bd) ka dimA kb dimB))
        let k = ka
        let batchA = ad.[.. ra - 3]
        let batchB = bd.[.. rb - 3]
        let batch = Shape.broadcast opName batchA batchB
        let outDims = Array.append batch [| m; n |]
        let nb = Shape.size batch
        let sA = Shape.broadcastStrides batchA batch
        let sB = Shape.broadcastStrides batchB batch
        let matA, matB, matC = ad.[ra - 2] * ad.[ra - 1], bd.[rb - 2] * bd.[rb - 1], m * n
        let lda, ldb = ad.[ra - 1], bd.[rb - 1]
        let idx = Array.zeroCreate batch.Length
        let offsets () =
            let mutable oa = 0
            let mutable ob = 0
            for d in 0 .. batch.Length - 1 do
                oa <- oa + idx.[d] * sA.[d]
                ob <- ob + idx.[d] * sB.[d]
            oa * matA, ob * matB
        let next () =
            let mutable d = batch.Length - 1
            let mutable carry = true
            while carry && d >= 0 do
                idx.[d] <- idx.[d] + 1
                if idx.[d] = batch.[d] then
                    idx.[d] <- 0
                    d <- d - 1
                else carry <- false
        match a.DType with
        | Float32 ->
            let c = if k > 0 then GC.AllocateUninitializedArray<float32> (nb * matC) else Array.zeroCreate<float32> (nb * matC)
            if matC > 0 then
                for bi in 0 .. nb - 1 do
                    let oa, ob = offsets ()
                    gemm32 transA transB m n k a.F32 oa lda b.F32 ob ldb c (bi * matC) n
                    next ()
            NDArray.Raw(c, outDims)
        | _ ->
            let c = if k > 0 then GC.AllocateUninitializedArray<float> (nb * matC) else Array.zeroCreate<float> (nb * matC)
            if matC > 0 then
                for bi in 0 .. nb - 1 do
                    let oa, ob = offsets ()
                    gemm64 transA transB m n k a.F64 oa lda b.F64 ob ldb c (bi * matC) n
                    next ()
            NDArray.Raw(c, outDims)
