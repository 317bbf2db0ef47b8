using System.Reflection;
using System.Runtime.InteropServices;

namespace ActorTrainer.Cuda.Blas;

/// <summary>P/Invoke declarations of the cuBLAS v2 functions we use, and the resolution of the "cublas" library name
/// to an installed libcublas ($CUBLAS_LIB, then the versioned sonames / DLL names). Each function returns a
/// cublasStatus_t (check it with <see cref="CublasStatus.Check"/>).</summary>
internal static class CublasNative
{
    private const string Library = "cublas";
    private static readonly object Gate = new();
    private static IntPtr _handle;
    private static string? _tried;

    /// <summary>Registers the DllImport resolver for this assembly (once per assembly, so only here; it answers only
    /// for <see cref="Library"/> and leaves every other name to the default probing).</summary>
    static CublasNative() => NativeLibrary.SetDllImportResolver(typeof(CublasNative).Assembly, Resolve);

    /// <summary>Library names tried in order: $CUBLAS_LIB when set, then the CUDA 13 / 12 / unversioned names.</summary>
    internal static IReadOnlyList<string> Candidates()
    {
        var names = new List<string>();
        var fromEnv = Environment.GetEnvironmentVariable("CUBLAS_LIB");
        if (!string.IsNullOrWhiteSpace(fromEnv)) names.Add(fromEnv);
        if (OperatingSystem.IsWindows()) names.AddRange(["cublas64_13.dll", "cublas64_12.dll"]);
        else names.AddRange(["libcublas.so.13", "libcublas.so.12", "libcublas.so"]);
        return names;
    }

    /// <summary>Loads libcublas (first success is kept), or throws <see cref="CudaUnavailableException"/> with one line
    /// naming what was tried and the CPU fallback.</summary>
    internal static void EnsureLoaded()
    {
        if (TryLoad() != IntPtr.Zero) return;
        throw new CudaUnavailableException(
            $"trainer.backend = cuda: cuBLAS could not be loaded (tried {_tried}; set CUBLAS_LIB to the full path of libcublas.so.13 " +
            $"from the CUDA toolkit); {CudaUnavailableException.Fallback}");
    }

    private static IntPtr TryLoad()
    {
        lock (Gate)
        {
            if (_handle != IntPtr.Zero) return _handle;
            var fromEnv = Environment.GetEnvironmentVariable("CUBLAS_LIB");
            var tried = new List<string>();
            foreach (var name in Candidates())
            {
                tried.Add(name == fromEnv ? $"CUBLAS_LIB={name}" : name);
                if (NativeLibrary.TryLoad(name, out _handle)) return _handle;
            }
            _tried = string.Join(", ", tried);
            return IntPtr.Zero;
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == Library ? TryLoad() : IntPtr.Zero;

    [DllImport(Library)] internal static extern int cublasCreate_v2(out IntPtr handle);
    [DllImport(Library)] internal static extern int cublasDestroy_v2(IntPtr handle);
    [DllImport(Library)] internal static extern int cublasSetStream_v2(IntPtr handle, IntPtr stream);
    [DllImport(Library)] internal static extern int cublasSetMathMode(IntPtr handle, int mode);
    [DllImport(Library)] internal static extern int cublasGetVersion_v2(IntPtr handle, out int version);

    [DllImport(Library)]
    internal static extern int cublasSgemm_v2(IntPtr handle, int transa, int transb, int m, int n, int k,
        ref float alpha, IntPtr a, int lda, IntPtr b, int ldb, ref float beta, IntPtr c, int ldc);
}
