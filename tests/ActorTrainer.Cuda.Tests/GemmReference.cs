using Xunit;

namespace ActorTrainer.Cuda.Tests;

/// <summary>Plain double-precision GEMMs used as references, and the error bound the float kernels are held to.</summary>
internal static class GemmReference
{
    /// <summary>Column-major C = α·op(A)·op(B) + β·C in double (C not read when β = 0), returned as doubles; also the
    /// magnitude |α|·Σ|a·b| + |β·c| of each element, to scale the tolerance.</summary>
    public static (double[] Value, double[] Scale) ColumnMajor(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        var value = new double[c.Length];
        var scale = new double[c.Length];
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++)
            {
                double s = 0, mag = 0;
                for (int p = 0; p < k; p++)
                {
                    double x = transA ? a[p + i * lda] : a[i + p * lda];
                    double y = transB ? b[j + p * ldb] : b[p + j * ldb];
                    s += x * y;
                    mag += Math.Abs(x * y);
                }
                double old = beta == 0 ? 0 : (double)beta * c[i + j * ldc];
                value[i + j * ldc] = alpha * s + old;
                scale[i + j * ldc] = Math.Abs(alpha) * mag + Math.Abs(old);
            }
        return (value, scale);
    }

    /// <summary>Row-major reference through the transpose identity's definition: element (i, j) at c[i·ldc + j].</summary>
    public static (double[] Value, double[] Scale) RowMajor(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        var value = new double[c.Length];
        var scale = new double[c.Length];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0, mag = 0;
                for (int p = 0; p < k; p++)
                {
                    double x = transA ? a[p * lda + i] : a[i * lda + p];
                    double y = transB ? b[j * ldb + p] : b[p * ldb + j];
                    s += x * y;
                    mag += Math.Abs(x * y);
                }
                double old = beta == 0 ? 0 : (double)beta * c[i * ldc + j];
                value[i * ldc + j] = alpha * s + old;
                scale[i * ldc + j] = Math.Abs(alpha) * mag + Math.Abs(old);
            }
        return (value, scale);
    }

    /// <summary>Asserts |got − want| ≤ 1e-5·scale (+1e-30) at every index `inside` accepts, and got == before elsewhere
    /// (nothing outside C's m×n block is written).</summary>
    public static void AssertClose(float[] got, (double[] Value, double[] Scale) want, float[] before, Func<int, bool> inside, string what)
    {
        for (int idx = 0; idx < got.Length; idx++)
        {
            if (!inside(idx))
            {
                Assert.True(BitConverter.SingleToInt32Bits(got[idx]) == BitConverter.SingleToInt32Bits(before[idx]),
                    $"{what}: element {idx} outside C was written ({before[idx]} -> {got[idx]})");
                continue;
            }
            double err = Math.Abs(got[idx] - want.Value[idx]);
            Assert.True(err <= 1e-5 * want.Scale[idx] + 1e-30,
                $"{what}: element {idx} = {got[idx]}, expected {want.Value[idx]} (error {err:g3}, scale {want.Scale[idx]:g3})");
        }
    }

    /// <summary>`count` uniform values in [−1, 1) from a fixed seed.</summary>
    public static float[] Random(int count, int seed)
    {
        var rng = new Random(seed);
        var data = new float[Math.Max(1, count)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        return data;
    }
}
