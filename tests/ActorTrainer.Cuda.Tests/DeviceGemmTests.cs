using ActorTrainer.Cuda.Blas;
using ActorTrainer.Kernels;
using ILGPU;
using ILGPU.Runtime;
using Xunit;

namespace ActorTrainer.Cuda.Tests;

public sealed class DeviceGemmTests(CpuAcceleratorFixture fixture) : IClassFixture<CpuAcceleratorFixture>
{
    private static readonly int[] Sizes = [1, 3, 17, 33, 70];

    public static TheoryData<bool, bool> Transposes() => new() { { false, false }, { true, false }, { false, true }, { true, true } };

    /// <summary>Runs one column-major SGEMM through `blas` on fresh buffers (ld = rows + pad, C prefilled: NaN when
    /// β = 0, else random; padding rows hold a sentinel) and checks it against the double reference.</summary>
    private static void CheckColumnMajor(Accelerator acc, IDeviceBlas blas, bool transA, bool transB, int m, int n, int k,
        float alpha, float beta, int pad, int seed)
    {
        int lda = Math.Max(1, transA ? k : m) + pad, ldb = Math.Max(1, transB ? n : k) + pad, ldc = Math.Max(1, m) + pad;
        var a = GemmReference.Random(lda * (transA ? m : k), seed);
        var b = GemmReference.Random(ldb * (transB ? k : n), seed + 1);
        var c = GemmReference.Random(ldc * n, seed + 2);
        for (int idx = 0; idx < c.Length; idx++)
            if (idx % ldc >= m) c[idx] = 12345f;          // padding rows of C: must stay untouched
            else if (beta == 0) c[idx] = float.NaN;      // β = 0: C must not be read
        var want = GemmReference.ColumnMajor(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        using var da = CpuAcceleratorFixture.Upload(acc, a);
        using var db = CpuAcceleratorFixture.Upload(acc, b);
        using var dc = CpuAcceleratorFixture.Upload(acc, c);
        blas.Sgemm(transA, transB, m, n, k, alpha, da.View, lda, db.View, ldb, beta, dc.View, ldc);
        var got = dc.GetAsArray1D();
        GemmReference.AssertClose(got, want, c, idx => idx % ldc < m && idx / ldc < n,
            $"Sgemm(transA={transA}, transB={transB}, m={m}, n={n}, k={k}, alpha={alpha}, beta={beta}, lda={lda}, ldb={ldb}, ldc={ldc})");
    }

    [Theory]
    [MemberData(nameof(Transposes))]
    public void IlgpuBlas_column_major_matches_double_reference_on_odd_shapes(bool transA, bool transB)
    {
        var blas = new IlgpuBlas(fixture.Accelerator);
        int seed = 0;
        // every (m, n) pair; k runs through a Latin square, so every (m, k) and (n, k) pair occurs too
        for (int im = 0; im < Sizes.Length; im++)
            for (int jn = 0; jn < Sizes.Length; jn++)
            {
                int m = Sizes[im], n = Sizes[jn], k = Sizes[(im + jn) % Sizes.Length];
                float beta = seed % 2 == 0 ? 0f : -0.75f;
                CheckColumnMajor(fixture.Accelerator, blas, transA, transB, m, n, k, alpha: 1.5f, beta, pad: seed % 3 == 0 ? 0 : 5, seed: seed * 7 + 1);
                seed++;
            }
    }

    [Theory]
    [MemberData(nameof(Transposes))]
    public void IlgpuBlas_with_gpu_sized_groups_matches_double_reference(bool transA, bool transB)
    {
        var blas = new IlgpuBlas(fixture.GpuLike);
        Assert.Equal(16, blas.Side);
        int seed = 100;
        foreach (var (m, n, k) in new[] { (70, 33, 17), (1, 70, 33), (64, 64, 16) })
        {
            CheckColumnMajor(fixture.GpuLike, blas, transA, transB, m, n, k, -0.5f, seed % 2 == 0 ? 0f : 2f, pad: 3, seed: seed);
            seed++;
        }
    }

    [Fact]
    public void IlgpuBlas_uses_the_largest_group_the_accelerator_allows_and_any_side_is_correct()
    {
        Assert.Equal(4, new IlgpuBlas(fixture.Accelerator).Side); // default CPU device: 16 threads per group
        foreach (var side in new[] { 1, 2 })
        {
            var blas = new IlgpuBlas(fixture.Accelerator, side);
            Assert.Equal(side, blas.Side);
            CheckColumnMajor(fixture.Accelerator, blas, true, false, 17, 9, 33, 1f, 0.5f, pad: 2, seed: side);
        }
    }

    [Fact]
    public void IlgpuBlas_k_zero_scales_C_by_beta_and_beta_zero_writes_zeros_over_NaN()
    {
        var blas = new IlgpuBlas(fixture.Accelerator);
        using var a = CpuAcceleratorFixture.Upload(fixture.Accelerator, [float.NaN]);
        using var c = CpuAcceleratorFixture.Upload(fixture.Accelerator, [1f, 2f, 3f, 4f, 5f, 6f]);
        blas.Sgemm(false, false, 3, 2, 0, float.NaN, a.View, 3, a.View, 1, 2f, c.View, 3);
        Assert.Equal([2f, 4f, 6f, 8f, 10f, 12f], c.GetAsArray1D());
        c.CopyFromCPU([float.NaN, float.NaN, float.NaN, float.NaN, float.NaN, float.NaN]);
        blas.Sgemm(true, true, 3, 2, 0, 1f, a.View, 1, a.View, 2, 0f, c.View, 3);
        Assert.Equal(new float[6], c.GetAsArray1D());
    }

    [Fact]
    public void IlgpuBlas_m_or_n_zero_writes_nothing()
    {
        var blas = new IlgpuBlas(fixture.Accelerator);
        using var x = CpuAcceleratorFixture.Upload(fixture.Accelerator, [7f, 8f]);
        blas.Sgemm(false, false, 0, 2, 1, 1f, x.View, 1, x.View, 1, 0f, x.View, 1);
        blas.Sgemm(false, false, 2, 0, 1, 1f, x.View, 2, x.View, 1, 0f, x.View, 2);
        Assert.Equal([7f, 8f], x.GetAsArray1D());
    }

    [Theory]
    [MemberData(nameof(Transposes))]
    public void RowMajor_matches_the_cpu_reference_gemm(bool transA, bool transB)
    {
        var blas = new IlgpuBlas(fixture.Accelerator);
        int seed = 500;
        foreach (var (m, n, k) in new[] { (1, 1, 1), (3, 17, 70), (70, 3, 17), (33, 33, 33), (17, 70, 3), (5, 7, 0) })
        {
            int pad = seed % 2 == 0 ? 0 : 4;
            int lda = Math.Max(1, transA ? m : k) + pad, ldb = Math.Max(1, transB ? k : n) + pad, ldc = Math.Max(1, n) + pad;
            var a = GemmReference.Random(lda * (transA ? k : m), seed);
            var b = GemmReference.Random(ldb * (transB ? n : k), seed + 1);
            var c = GemmReference.Random(ldc * m, seed + 2);
            float alpha = 0.75f, beta = seed % 2 == 0 ? 0f : 1.25f;
            var want = (float[])c.Clone();
            GemmBackends.Reference.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc);
            var got = RunRowMajor(fixture.Accelerator, blas, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            var exact = GemmReference.RowMajor(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            var what = $"RowMajor(transA={transA}, transB={transB}, m={m}, n={n}, k={k}, lda={lda}, ldb={ldb}, ldc={ldc})";
            Func<int, bool> inside = idx => idx / ldc < m && idx % ldc < n;
            GemmReference.AssertClose(got, exact, c, inside, what);
            GemmReference.AssertClose(want, exact, c, inside, what + " (ReferenceGemm)");
            seed++;
        }
    }

    [Fact]
    public void RowMajor_computes_the_MLP_forms_bit_identically_run_to_run()
    {
        var blas = new IlgpuBlas(fixture.GpuLike);
        const int batch = 37, input = 19, hidden = 70;
        var x = GemmReference.Random(batch * input, 1);
        var w = GemmReference.Random(input * hidden, 2);
        var g = GemmReference.Random(batch * hidden, 3);
        var dw0 = GemmReference.Random(input * hidden, 4);
        // forward y = x·W; weight gradient dW += xᵀ·g; input gradient dx = g·Wᵀ
        var forms = new (string Name, bool TA, bool TB, int M, int N, int K, float[] A, int Lda, float[] B, int Ldb, float Beta, float[] C, int Ldc)[]
        {
            ("x·W", false, false, batch, hidden, input, x, input, w, hidden, 0f, new float[batch * hidden], hidden),
            ("xᵀ·g", true, false, input, hidden, batch, x, input, g, hidden, 1f, dw0, hidden),
            ("g·Wᵀ", false, true, batch, input, hidden, g, hidden, w, hidden, 0f, new float[batch * input], input),
        };
        foreach (var f in forms)
        {
            var first = RunRowMajor(fixture.GpuLike, blas, f.TA, f.TB, f.M, f.N, f.K, 1f, f.A, f.Lda, f.B, f.Ldb, f.Beta, f.C, f.Ldc);
            var second = RunRowMajor(fixture.GpuLike, blas, f.TA, f.TB, f.M, f.N, f.K, 1f, f.A, f.Lda, f.B, f.Ldb, f.Beta, f.C, f.Ldc);
            var want = GemmReference.RowMajor(f.TA, f.TB, f.M, f.N, f.K, 1f, f.A, f.Lda, f.B, f.Ldb, f.Beta, f.C, f.Ldc);
            GemmReference.AssertClose(first, want, f.C, _ => true, f.Name);
            Assert.True(first.Select(BitConverter.SingleToInt32Bits).SequenceEqual(second.Select(BitConverter.SingleToInt32Bits)),
                $"{f.Name}: two runs differ bitwise");
        }
    }

    private static float[] RunRowMajor(Accelerator acc, IDeviceBlas blas, bool transA, bool transB, int m, int n, int k,
        float alpha, float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        using var da = CpuAcceleratorFixture.Upload(acc, a);
        using var db = CpuAcceleratorFixture.Upload(acc, b);
        using var dc = CpuAcceleratorFixture.Upload(acc, c);
        DeviceGemm.RowMajor(blas, transA, transB, m, n, k, alpha, da.View, lda, db.View, ldb, beta, dc.View, ldc);
        return dc.GetAsArray1D();
    }
}
