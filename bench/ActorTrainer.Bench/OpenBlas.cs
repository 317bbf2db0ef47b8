using System.Runtime.InteropServices;

namespace ActorTrainer.Bench;

/// <summary>P/Invoke to the system OpenBLAS (Debian libopenblas0-pthread, libopenblas.so.0); benchmark comparator only.</summary>
internal static unsafe partial class OpenBlas
{
    private const string Lib = "libopenblas.so.0";
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    [LibraryImport(Lib, EntryPoint = "cblas_sgemm")]
    private static partial void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    [LibraryImport(Lib, EntryPoint = "openblas_get_corename")]
    private static partial nint openblas_get_corename();

    [LibraryImport(Lib, EntryPoint = "openblas_get_num_threads")]
    private static partial int openblas_get_num_threads();

    /// <summary>True when libopenblas.so.0 can be loaded.</summary>
    internal static bool IsAvailable => NativeLibrary.TryLoad(Lib, out _);

    /// <summary>Core type OpenBLAS selected (e.g. "Zen", "SkylakeX", "Haswell").</summary>
    internal static string CoreName => Marshal.PtrToStringAnsi(openblas_get_corename()) ?? "?";

    /// <summary>A line warning that OpenBLAS chose kernels far below this CPU (0.3.21 picks its SSE3 "Prescott" kernels for a
    /// CPU model it does not know, e.g. Emerald Rapids), naming the OPENBLAS_CORETYPE to set; null when its choice fits.</summary>
    internal static string? DetectionGap()
    {
        var core = CoreName;
        if (core is not ("Prescott" or "Core2" or "Penryn" or "Nehalem" or "Dunnington" or "Katmai" or "Atom")) return null;
        var flags = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags")) ?? "" : "";
        var words = flags.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string? nearest = words.Contains("avx512f") ? (words.Contains("avx512_bf16") ? "Cooperlake" : "SkylakeX")
                        : words.Contains("avx2") ? (File.ReadAllText("/proc/cpuinfo").Contains("AuthenticAMD") ? "Zen" : "Haswell") : null;
        return nearest is null ? null
            : $"warning: OpenBLAS chose its '{core}' kernels for a CPU it does not know; this CPU has {(nearest is "Cooperlake" or "SkylakeX" ? "avx512f" : "avx2")}: " +
              $"run with OPENBLAS_CORETYPE={nearest} (the nearest CPU it knows) to compare against its real kernels";
    }

    /// <summary>Threads OpenBLAS will use.</summary>
    internal static int Threads => openblas_get_num_threads();

    /// <summary>Row-major C = alpha·op(A)·op(B) + beta·C via cblas_sgemm.</summary>
    internal static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
                               float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        fixed (float* pa = a) fixed (float* pb = b) fixed (float* pc = c)
            cblas_sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha,
                        pa, lda, pb, ldb, beta, pc, ldc);
    }
}
