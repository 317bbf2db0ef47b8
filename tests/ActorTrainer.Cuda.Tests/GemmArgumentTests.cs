using ActorTrainer.Cuda.Blas;
using Xunit;

namespace ActorTrainer.Cuda.Tests;

/// <summary>SGEMM argument validation: cuBLAS' rules, errors naming the argument and its value.</summary>
public sealed class GemmArgumentTests(CpuAcceleratorFixture fixture) : IClassFixture<CpuAcceleratorFixture>
{
    private void AssertRefused(string param, string valueText, Action<IlgpuBlas, ILGPU.ArrayView<float>> call)
    {
        var blas = new IlgpuBlas(fixture.Accelerator);
        using var buffer = fixture.Accelerator.Allocate1D<float>(12);
        var e = Assert.ThrowsAny<ArgumentException>(() => call(blas, buffer.View));
        Assert.Equal(param, e.ParamName);
        Assert.Contains(valueText, e.Message);
        Assert.Contains(param, e.Message);
    }

    [Fact]
    public void Column_major_sizes_and_leading_dimensions_follow_cublas()
    {
        AssertRefused("m", "got -1", (g, v) => g.Sgemm(false, false, -1, 2, 2, 1, v, 1, v, 2, 0, v, 1));
        AssertRefused("n", "got -2", (g, v) => g.Sgemm(false, false, 2, -2, 2, 1, v, 2, v, 2, 0, v, 2));
        AssertRefused("k", "got -3", (g, v) => g.Sgemm(false, false, 2, 2, -3, 1, v, 2, v, 1, 0, v, 2));
        // A is m×k = 3×2 stored column-major: lda >= 3; transposed (stored k×m = 2×3): lda >= 2
        AssertRefused("lda", "max(1, 3)", (g, v) => g.Sgemm(false, false, 3, 2, 2, 1, v, 2, v, 2, 0, v, 3));
        AssertRefused("lda", "got 1", (g, v) => g.Sgemm(true, false, 3, 2, 2, 1, v, 1, v, 2, 0, v, 3));
        AssertRefused("ldb", "max(1, 2)", (g, v) => g.Sgemm(false, false, 3, 2, 2, 1, v, 3, v, 1, 0, v, 3));
        AssertRefused("ldb", "got 1", (g, v) => g.Sgemm(false, true, 3, 2, 2, 1, v, 3, v, 1, 0, v, 3));
        AssertRefused("ldc", "got 2", (g, v) => g.Sgemm(false, false, 3, 2, 2, 1, v, 3, v, 2, 0, v, 2));
        AssertRefused("ldc", "got 0", (g, v) => g.Sgemm(false, false, 0, 0, 0, 1, v, 1, v, 1, 0, v, 0));
    }

    [Fact]
    public void Views_too_short_for_the_stored_matrices_are_refused()
    {
        // 12 elements: A 4×4 (lda 4) needs 16; B 1×4 (ldb 4) needs 3·4 + 1 = 13; C 2×3 (ldc 6) needs 2·6 + 2 = 14
        AssertRefused("a", "needs 16", (g, v) => g.Sgemm(false, false, 4, 1, 4, 1, v, 4, v, 4, 0, v, 4));
        AssertRefused("b", "needs 13", (g, v) => g.Sgemm(false, false, 1, 4, 1, 1, v, 1, v, 4, 0, v, 1));
        AssertRefused("c", "has 12 elements", (g, v) => g.Sgemm(false, false, 2, 3, 1, 1, v, 2, v, 1, 0, v, 6));
    }

    [Fact]
    public void Row_major_facade_names_arguments_in_row_major_terms()
    {
        // row-major A m×k = 3×2: lda >= k = 2; row-major C 3×4: ldc >= n = 4
        AssertRefused("lda", "max(1, 2)", (g, v) => DeviceGemm.RowMajor(g, false, false, 3, 4, 2, 1, v, 1, v, 4, 0, v, 4));
        AssertRefused("ldc", "got 3", (g, v) => DeviceGemm.RowMajor(g, false, false, 1, 4, 1, 1, v, 1, v, 4, 0, v, 3));
        AssertRefused("m", "got -1", (g, v) => DeviceGemm.RowMajor(g, false, false, -1, 4, 1, 1, v, 1, v, 4, 0, v, 4));
        AssertRefused("a", "row-major", (g, v) => DeviceGemm.RowMajor(g, true, false, 2, 1, 7, 1, v, 2, v, 1, 0, v, 1));
    }
}
