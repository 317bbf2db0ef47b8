using ILGPU;

namespace ActorTrainer.Cuda.Kernels;

/// <summary>Activation codes passed to kernels (the order of Core's Activation cases).</summary>
internal static class ActCode
{
    public const int Linear = 0, Relu = 1, Sigmoid = 2, Tanh = 3, Softmax = 4;

    /// <summary>The kernel code of a Core activation.</summary>
    public static int Of(ActorTrainer.Core.Activation a) =>
        a.IsRelu ? Relu : a.IsSigmoid ? Sigmoid : a.IsTanh ? Tanh : a.IsSoftmax ? Softmax : Linear;
}

/// <summary>ILGPU kernels of the layers' forward and backward passes on row-major (rows × width) device buffers;
/// one thread per element (or per row / column where a row or column is reduced, always in index order, so results
/// are identical run to run). The math is the CPU engine's (LayerKernels.fs, CanonicalMath): same formulas, not the
/// same bits (the GPU's exp/tanh and GEMM summation differ).</summary>
internal static class LayerKernels
{
    /// <summary>dst[r, j] = src[order[start + r], j] for r &lt; rows: gathers a batch of rows of a (n × width) matrix.</summary>
    public static void GatherRows(Index1D i, ArrayView<float> src, ArrayView<int> order, int start, int width, ArrayView<float> dst)
    {
        int r = i / width;
        int j = i - r * width;
        dst[i] = src[(long)order[start + r] * width + j];
    }

    /// <summary>dst[r] = src[order[start + r]]: gathers a batch of labels.</summary>
    public static void GatherInts(Index1D r, ArrayView<int> src, ArrayView<int> order, int start, ArrayView<int> dst) =>
        dst[r] = src[order[start + r]];

    /// <summary>y = act(x) element-wise for linear, relu, sigmoid, tanh (softmax has its own row kernel).</summary>
    public static float Activate(float v, int act) => act switch
    {
        ActCode.Relu => v > 0f ? v : float.IsNaN(v) ? v : 0f,        // NaN propagates, as max(z, 0) does on the CPU
        ActCode.Sigmoid => 1f / (1f + MathF.Exp(-v)),
        ActCode.Tanh => MathF.Tanh(v),
        _ => v,
    };

    /// <summary>z[i] += b[i mod units] (when hasBias) and y[i] = act(z[i]); z and y may be the same buffer.</summary>
    public static void BiasActivation(Index1D i, ArrayView<float> z, ArrayView<float> bias, int hasBias, int units, int act, ArrayView<float> y)
    {
        float v = z[i];
        if (hasBias != 0) v += bias[i % units];
        z[i] = v;
        y[i] = Activate(v, act);
    }

    /// <summary>Per row r: z[r, :] += b (when hasBias), y[r, :] = softmax(z[r, :]) = e^{z − max} / Σ e^{z − max}.</summary>
    public static void BiasSoftmaxRows(Index1D r, ArrayView<float> z, ArrayView<float> bias, int hasBias, int units, ArrayView<float> y)
    {
        long o = (long)(int)r * units;
        float max = float.NegativeInfinity;
        for (int j = 0; j < units; j++)
        {
            float v = z[o + j];
            if (hasBias != 0) v += bias[j];
            z[o + j] = v;
            if (v > max) max = v;
        }
        float sum = 0f;
        for (int j = 0; j < units; j++)
        {
            float e = MathF.Exp(z[o + j] - max);
            y[o + j] = e;
            sum += e;
        }
        for (int j = 0; j < units; j++) y[o + j] = y[o + j] / sum;
    }

    /// <summary>g ← g ⊙ act'(z) given y = act(z): relu (0 where y ≤ 0), sigmoid y(1 − y), tanh 1 − y².</summary>
    public static void ActivationBackward(Index1D i, ArrayView<float> y, ArrayView<float> g, int act)
    {
        float yi = y[i];
        if (act == ActCode.Relu) { if (yi <= 0f) g[i] = 0f; }
        else if (act == ActCode.Sigmoid) g[i] = g[i] * (yi * (1f - yi));
        else if (act == ActCode.Tanh) g[i] = g[i] * (1f - yi * yi);
    }

    /// <summary>Per row: g ← y ⊙ (g − Σ_j g_j·y_j), the softmax Jacobian-vector product.</summary>
    public static void SoftmaxBackwardRows(Index1D r, ArrayView<float> y, ArrayView<float> g, int units)
    {
        long o = (long)(int)r * units;
        float dot = 0f;
        for (int j = 0; j < units; j++) dot += g[o + j] * y[o + j];
        for (int j = 0; j < units; j++) g[o + j] = y[o + j] * (g[o + j] - dot);
    }

    /// <summary>db[j] = Σ_r g[r, j] over rows, in row order (the bias gradient).</summary>
    public static void ColumnSum(Index1D j, ArrayView<float> g, int rows, int units, ArrayView<float> db)
    {
        float s = 0f;
        for (int r = 0; r < rows; r++) s += g[(long)r * units + j];
        db[j] = s;
    }

    /// <summary>y[i] = x[i] (dropout at inference, and in training with rate 0).</summary>
    public static void Copy(Index1D i, ArrayView<float> x, ArrayView<float> y) => y[i] = x[i];

    /// <summary>y[i] = x[i]·m[i] (dropout forward with its mask, and backward on the gradient); may alias.</summary>
    public static void Multiply(Index1D i, ArrayView<float> x, ArrayView<float> m, ArrayView<float> y) => y[i] = x[i] * m[i];
}
