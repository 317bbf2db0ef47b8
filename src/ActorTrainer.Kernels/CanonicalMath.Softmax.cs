using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace ActorTrainer.Kernels;

/// <summary>
/// The softmax family, written once for the engine, the tape's activation op and the tensor ops (Tensor.Softmax,
/// Tensor.LogSoftmax): row softmax, log-sum-exp and log-softmax with their backward (Jacobian-vector) products,
/// in float32 and float64, over the canonical exp/log and the canonical (order-fixed) sums.
/// </summary>
public static partial class CanonicalMath
{
    /// <summary>Row softmax (float32): m = max z; y = e^{z−m} / Σ e^{z−m} with the canonical sum. z and y may alias.</summary>
    public static void Softmax(ReadOnlySpan<float> z, Span<float> y) => SoftmaxCore(z, y);

    /// <summary>Row softmax (float64): m = max z; y = e^{z−m} / Σ e^{z−m} with the canonical sum. z and y may alias.</summary>
    public static void Softmax(ReadOnlySpan<double> z, Span<double> y) => SoftmaxCore(z, y);

    /// <summary>log Σ e^{z_j} (float32) = m + ln Σ e^{z_j − m}, m = max z, summed in the canonical order.</summary>
    public static float LogSumExp(ReadOnlySpan<float> z) => LogSumExpCore(z);

    /// <summary>log Σ e^{z_j} (float64) = m + ln Σ e^{z_j − m}, m = max z, summed in the canonical order.</summary>
    public static double LogSumExp(ReadOnlySpan<double> z) => LogSumExpCore(z);

    private static void SoftmaxCore<T>(ReadOnlySpan<T> z, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T m = TensorPrimitives.Max(z);
        TensorPrimitives.Subtract(z, m, y);
        ExpInPlace(y);
        T s = CanonicalReduce.SumOf<T>(y);
        TensorPrimitives.Divide(y, s, y);
    }

    private static T LogSumExpCore<T>(ReadOnlySpan<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T m = TensorPrimitives.Max(z);
        if (T.IsInfinity(m) || T.IsNaN(m)) return m;
        const int chunk = 256;
        Span<T> e = stackalloc T[Math.Min(chunk, z.Length)];
        T s = T.Zero;
        for (int i = 0; i < z.Length; i += chunk)
        {
            var part = e.Slice(0, Math.Min(chunk, z.Length - i));
            TensorPrimitives.Subtract(z.Slice(i, part.Length), m, part);
            ExpInPlace(part);
            s += CanonicalReduce.SumOf<T>(part);
        }
        // float32: Log(float) is the float64 log rounded once, exactly this conversion
        return m + T.CreateTruncating(Log(double.CreateTruncating(s)));
    }

    private static void ExpInPlace<T>(Span<T> y) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            var f = MemoryMarshal.Cast<T, float>(y);
            Map(Function.Exp, f, f);
        }
        else
        {
            var d = MemoryMarshal.Cast<T, double>(y);
            Map(Function.Exp, d, d);
        }
    }

    /// <summary>Softmax backward (Jacobian-vector product) of one row, in place (float32): g ← y ⊙ (g − Σ g⊙y), y = softmax(z).</summary>
    public static void SoftmaxBackward(ReadOnlySpan<float> y, Span<float> g)
    {
        float dot = CanonicalReduce.Dot(g, y);
        for (int j = 0; j < g.Length; j++) g[j] = y[j] * (g[j] - dot);
    }

    /// <summary>Softmax backward of one row, in place (float64): g ← y ⊙ (g − Σ g⊙y), y = softmax(z).</summary>
    public static void SoftmaxBackward(ReadOnlySpan<double> y, Span<double> g)
    {
        double dot = CanonicalReduce.Dot(g, y);
        for (int j = 0; j < g.Length; j++) g[j] = y[j] * (g[j] - dot);
    }

    /// <summary>Row log-softmax (float32): y = z − log Σ e^{z} (LogSumExp). z and y may alias.</summary>
    public static void LogSoftmax(ReadOnlySpan<float> z, Span<float> y) => TensorPrimitives.Subtract(z, LogSumExp(z), y);

    /// <summary>Row log-softmax (float64): y = z − log Σ e^{z} (LogSumExp). z and y may alias.</summary>
    public static void LogSoftmax(ReadOnlySpan<double> z, Span<double> y) => TensorPrimitives.Subtract(z, LogSumExp(z), y);

    /// <summary>Log-softmax backward of one row, in place (float32): g ← g − e^{y}·Σg, y = log_softmax(z).</summary>
    public static void LogSoftmaxBackward(ReadOnlySpan<float> y, Span<float> g)
    {
        float s = CanonicalReduce.Sum(g);
        for (int j = 0; j < g.Length; j++) g[j] -= Exp(y[j]) * s;
    }

    /// <summary>Log-softmax backward of one row, in place (float64): g ← g − e^{y}·Σg, y = log_softmax(z).</summary>
    public static void LogSoftmaxBackward(ReadOnlySpan<double> y, Span<double> g)
    {
        double s = CanonicalReduce.Sum(g);
        for (int j = 0; j < g.Length; j++) g[j] -= Exp(y[j]) * s;
    }
}
