using System.Numerics.Tensors;

namespace ActorTrainer.Kernels;

/// <summary>
/// The softmax family, written once for the engine, the tape's activation op and the tensor ops (Tensor.Softmax,
/// Tensor.LogSoftmax): row softmax, log-sum-exp and log-softmax with their backward (Jacobian-vector) products,
/// in float32 and float64, over the canonical exp/log and the canonical (order-fixed) sums.
/// </summary>
public static partial class CanonicalMath
{
    /// <summary>Row softmax (float32): m = max z; y = e^{z−m} / Σ e^{z−m} with the canonical sum. z and y may alias.</summary>
    public static void Softmax(ReadOnlySpan<float> z, Span<float> y)
    {
        float m = TensorPrimitives.Max(z);
        TensorPrimitives.Subtract(z, m, y);
        Map(Function.Exp, y, y);
        float s = CanonicalReduce.Sum(y);
        TensorPrimitives.Divide(y, s, y);
    }

    /// <summary>log Σ e^{z_j} (float32) = m + ln Σ e^{z_j − m}, m = max z, summed in the canonical order.</summary>
    public static float LogSumExp(ReadOnlySpan<float> z)
    {
        float m = TensorPrimitives.Max(z);
        if (float.IsInfinity(m) || float.IsNaN(m)) return m;
        const int chunk = 256;
        Span<float> e = stackalloc float[Math.Min(chunk, z.Length)];
        float s = 0f;
        for (int i = 0; i < z.Length; i += chunk)
        {
            var part = e.Slice(0, Math.Min(chunk, z.Length - i));
            TensorPrimitives.Subtract(z.Slice(i, part.Length), m, part);
            Map(Function.Exp, part, part);
            s += CanonicalReduce.Sum(part);
        }
        return m + Log(s);
    }

    /// <summary>Row softmax (float64): m = max z; y = e^{z−m} / Σ e^{z−m} with the canonical sum. z and y may alias.</summary>
    public static void Softmax(ReadOnlySpan<double> z, Span<double> y)
    {
        double m = TensorPrimitives.Max(z);
        TensorPrimitives.Subtract(z, m, y);
        Map(Function.Exp, y, y);
        double s = CanonicalReduce.Sum(y);
        TensorPrimitives.Divide(y, s, y);
    }

    /// <summary>log Σ e^{z_j} (float64) = m + ln Σ e^{z_j − m}, m = max z, summed in the canonical order.</summary>
    public static double LogSumExp(ReadOnlySpan<double> z)
    {
        double m = TensorPrimitives.Max(z);
        if (double.IsInfinity(m) || double.IsNaN(m)) return m;
        const int chunk = 256;
        Span<double> e = stackalloc double[Math.Min(chunk, z.Length)];
        double s = 0.0;
        for (int i = 0; i < z.Length; i += chunk)
        {
            var part = e.Slice(0, Math.Min(chunk, z.Length - i));
            TensorPrimitives.Subtract(z.Slice(i, part.Length), m, part);
            Map(Function.Exp, part, part);
            s += CanonicalReduce.Sum(part);
        }
        return m + Log(s);
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
