using System.Numerics;
using System.Runtime.CompilerServices;

namespace ActorTrainer.Kernels;

/// <summary>Instruction set used by <see cref="ManagedGemm"/>.</summary>
public enum SimdLevel
{
    /// <summary>Best supported: AVX-512F, else AVX2+FMA, else scalar.</summary>
    Auto,
    /// <summary>AVX-512F 8×(2·16) float32 / 8×(2·8) float64 register tiles.</summary>
    Avx512,
    /// <summary>AVX2+FMA 6×(2·8) float32 / 6×(2·4) float64 register tiles.</summary>
    Avx2,
    /// <summary>Portable scalar 4×4 tiles.</summary>
    Scalar,
}

/// <summary>
/// SIMD GEMM: C = alpha·op(A)·op(B) + beta·C (row-major, op(A) m×k, op(B) k×n, C m×n), packed panels, cache
/// blocking over k (fixed by k alone), split over rows/columns of C across at most
/// <see cref="KernelSettings.MaxDegreeOfParallelism"/> threads, so results are bit-identical for any thread count.
/// No heap allocation per call in steady state.
/// </summary>
public sealed unsafe class ManagedGemm : IGemm
{
    private readonly bool _auto;

    /// <summary>Creates the kernel for the best instruction set the CPU supports.</summary>
    public ManagedGemm() : this(SimdLevel.Auto) { }

    /// <summary>Creates the kernel for <paramref name="level"/>; throws NotSupportedException if the CPU lacks it.</summary>
    public ManagedGemm(SimdLevel level)
    {
        _auto = level == SimdLevel.Auto;
        Level = level switch
        {
            SimdLevel.Auto => Avx512Kernel<float>.IsSupported ? SimdLevel.Avx512
                            : Avx2Kernel<float>.IsSupported ? SimdLevel.Avx2 : SimdLevel.Scalar,
            SimdLevel.Avx512 when !Avx512Kernel<float>.IsSupported =>
                throw new NotSupportedException("ManagedGemm: level Avx512 requested but this CPU lacks AVX-512F."),
            SimdLevel.Avx2 when !Avx2Kernel<float>.IsSupported =>
                throw new NotSupportedException("ManagedGemm: level Avx2 requested but this CPU lacks AVX2+FMA."),
            SimdLevel.Avx512 or SimdLevel.Avx2 or SimdLevel.Scalar => level,
            _ => throw new ArgumentOutOfRangeException(nameof(level), level, "ManagedGemm: unknown SimdLevel."),
        };
    }

    /// <summary>The instruction set actually used (never Auto).</summary>
    public SimdLevel Level { get; }

    /// <summary>The level <see cref="SimdLevel.Auto"/> resolves to in this process: "avx512", "avx2" or "scalar" (what the
    /// CPU offers, less what the runtime's DOTNET_Enable* switches turn off: DOTNET_EnableAVX512=0 on .NET 10 — its
    /// older name DOTNET_EnableAVX512F no longer has an effect — DOTNET_EnableAVX2=0, DOTNET_EnableHWIntrinsic=0).</summary>
    public static string AutoLevelName =>
        Avx512Kernel<float>.IsSupported ? "avx512" : Avx2Kernel<float>.IsSupported ? "avx2" : "scalar";

    /// <summary>"managed", or "managed-avx512" / "managed-avx2" / "managed-scalar" when a level was forced.</summary>
    public string Name => _auto ? "managed" : "managed-" + Level.ToString().ToLowerInvariant();

    /// <inheritdoc />
    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
                     ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
                     float beta, Span<float> c, int ldc)
    {
        GemmArgs.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        fixed (float* pa = a) fixed (float* pb = b) fixed (float* pc = c)
        {
            var p = new GemmProblem<float>
            {
                A = pa, B = pb, C = pc, M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc,
                TransA = transA, TransB = transB, Alpha = alpha, Beta = beta,
            };
            switch (Level)
            {
                case SimdLevel.Avx512: GemmExecutor<float, Avx512Kernel<float>>.Run(in p); break;
                case SimdLevel.Avx2: GemmExecutor<float, Avx2Kernel<float>>.Run(in p); break;
                default: GemmExecutor<float, ScalarKernel<float>>.Run(in p); break;
            }
        }
    }

    /// <inheritdoc />
    public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
                     ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb,
                     double beta, Span<double> c, int ldc)
    {
        GemmArgs.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        fixed (double* pa = a) fixed (double* pb = b) fixed (double* pc = c)
        {
            var p = new GemmProblem<double>
            {
                A = pa, B = pb, C = pc, M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc,
                TransA = transA, TransB = transB, Alpha = alpha, Beta = beta,
            };
            switch (Level)
            {
                case SimdLevel.Avx512: GemmExecutor<double, Avx512Kernel<double>>.Run(in p); break;
                case SimdLevel.Avx2: GemmExecutor<double, Avx2Kernel<double>>.Run(in p); break;
                default: GemmExecutor<double, ScalarKernel<double>>.Run(in p); break;
            }
        }
    }
}

