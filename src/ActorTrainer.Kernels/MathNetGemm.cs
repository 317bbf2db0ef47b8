using MathNet.Numerics.Providers.LinearAlgebra;

namespace ActorTrainer.Kernels;

/// <summary>
/// GEMM through MathNet's active provider (<c>LinearAlgebraControl.Provider</c>, column-major). Row-major
/// C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: a compact row-major r×c matrix read column-major is its
/// transpose, so B and A are passed swapped with the same transpose flags. Operands are copied into compact
/// arrays (reused per thread while the sizes repeat), which also handles lda/ldb/ldc ≠ columns.
/// </summary>
internal sealed class MathNetGemm : IGemm
{
    public string Name => "mathnet";

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
                     ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
                     float beta, Span<float> c, int ldc)
    {
        GemmArgs.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        var s = Scratch<float>.ForThread;
        if (k == 0 || alpha == 0f)
        {
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) c[i * ldc + j] = beta == 0f ? 0f : beta * c[i * ldc + j];
            return;
        }
        float[] ac = s.Compact(0, a, transA ? k : m, transA ? m : k, lda);
        float[] bc = s.Compact(1, b, transB ? n : k, transB ? k : n, ldb);
        float[] cc = beta == 0f ? s.Zeros(2, m * n) : s.Compact(2, c, m, n, ldc);
        LinearAlgebraControl.Provider.MatrixMultiplyWithUpdate(
            transB ? Transpose.Transpose : Transpose.DontTranspose,
            transA ? Transpose.Transpose : Transpose.DontTranspose,
            alpha, bc, transB ? k : n, transB ? n : k, ac, transA ? m : k, transA ? k : m, beta, cc);
        Scratch<float>.Expand(cc, m, n, c, ldc);
    }

    public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
                     ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb,
                     double beta, Span<double> c, int ldc)
    {
        GemmArgs.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        var s = Scratch<double>.ForThread;
        if (k == 0 || alpha == 0.0)
        {
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0 ? 0.0 : beta * c[i * ldc + j];
            return;
        }
        double[] ac = s.Compact(0, a, transA ? k : m, transA ? m : k, lda);
        double[] bc = s.Compact(1, b, transB ? n : k, transB ? k : n, ldb);
        double[] cc = beta == 0.0 ? s.Zeros(2, m * n) : s.Compact(2, c, m, n, ldc);
        LinearAlgebraControl.Provider.MatrixMultiplyWithUpdate(
            transB ? Transpose.Transpose : Transpose.DontTranspose,
            transA ? Transpose.Transpose : Transpose.DontTranspose,
            alpha, bc, transB ? k : n, transB ? n : k, ac, transA ? m : k, transA ? k : m, beta, cc);
        Scratch<double>.Expand(cc, m, n, c, ldc);
    }

    /// <summary>Per-thread exact-size arrays (MathNet requires exact lengths), kept while shapes repeat.</summary>
    private sealed class Scratch<T> where T : struct
    {
        [ThreadStatic] private static Scratch<T>? s_forThread;
        private readonly T[][] _slots = [[], [], []];

        internal static Scratch<T> ForThread => s_forThread ??= new Scratch<T>();

        private T[] Slot(int slot, int length)
        {
            if (_slots[slot].Length != length) _slots[slot] = new T[length];
            return _slots[slot];
        }

        /// <summary>Copies a stored rows×cols row-major matrix with row stride ld into a compact array.</summary>
        internal T[] Compact(int slot, ReadOnlySpan<T> src, int rows, int cols, int ld)
        {
            T[] dst = Slot(slot, rows * cols);
            for (int r = 0; r < rows; r++) src.Slice(r * ld, cols).CopyTo(dst.AsSpan(r * cols, cols));
            return dst;
        }

        /// <summary>A zero-filled array of the given length.</summary>
        internal T[] Zeros(int slot, int length)
        {
            T[] dst = Slot(slot, length);
            Array.Clear(dst);
            return dst;
        }

        /// <summary>Copies a compact rows×cols array back into dst with row stride ld.</summary>
        internal static void Expand(T[] src, int rows, int cols, Span<T> dst, int ld)
        {
            for (int r = 0; r < rows; r++) src.AsSpan(r * cols, cols).CopyTo(dst.Slice(r * ld, cols));
        }
    }
}
