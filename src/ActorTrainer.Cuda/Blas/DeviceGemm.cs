using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda.Blas;

/// <summary>TEMPORARY (replaced by the helper's version): naive row-major GEMM for local testing.</summary>
public static class DeviceGemm
{
    private static Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmDims>? _k;
    private static Accelerator? _acc;

    internal readonly struct GemmDims(int ta, int tb, int m, int n, int k, float alpha, int lda, int ldb, float beta, int ldc)
    {
        public readonly int TA = ta, TB = tb, M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc;
        public readonly float Alpha = alpha, Beta = beta;
    }

    private static void Kernel(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmDims d)
    {
        int r = i / d.N, col = i - r * d.N;
        float s = 0f;
        for (int p = 0; p < d.K; p++)
        {
            float av = d.TA != 0 ? a[(long)p * d.Lda + r] : a[(long)r * d.Lda + p];
            float bv = d.TB != 0 ? b[(long)col * d.Ldb + p] : b[(long)p * d.Ldb + col];
            s += av * bv;
        }
        long ci = (long)r * d.Ldc + col;
        c[ci] = d.Beta == 0f ? d.Alpha * s : d.Alpha * s + d.Beta * c[ci];
    }

    public static void RowMajor(IDeviceBlas blas, bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, int lda,
        ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc)
    {
        var acc = c.GetAccelerator();
        if (_k is null || _acc != acc) { _k = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmDims>(Kernel); _acc = acc; }
        if (m * n == 0) return;
        _k(m * n, a, b, c, new GemmDims(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, lda, ldb, beta, ldc));
    }
}
