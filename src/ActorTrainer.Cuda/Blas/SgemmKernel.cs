using ILGPU;

namespace ActorTrainer.Cuda.Blas;

/// <summary>Scalar arguments of one SGEMM launch (flags as 0/1 ints; <see cref="Side"/> is the group's side in threads).</summary>
internal struct SgemmParams
{
    public int M, N, K, Lda, Ldb, Ldc, TransA, TransB, Side;
    public float Alpha, Beta;
}

/// <summary>The shared-memory tiled SGEMM kernel (explicitly grouped, column-major like cublasSgemm).
/// A group of side×side threads computes a (4·side)×(4·side) tile of C; each thread owns a 4×4 set of outputs
/// (rows tx + r·side, columns ty + s·side of the tile: consecutive threads touch consecutive rows, i.e. consecutive
/// addresses of column-major C, so stores are coalesced).
/// Blocks of <see cref="TileK"/> steps of k are staged in shared memory, zero-padded outside the matrices.
/// Every output is one float accumulator summed over k in increasing order, so results are identical run to run.</summary>
internal static class SgemmKernel
{
    /// <summary>Outputs per thread along each dimension of C.</summary>
    internal const int Micro = 4;

    /// <summary>Steps of k staged in shared memory per barrier pair (a multiple of 4, the inner loop's unrolling).</summary>
    internal const int TileK = 16;

    /// <summary>Largest group side (16×16 = 256 threads, a 64×64 tile of C).</summary>
    internal const int MaxSide = 16;

    private const int MaxStride = MaxSide * Micro + 1; // +1: padding against shared-memory bank conflicts

    /// <summary>Column-major C = α·op(A)·op(B) + β·C for the tile at rows Grid.IdxY·4·side, columns Grid.IdxX·4·side;
    /// launch with a grid of ⌈n/(4·side)⌉ × ⌈m/(4·side)⌉ groups of side × side threads (n on the grid's long x axis:
    /// through <see cref="DeviceGemm"/> it is the batch, which can exceed CUDA's 65535 limit on y).</summary>
    internal static void Kernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, SgemmParams p)
    {
        var sa = SharedMemory.Allocate<float>(TileK * MaxStride);
        var sb = SharedMemory.Allocate<float>(TileK * MaxStride);
        int side = p.Side, tile = side * Micro, stride = tile + 1;
        int tx = Group.IdxX, ty = Group.IdxY, t = ty * side + tx, threads = side * side;
        int row0 = Grid.IdxY * tile, col0 = Grid.IdxX * tile;
        var acc = default(Accumulator4x4);
        for (int k0 = 0; k0 < p.K; k0 += TileK)
        {
            // op(A)(i, q) is stored at a[q + i·lda] when transA (contiguous along k), else at a[i + q·lda];
            // op(B)(q, j) is stored at b[j + q·ldb] when transB, else at b[q + j·ldb] (contiguous along k).
            LoadTile(a, sa, p.Lda, p.M, p.K, row0, k0, p.TransA != 0, tile, stride, t, threads);
            LoadTile(b, sb, p.Ldb, p.N, p.K, col0, k0, p.TransB == 0, tile, stride, t, threads);
            Group.Barrier();
            for (int q = 0; q < TileK; q += 4) // unrolled by hand (ILGPU does not); k order unchanged
            {
                acc.Step(sa, sb, q * stride + tx, q * stride + ty, side);
                acc.Step(sa, sb, (q + 1) * stride + tx, (q + 1) * stride + ty, side);
                acc.Step(sa, sb, (q + 2) * stride + tx, (q + 2) * stride + ty, side);
                acc.Step(sa, sb, (q + 3) * stride + tx, (q + 3) * stride + ty, side);
            }
            Group.Barrier();
        }
        acc.Store(c, p, row0 + tx, col0 + ty, side);
    }

    /// <summary>Copies X(x0 .. x0+tile−1, k0 .. k0+TileK−1) into s[q·stride + x] (zero outside extent × kTotal), where
    /// X(x, q) is v[q + x·ld] when <paramref name="alongK"/> (contiguous along k), else v[x + q·ld]. Consecutive
    /// threads read consecutive addresses either way.</summary>
    private static void LoadTile(ArrayView<float> v, ArrayView<float> s, int ld, int extent, int kTotal, int x0, int k0,
        bool alongK, int tile, int stride, int t, int threads)
    {
        int count = tile * TileK;
        for (int idx = t; idx < count; idx += threads)
        {
            int x, q;
            if (alongK) { x = idx / TileK; q = idx - x * TileK; }
            else { q = idx / tile; x = idx - q * tile; }
            int gx = x0 + x, gk = k0 + q;
            float value = 0f;
            if (gx < extent && gk < kTotal)
                value = alongK ? v[(long)gx * ld + gk] : v[(long)gk * ld + gx];
            s[q * stride + x] = value;
        }
    }
}