/// <summary>Chooses serial or parallel execution and the split of C (columns or rows, whole micro-panels).</summary>
internal sealed unsafe class GemmExecutor<T, K> : IParallelJob
    where T : unmanaged, IFloatingPointIeee754<T>
    where K : struct, IMicroKernel<T>
{
    /// <summary>Below this many multiply-adds (m·n·k) a call runs on the calling thread only.</summary>
    internal static long SerialThreshold = 1L << 18;

    /// <summary>Below this k the serial threshold is 16× higher: each element of C is only k multiply-adds, so handing
    /// half of C to another thread costs more than it saves (g·W2ᵀ, k = 10: 56–59 GFLOP/s on 2 threads, 98–101 on one).</summary>
    internal const int ShallowK = 16;

    [ThreadStatic] private static GemmExecutor<T, K>? t_job;
    private GemmProblem<T> _p;
    private int _parts;
    private bool _splitN, _dot, _transNarrow;
    private T* _bt;
    private nint _ldbt;

    /// <summary>Runs the whole problem (m, n ≥ 1).</summary>
    internal static void Run(in GemmProblem<T> p)
    {
        if (p.K == 0 || p.Alpha == T.Zero) { ScaleC(in p); return; }
        if (typeof(T) == typeof(float) && SparseGemm.TryRun(in Unsafe.As<GemmProblem<T>, GemmProblem<float>>(ref Unsafe.AsRef(in p)),
                                                         KernelSettings.MaxDegreeOfParallelism, Level == SimdLevel.Avx512)) return;
        bool dot = DotGemm<T>.Applies(in p);   // by shape alone: every instruction set gives the same bits
        int panelsN = (p.N + K.NR - 1) / K.NR, panelsM = (p.M + K.MR - 1) / K.MR;
        int dop = KernelSettings.MaxDegreeOfParallelism;
        bool transNarrow = !dot && TransNarrowGemm.Applies(in p, Level);      // same bits as the panel path
        bool splitN = !dot && !transNarrow && (panelsN >= 2 * dop || panelsN >= panelsM);
        nint ldbt = 0;
        T* bt = dot ? DotGemm<T>.PackedB(in p, out ldbt) : null;        // packed once, read by every part
        int parts = Math.Min(Math.Min(dop, GemmWorkers.MaxParts), splitN ? panelsN : panelsM);
        if ((long)p.M * p.N * p.K < (p.K < ShallowK ? 16 * SerialThreshold : SerialThreshold)) parts = 1;
        if (parts > 1)
        {
            var job = t_job ??= new GemmExecutor<T, K>();
            job._p = p; job._parts = parts; job._splitN = splitN; job._dot = dot; job._transNarrow = transNarrow; job._bt = bt; job._ldbt = ldbt;
            bool ran = GemmWorkers.TryRun(job, parts);
            job._p = default; job._bt = null;
            if (ran) return;
        }
        RowRange(in p, 0, p.M, dot, transNarrow, bt, ldbt);
    }

    /// <summary>The instruction set of the kernel K (the dot path follows it).</summary>
    private static SimdLevel Level =>
        typeof(K) == typeof(Avx512Kernel<T>) ? SimdLevel.Avx512 : typeof(K) == typeof(Avx2Kernel<T>) ? SimdLevel.Avx2 : SimdLevel.Scalar;

    /// <summary>Part i of parts: a contiguous run of whole NR-column (or MR-row) panels of C.</summary>
    public void Run(int part)
    {
        if (_splitN)
        {
            int panels = (_p.N + K.NR - 1) / K.NR;
            int q0 = (int)((long)part * panels / _parts), q1 = (int)((long)(part + 1) * panels / _parts);
            GemmDriver<T, K>.Run(in _p, 0, _p.M, q0 * K.NR, Math.Min(_p.N, q1 * K.NR));
        }
        else
        {
            int panels = (_p.M + K.MR - 1) / K.MR;
            int q0 = (int)((long)part * panels / _parts), q1 = (int)((long)(part + 1) * panels / _parts);
            RowRange(in _p, q0 * K.MR, Math.Min(_p.M, q1 * K.MR), _dot, _transNarrow, _bt, _ldbt);
        }
    }

    /// <summary>Rows [i0,i1) of C (i0 a multiple of MR), all columns: the narrow dot path, the transposed-A narrow kernel
    /// (whole 32-row tiles; the rest by the panel path, whose bits it shares) or the panel path.</summary>
    private static void RowRange(in GemmProblem<T> p, int i0, int i1, bool dot, bool transNarrow, T* bt, nint ldbt)
    {
        if (dot) { DotGemm<T>.Rows(in p, i0, i1, Level, bt, ldbt); return; }
        int i = transNarrow ? TransNarrowGemm.Rows(in Unsafe.As<GemmProblem<T>, GemmProblem<float>>(ref Unsafe.AsRef(in p)), i0, i1) : i0;
        if (i < i1) GemmDriver<T, K>.Run(in p, i, i1, 0, p.N);
    }

    /// <summary>k = 0 or alpha = 0: C = beta·C (zero when beta = 0; A and B not read).</summary>
    private static void ScaleC(in GemmProblem<T> p)
    {
        for (int i = 0; i < p.M; i++)
        {
            T* row = p.C + i * p.Ldc;
            for (int j = 0; j < p.N; j++) row[j] = p.Beta == T.Zero ? T.Zero : p.Beta * row[j];
        }
    }
}
