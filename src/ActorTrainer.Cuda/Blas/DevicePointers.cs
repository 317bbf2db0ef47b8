using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda.Blas;

/// <summary>Raw device addresses of ILGPU views, for native libraries (cuBLAS) that take pointers.</summary>
internal static class DevicePointers
{
    /// <summary>Address of element 0 of `view`: its buffer's base pointer (MemoryBuffer.NativePtr) + the view's element
    /// offset·sizeof(float) bytes, as ILGPU's host-side LoadEffectiveAddressAsPtr computes it (ArrayView's Buffer and
    /// Index are not public in ILGPU 1.5); IntPtr.Zero for an empty or default view.</summary>
    internal static IntPtr Of(ArrayView<float> view)
    {
        if (!view.IsValid || view.Length == 0) return IntPtr.Zero;
        return view.LoadEffectiveAddressAsPtr();
    }
}
