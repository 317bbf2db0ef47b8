using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
namespace ActorTrainer.Kernels;

/// <summary>
/// Derivatives of the elementwise activations from their outputs, written once for the engine
/// (ActivationKernels.backward), the tape's activation op and the tensor ops (Tensor.Relu, Tensor.Sigmoid,
/// Tensor.Tanh): g ← g ⊙ act'(z) given y = act(z), in place on g; y and g of equal length.
/// </summary>
public static partial class CanonicalMath
{
    /// <summary>relu'(z) from y = max(z, 0): g ← 0 where y ≤ 0 (float32).</summary>
    public static void ReluBackward(ReadOnlySpan<float> y, Span<float> g)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated && y.Length >= g.Length)
        {
            ref float yr = ref MemoryMarshal.GetReference(y);
            ref float gr = ref MemoryMarshal.GetReference(g);
            // g & ~(y ≤ 0): +0 where y ≤ 0, g elsewhere (also where y is NaN), as the scalar loop
            for (; i + 8 <= g.Length; i += 8)
            {
                var dead = Vector256.LessThanOrEqual(Vector256.LoadUnsafe(ref yr, (nuint)i), Vector256<float>.Zero);
                Vector256.AndNot(Vector256.LoadUnsafe(ref gr, (nuint)i), dead).StoreUnsafe(ref gr, (nuint)i);
            }
        }
        for (; i < g.Length; i++) if (y[i] <= 0f) g[i] = 0f;
    }

    /// <summary>relu'(z) from y = max(z, 0): g ← 0 where y ≤ 0 (float64).</summary>
    public static void ReluBackward(ReadOnlySpan<double> y, Span<double> g)
    {
        for (int i = 0; i < g.Length; i++) if (y[i] <= 0.0) g[i] = 0.0;
    }

    /// <summary>σ'(z) = y(1 − y): g ← g · (y · (1 − y)) (float32).</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> y, Span<float> g)
    {
        for (int i = 0; i < g.Length; i++) g[i] = g[i] * (y[i] * (1f - y[i]));
    }

    /// <summary>σ'(z) = y(1 − y): g ← g · (y · (1 − y)) (float64).</summary>
    public static void SigmoidBackward(ReadOnlySpan<double> y, Span<double> g)
    {
        for (int i = 0; i < g.Length; i++) g[i] = g[i] * (y[i] * (1.0 - y[i]));
    }

    /// <summary>tanh'(z) = 1 − y²: g ← g · (1 − y·y) (float32).</summary>
    public static void TanhBackward(ReadOnlySpan<float> y, Span<float> g)
    {
        for (int i = 0; i < g.Length; i++) g[i] = g[i] * (1f - y[i] * y[i]);
    }

    /// <summary>tanh'(z) = 1 − y²: g ← g · (1 − y·y) (float64).</summary>
    public static void TanhBackward(ReadOnlySpan<double> y, Span<double> g)
    {
        for (int i = 0; i < g.Length; i++) g[i] = g[i] * (1.0 - y[i] * y[i]);
    }
}
