using ILGPU;

namespace ActorTrainer.Cuda.Kernels;

/// <summary>Loss forms passed to the loss kernel (Core LossKernels.lossAndGrad's cases).</summary>
internal static class LossCode
{
    /// <summary>Fused softmax + sparse / categorical crossentropy, fused sigmoid + binary crossentropy.</summary>
    public const int SparseSoftmax = 0, CategoricalSoftmax = 1, BinarySigmoid = 2;
    /// <summary>Keras' clipped probability forms (the gradient then goes back through the activation).</summary>
    public const int SparseProb = 3, CategoricalProb = 4, BinaryProb = 5, Mse = 6;

    /// <summary>The form Core's lossAndGrad uses for (loss, last activation).</summary>
    public static int Of(ActorTrainer.Core.Loss loss, ActorTrainer.Core.Activation act)
    {
        if (loss.IsSparseCategoricalCrossentropy) return act.IsSoftmax ? SparseSoftmax : SparseProb;
        if (loss.IsCategoricalCrossentropy) return act.IsSoftmax ? CategoricalSoftmax : CategoricalProb;
        if (loss.IsBinaryCrossentropy) return act.IsSigmoid ? BinarySigmoid : BinaryProb;
        return Mse;
    }

    /// <summary>True for the forms whose gradient w.r.t. y must still go back through the activation.</summary>
    public static bool IsProbabilityForm(int code) => code >= SparseProb;
}

/// <summary>Scalars of the loss kernel.</summary>
internal readonly struct LossArgs(int code, int width, float invBatch, int withGradient)
{
    public readonly int Code = code;
    public readonly int Width = width;
    public readonly float InvBatch = invBatch;
    public readonly int WithGradient = withGradient;
}

/// <summary>Per-row loss, metric hit and gradient on the device, as Core's LossKernels (Keras' definitions): one thread
/// per row writes rowLoss[r] (the row's loss), rowHit[r] (accuracy hit, or for binary losses the count of matching outputs) and, when
/// asked, dz[r, :] = ∂(Σ loss / batch)/∂(z or y). A non-finite row loss sets bit 1 of flag[0].</summary>
internal static class LossKernels
{
    private const float Eps = 1e-7f;

    private static float Clip(float p) => p < Eps ? Eps : p > 1f - Eps ? 1f - Eps : p;

    private static int ArgMax(ArrayView<float> v, long o, int width)
    {
        int best = 0;
        for (int j = 1; j < width; j++) if (v[o + j] > v[o + best]) best = j;
        return best;
    }

    /// <summary>The kernel: see the class.</summary>
    public static void Rows(Index1D r, LossArgs a, ArrayView<float> z, ArrayView<float> y, ArrayView<int> labels,
                            ArrayView<float> targets, ArrayView<float> dz, ArrayView<float> rowLoss, ArrayView<float> rowHit,
                            ArrayView<int> flag)
    {
        int w = a.Width;
        long o = (long)(int)r * w;
        float loss = a.Code switch
        {
            LossCode.SparseSoftmax => SparseSoftmax(a, z, y, labels[r], dz, o),
            LossCode.CategoricalSoftmax => CategoricalSoftmax(a, z, y, targets, dz, o),
            LossCode.BinarySigmoid => BinarySigmoid(a, z, y, targets, dz, o),
            LossCode.SparseProb => SparseProb(a, y, labels[r], dz, o),
            LossCode.CategoricalProb => CategoricalProb(a, y, targets, dz, o),
            LossCode.BinaryProb => BinaryProb(a, y, targets, dz, o),
            _ => Mse(a, y, targets, dz, o),
        };
        rowLoss[r] = loss;
        rowHit[r] = Hit(a, y, labels, targets, r, o);
        if (!(loss - loss == 0f)) Atomic.Or(ref flag[0], 1);
    }

    private static float Hit(LossArgs a, ArrayView<float> y, ArrayView<int> labels, ArrayView<float> targets, int r, long o)
    {
        int w = a.Width;
        if (a.Code == LossCode.SparseSoftmax || a.Code == LossCode.SparseProb) return ArgMax(y, o, w) == labels[r] ? 1f : 0f;
        if (a.Code == LossCode.BinarySigmoid || a.Code == LossCode.BinaryProb)
        {
            int hits = 0;
            for (int j = 0; j < w; j++) if ((y[o + j] > 0.5f) == (targets[o + j] > 0.5f)) hits++;
            return hits;                                     // the host divides by the width (in float64, as the CPU)
        }
        if (w == 1) return (y[o] > 0.5f) == (targets[o] > 0.5f) ? 1f : 0f;
        return ArgMax(y, o, w) == ArgMax(targets, o, w) ? 1f : 0f;
    }

