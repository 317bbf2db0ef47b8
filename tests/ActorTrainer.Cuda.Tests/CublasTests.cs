using System.Runtime.InteropServices;
using ActorTrainer.Cuda.Blas;
using Xunit;
using Xunit.Abstractions;

namespace ActorTrainer.Cuda.Tests;

/// <summary>What of the cuBLAS binding can be checked without a GPU: library resolution failure, status translation,
/// version text and device pointers of views (on the CPU accelerator, whose buffers have native pointers too).</summary>
public sealed class CublasTests(CpuAcceleratorFixture fixture, ITestOutputHelper output) : IClassFixture<CpuAcceleratorFixture>
{
    [Fact]
    public void Create_without_libcublas_throws_CudaUnavailable_naming_what_was_tried_and_the_fallback()
    {
        if (NativeLibrary.TryLoad("libcublas.so.13", out var handle) || Environment.GetEnvironmentVariable("CUBLAS_LIB") is { Length: > 0 })
        {
            if (handle != IntPtr.Zero) NativeLibrary.Free(handle);
            output.WriteLine("SKIPPED: a libcublas is installed here (or CUBLAS_LIB is set), so the missing-library path cannot be tested.");
            return;
        }
        var e = Assert.Throws<CudaUnavailableException>(() => Cublas.Create(null!, tf32: false));
        Assert.Contains("libcublas", e.Message);
        Assert.Contains("--set trainer.backend=cpu", e.Message);
        Assert.Contains(CudaUnavailableException.Fallback, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Statuses_become_exceptions_naming_the_call_and_status()
    {
        CublasStatus.Check(0, "cublasSgemm_v2");
        var oom = Assert.Throws<CudaOutOfMemoryException>(() => CublasStatus.Check(3, "cublasCreate_v2"));
        Assert.Contains("cublasCreate_v2", oom.Message);
        Assert.Contains("CUBLAS_STATUS_ALLOC_FAILED", oom.Message);
        foreach (var (status, name) in new[] { (1, "NOT_INITIALIZED"), (7, "INVALID_VALUE"), (8, "ARCH_MISMATCH"), (11, "MAPPING_ERROR"),
                     (13, "EXECUTION_FAILED"), (14, "INTERNAL_ERROR"), (15, "NOT_SUPPORTED"), (16, "LICENSE_ERROR"), (99, "cublasStatus_t 99") })
        {
            var e = Assert.Throws<CublasException>(() => CublasStatus.Check(status, "cublasSgemm_v2"));
            Assert.Contains("cublasSgemm_v2", e.Message);
            Assert.Contains(name, e.Message);
            Assert.Equal(status, e.Status);
            Assert.Equal("cublasSgemm_v2", e.Call);
        }
    }

    [Fact]
    public void Version_text_is_major_minor_patch() => Assert.Equal("13.1.0", Cublas.VersionText(130100));

    [Fact]
    public void Candidates_try_CUBLAS_LIB_first_then_versioned_names()
    {
        var names = CublasNative.Candidates();
        if (!OperatingSystem.IsWindows())
            Assert.Equal(["libcublas.so.13", "libcublas.so.12", "libcublas.so"], names.TakeLast(3));
    }

    [Fact]
    public void A_subview_pointer_is_the_buffer_base_plus_its_offset_times_four()
    {
        using var buffer = fixture.Accelerator.Allocate1D<float>(64);
        var basePtr = buffer.NativePtr;
        Assert.NotEqual(IntPtr.Zero, basePtr);
        Assert.Equal(basePtr, DevicePointers.Of(buffer.View));
        Assert.Equal(basePtr + 5 * 4, DevicePointers.Of(buffer.View.SubView(5, 10)));
        Assert.Equal(basePtr + (5 + 3) * 4, DevicePointers.Of(buffer.View.SubView(5, 10).SubView(3, 2)));
        Assert.Equal(IntPtr.Zero, DevicePointers.Of(default));
    }
}
