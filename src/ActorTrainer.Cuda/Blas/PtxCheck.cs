using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace ActorTrainer.Cuda.Blas;

/// <summary>Compiles an ILGPU kernel to PTX without a GPU (ILGPU's PTX backend on a CPU-only context, default optimisation level like DeviceContext), so CI on
/// machines without CUDA still checks that the device kernels compile for the target GPU.</summary>
internal static class PtxCheck
{
    /// <summary>The PTX text of explicitly grouped `kernel` for `architecture` (default SM_90, the H200) and
    /// `instructionSet` (default PTX ISA 8.0, CUDA 12.0+); throws ILGPU's compile exception when the kernel uses
    /// something the PTX backend cannot translate. ILGPU 1.5.3 rounds the target down to the newest one it knows:
    /// SM_86…SM_90 give <c>.target sm_80</c>, which the driver JIT-compiles for the device (a CudaAccelerator does the same).
    /// Set implicitlyGrouped for a kernel launched with LoadAutoGroupedStreamKernel (Index1D first).</summary>
    public static string CompileToPtx(MethodInfo kernel, CudaArchitecture? architecture = null,
        CudaInstructionSet? instructionSet = null, bool implicitlyGrouped = false)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        using var context = Context.Create(b => b.CPU().EnableAlgorithms());
        using var backend = new PTXBackend(context, architecture ?? CudaArchitecture.SM_90,
            instructionSet ?? CudaInstructionSet.ISA_80, nvvmAPI: null!);
        var entry = implicitlyGrouped ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
                                      : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
        return compiled.PTXAssembly;
    }
}