    private static float LogSumExp(ArrayView<float> z, long o, int w)
    {
        float max = float.NegativeInfinity;
        for (int j = 0; j < w; j++) if (z[o + j] > max) max = z[o + j];
        float s = 0f;
        for (int j = 0; j < w; j++) s += MathF.Exp(z[o + j] - max);
        return max + MathF.Log(s);
    }

    private static float SparseSoftmax(LossArgs a, ArrayView<float> z, ArrayView<float> y, int l, ArrayView<float> dz, long o)
    {
        float loss = LogSumExp(z, o, a.Width) - z[o + l];
        if (a.WithGradient != 0)
        {
            for (int j = 0; j < a.Width; j++) dz[o + j] = y[o + j] * a.InvBatch;
            dz[o + l] = (y[o + l] - 1f) * a.InvBatch;
        }
        return loss;
    }

    private static float CategoricalSoftmax(LossArgs a, ArrayView<float> z, ArrayView<float> y, ArrayView<float> t, ArrayView<float> dz, long o)
    {
        float lse = LogSumExp(z, o, a.Width);
        float loss = 0f, tsum = 0f;
        for (int j = 0; j < a.Width; j++) { loss += t[o + j] * (lse - z[o + j]); tsum += t[o + j]; }
        if (a.WithGradient != 0)
            for (int j = 0; j < a.Width; j++) dz[o + j] = (y[o + j] * tsum - t[o + j]) * a.InvBatch;
        return loss;
    }

    private static float BinarySigmoid(LossArgs a, ArrayView<float> z, ArrayView<float> y, ArrayView<float> t, ArrayView<float> dz, long o)
    {
        float loss = 0f;
        float invBW = a.InvBatch / a.Width;
        for (int j = 0; j < a.Width; j++)
        {
            float zi = z[o + j], ti = t[o + j];
            loss += MathF.Max(zi, 0f) - zi * ti + MathF.Log(1f + MathF.Exp(-MathF.Abs(zi)));
            if (a.WithGradient != 0) dz[o + j] = (y[o + j] - ti) * invBW;
        }
        return loss / a.Width;
    }

    private static float SparseProb(LossArgs a, ArrayView<float> y, int l, ArrayView<float> dz, long o)
    {
        float s = 0f;
        for (int j = 0; j < a.Width; j++) s += Clip(y[o + j]);
        if (a.WithGradient != 0)
            for (int j = 0; j < a.Width; j++)
            {
                float yj = y[o + j];
                bool inside = yj > Eps && yj < 1f - Eps;
                float g = 1f / s - (j == l ? 1f / Clip(yj) : 0f);
                dz[o + j] = inside ? g * a.InvBatch : 0f;
            }
        return MathF.Log(s) - MathF.Log(Clip(y[o + l]));
    }

    private static float CategoricalProb(LossArgs a, ArrayView<float> y, ArrayView<float> t, ArrayView<float> dz, long o)
    {
        float s = 0f;
        for (int j = 0; j < a.Width; j++) s += y[o + j];
        float loss = 0f;
        for (int j = 0; j < a.Width; j++) loss -= t[o + j] * MathF.Log(Clip(y[o + j] / s));
        if (a.WithGradient != 0)
        {
            float dot = 0f;
            for (int j = 0; j < a.Width; j++)
            {
                float q = y[o + j] / s;
                float dq = q > Eps && q < 1f - Eps ? -t[o + j] / q : 0f;
                dz[o + j] = dq;
                dot += dq * q;
            }
            for (int j = 0; j < a.Width; j++) dz[o + j] = (dz[o + j] - dot) / s * a.InvBatch;
        }
        return loss;
    }

    private static float BinaryProb(LossArgs a, ArrayView<float> y, ArrayView<float> t, ArrayView<float> dz, long o)
    {
        float loss = 0f;
        for (int j = 0; j < a.Width; j++)
        {
            float p = Clip(y[o + j]), tj = t[o + j];
            loss -= tj * MathF.Log(p) + (1f - tj) * MathF.Log(1f - p);
            if (a.WithGradient != 0)
            {
                bool inside = y[o + j] > Eps && y[o + j] < 1f - Eps;
                dz[o + j] = inside ? (-tj / p + (1f - tj) / (1f - p)) * a.InvBatch / a.Width : 0f;
            }
        }
        return loss / a.Width;
    }

    private static float Mse(LossArgs a, ArrayView<float> y, ArrayView<float> t, ArrayView<float> dz, long o)
    {
        float loss = 0f;
        for (int j = 0; j < a.Width; j++)
        {
            float d = y[o + j] - t[o + j];
            loss += d * d;
            if (a.WithGradient != 0) dz[o + j] = 2f * d * a.InvBatch / a.Width;
        }
        return loss / a.Width;
    }
}
