namespace ActorTrainer.Kernels;

/// <summary>
/// A general matrix multiply provider: C = alpha·op(A)·op(B) + beta·C, all matrices row-major.
/// op(A) is m×k (A stored k×m when <c>transA</c>), op(B) is k×n (B stored n×k when <c>transB</c>);
/// lda/ldb/ldc are the row strides (elements) of the stored matrices.
/// Contract: results are bit-identical for any degree of parallelism (work is split over rows/columns of C,
/// never over k), so training is reproducible on any number of cores. When beta == 0, C is not read
/// (NaN/garbage in C does not propagate). m, n or k may be 0.
/// </summary>
public interface IGemm
{
    /// <summary>Provider name, as shown in benchmarks and configuration (e.g. "managed", "mathnet").</summary>
    string Name { get; }

    /// <summary>float32 C = alpha·op(A)·op(B) + beta·C (row-major; op(A) m×k, op(B) k×n, C m×n).</summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
              ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
              float beta, Span<float> c, int ldc);

    /// <summary>float64 C = alpha·op(A)·op(B) + beta·C (row-major; op(A) m×k, op(B) k×n, C m×n).</summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
              ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb,
              double beta, Span<double> c, int ldc);
}

/// <summary>Kernel settings: a process-wide default and per-thread scopes (one run or one worker sets its own
/// thread share without touching other runs).</summary>
public static partial class KernelSettings
{
    private static int _maxDop = Environment.ProcessorCount;
    [ThreadStatic] private static int t_scoped;

    /// <summary>Maximum number of threads a single kernel call made on this thread may use (≥ 1): the innermost
    /// <see cref="UseParallelism"/> scope's value, else the process default. Setting it sets the process default
    /// (initially the number of cores).</summary>
    public static int MaxDegreeOfParallelism
    {
        get => t_scoped > 0 ? t_scoped : _maxDop;
        set => _maxDop = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "MaxDegreeOfParallelism must be >= 1");
    }

    /// <summary>Kernel calls made on the calling thread use at most `dop` threads until the returned scope is disposed
    /// (0 = no change: the enclosing scope or the process default). Results do not depend on it (k-only blocking).</summary>
    public static ParallelismScope UseParallelism(int dop)
    {
        if (dop < 0) throw new ArgumentOutOfRangeException(nameof(dop), dop, "parallelism must be >= 0 (0 = the process default)");
        var previous = t_scoped;
        if (dop > 0) t_scoped = dop;
        return new ParallelismScope(previous);
    }

    internal static void Restore(int previous) => t_scoped = previous;

    // 0: not read yet; 1: on; 2: off
    private static int _sparse;

    /// <summary>Whether a float32 GEMM whose left operand op(A) is mostly exact zeros (at most 30 %: an input layer fed
    /// with MNIST-like images, one-hot or bag-of-words rows) computes only the products of its nonzeros. Results are
    /// bit-identical either way for finite B (each element keeps the dense FMA sequence minus its ±0 terms); only a
    /// zero in A no longer turns an Inf/NaN in B into NaN. Default on; the environment variable
    /// ACTORTRAINER_SPARSE_GEMM = 0 | false | off turns it off (to measure the dense kernels), 1 | true | on keeps it on;
    /// any other value throws <see cref="KernelSettingException"/> at the first read.</summary>
    public static bool SparseOperands
    {
        get => ReadSwitch(ref _sparse, SparseGemmVariable, true);
        set => Volatile.Write(ref _sparse, value ? 1 : 2);
    }

    /// <summary>An on/off switch kept in `state` (0: not read yet, 1: on, 2: off), read from the environment variable
    /// `name` (<see cref="ParseSwitch"/>) at its first use.</summary>
    private static bool ReadSwitch(ref int state, string name, bool fallback)
    {
        int v = Volatile.Read(ref state);
        if (v == 0) Volatile.Write(ref state, v = ParseSwitch(name, Environment.GetEnvironmentVariable(name), fallback) ? 1 : 2);
        return v == 1;
    }

    /// <summary>The environment variable read by <see cref="SparseOperands"/>.</summary>
    public const string SparseGemmVariable = "ACTORTRAINER_SPARSE_GEMM";

    /// <summary>An on/off switch given as text: null or empty = `fallback`; 1, true, on, yes → true; 0, false, off,
    /// no → false (any case, surrounding blanks ignored); anything else throws KernelSettingException naming `name`
    /// and the value.</summary>
    public static bool ParseSwitch(string name, string? value, bool fallback)
    {
        var v = value?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(v)) return fallback;
        return SwitchSpelling(v) ?? throw new KernelSettingException($"{name} = '{value}': expected 0, false or off (switch off) or 1, true or on");
    }

    /// <summary>true for 1, true, on, yes; false for 0, false, off, no; null otherwise (`v` trimmed, lower case).</summary>
    internal static bool? SwitchSpelling(string v) => v switch
    {
        "1" or "true" or "on" or "yes" => true,
        "0" or "false" or "off" or "no" => false,
        _ => null,
    };
}

/// <summary>A kernel setting from the environment has a value the kernels do not understand (the message names the
/// variable and the value).</summary>
public sealed class KernelSettingException(string message) : ArgumentException(message);

/// <summary>Restores the calling thread's previous kernel parallelism when disposed (see KernelSettings.UseParallelism).</summary>
public readonly struct ParallelismScope : IDisposable
{
    private readonly int _previous;
    internal ParallelismScope(int previous) => _previous = previous;
    /// <summary>Ends the scope.</summary>
    public void Dispose() => KernelSettings.Restore(_previous);
}
