using System.Reflection;
using ActorTrainer.Cuda.Blas;
using Xunit;
using Xunit.Abstractions;

namespace ActorTrainer.Cuda.Tests;

/// <summary>The device kernels compile to PTX here, without a GPU.</summary>
public sealed class PtxCheckTests(ITestOutputHelper output)
{
    [Fact]
    public void The_gemm_kernel_compiles_to_PTX_for_SM_90_without_a_GPU()
    {
        var kernel = typeof(SgemmKernel).GetMethod(nameof(SgemmKernel.Kernel), BindingFlags.NonPublic | BindingFlags.Static)!;
        var ptx = PtxCheck.CompileToPtx(kernel);
        Assert.Contains(".visible .entry", ptx);
        Assert.Contains(".target sm_80", ptx); // ILGPU 1.5.3's newest PTX target; JIT-compiled for SM_90 by the driver
        Assert.Contains("bar.sync", ptx);      // the group barriers survived
        Assert.Contains("ld.shared.f32", ptx); // the tiles are read from shared memory
        Assert.DoesNotContain("ld.local", ptx); // the 4×4 accumulators live in registers, not local memory
        output.WriteLine(ptx.Length + " characters of PTX");
    }

    public static TheoryData<string> BackendKernels() => new(
        from t in new[] { typeof(ActorTrainer.Cuda.Kernels.LayerKernels), typeof(ActorTrainer.Cuda.Kernels.DropoutKernel),
                          typeof(ActorTrainer.Cuda.Kernels.LossKernels), typeof(ActorTrainer.Cuda.Kernels.OptimizerKernels) }
        from m in t.GetMethods(BindingFlags.Public | BindingFlags.Static)
        where m.GetParameters() is [{ ParameterType.Name: "Index1D" }, ..]
        select t.Name + "." + m.Name);

    /// <summary>Every kernel the training step launches (layers, dropout, losses, optimizers: exp/log/tanh, 64-bit
    /// hashing, atomics) compiles for the H200.</summary>
    [Theory]
    [MemberData(nameof(BackendKernels))]
    public void Every_training_kernel_compiles_to_PTX_for_SM_90(string name)
    {
        var parts = name.Split('.');
        var type = typeof(ActorTrainer.Cuda.Kernels.DeviceKernels).Assembly.GetType("ActorTrainer.Cuda.Kernels." + parts[0])!;
        var ptx = PtxCheck.CompileToPtx(type.GetMethod(parts[1], BindingFlags.Public | BindingFlags.Static)!, implicitlyGrouped: true);
        Assert.Contains(".visible .entry", ptx);
    }
}
