using ILGPU;

namespace ActorTrainer.Cuda.Kernels;

/// <summary>Scalars of one optimizer update: the rule, the learning rate and up to four hyper-parameters (see
/// <see cref="OptimizerKernels.Update"/> for each rule's meaning), and a variant bit set.</summary>
internal readonly struct OptArgs(int rule, float lr, float p1, float p2, float p3, float p4, int variant)
{
    public const int Sgd = 0, RmsProp = 1, Adagrad = 2, Adam = 3;
    /// <summary>Variant bits: SGD/RMSprop momentum, SGD nesterov, RMSprop centered, Adam amsgrad.</summary>
    public const int Momentum = 1, Nesterov = 2, Centered = 4, Amsgrad = 8;
    public readonly int Rule = rule;
    public readonly float Lr = lr;
    public readonly float P1 = p1, P2 = p2, P3 = p3, P4 = p4;
    public readonly int Variant = variant;
}

/// <summary>The optimizers' element-wise updates over the flat parameter vector, in Keras' operation order (as Core's
/// Optimizers.fs, which is the definition): one thread per parameter; nothing is written when flag[0] ≠ 0 (the step's
/// loss or gradient was not finite), so a diverged step applies nothing.</summary>
internal static class OptimizerKernels
{
    /// <summary>flag[0] = 4 when it is not 0, else 0 (one thread): the flag of a step queued before the host has seen the
    /// previous step's, so that the previous step's divergence also stops this step's update.</summary>
    public static void CarryFlag(Index1D i, ArrayView<int> flag) => flag[0] = flag[0] != 0 ? 4 : 0;

    /// <summary>flag[0] |= 2 when g[i] is NaN or ±∞.</summary>
    public static void CheckFinite(Index1D i, ArrayView<float> g, ArrayView<int> flag)
    {
        float v = g[i];
        if (!(v - v == 0f)) Atomic.Or(ref flag[0], 2);
    }

    /// <summary>w[i], slots[i] ← rule(w[i], g[i], slots[i]). SGD: p1 = μ; m = μm − lr·g; w += m (nesterov: w += μm − lr·g),
    /// without momentum w −= g·lr. RMSprop: p1 = ρ, p2 = 1 − ρ, p3 = ε, p4 = μ; v = ρv + (1−ρ)g²; Δ = lr·g/√(v (− ḡ²) + ε);
    /// w −= Δ or m = μm + Δ, w −= m. Adagrad: p3 = ε; a += g²; w −= lr·g/√(a + ε). Adam: lr = α (bias-corrected on the
    /// host), p1 = 1 − β₁, p2 = 1 − β₂, p3 = ε; m += (g − m)(1−β₁); v += (g² − v)(1−β₂); w −= mα/(√v + ε) (amsgrad: √max v).</summary>
    public static void Update(Index1D i, OptArgs a, ArrayView<float> w, ArrayView<float> g, ArrayView<float> s0,
                              ArrayView<float> s1, ArrayView<float> s2, ArrayView<int> flag)
    {
        if (flag[0] != 0) return;
        float gi = g[i];
        if (a.Rule == OptArgs.Sgd) Sgd(i, a, w, gi, s0);
        else if (a.Rule == OptArgs.RmsProp) RmsProp(i, a, w, gi, s0, s1, s2);
        else if (a.Rule == OptArgs.Adagrad)
        {
            s0[i] = s0[i] + gi * gi;
            w[i] = w[i] - (a.Lr * gi) / MathF.Sqrt(s0[i] + a.P3);
        }
        else Adam(i, a, w, gi, s0, s1, s2);
    }

    private static void Sgd(int i, OptArgs a, ArrayView<float> w, float gi, ArrayView<float> m)
    {
        if ((a.Variant & OptArgs.Momentum) == 0) { w[i] = w[i] - gi * a.Lr; return; }
        float mi = m[i] * a.P1 - gi * a.Lr;
        m[i] = mi;
        w[i] = (a.Variant & OptArgs.Nesterov) != 0 ? w[i] + (mi * a.P1 - gi * a.Lr) : w[i] + mi;
    }

    private static void RmsProp(int i, OptArgs a, ArrayView<float> w, float gi, ArrayView<float> v, ArrayView<float> mom, ArrayView<float> avg)
    {
        float vi = a.P1 * v[i] + a.P2 * (gi * gi);
        v[i] = vi;
        float denom;
        if ((a.Variant & OptArgs.Centered) != 0)
        {
            float ai = a.P1 * avg[i] + a.P2 * gi;
            avg[i] = ai;
            denom = vi - ai * ai + a.P3;
        }
        else denom = vi + a.P3;
        float inc = (a.Lr * gi) / MathF.Sqrt(denom);
        if ((a.Variant & OptArgs.Momentum) != 0)
        {
            float mi = a.P4 * mom[i] + inc;
            mom[i] = mi;
            w[i] = w[i] - mi;
        }
        else w[i] = w[i] - inc;
    }

    private static void Adam(int i, OptArgs a, ArrayView<float> w, float gi, ArrayView<float> m, ArrayView<float> v, ArrayView<float> vh)
    {
        float mi = m[i] + (gi - m[i]) * a.P1;
        float vi = v[i] + (gi * gi - v[i]) * a.P2;
        m[i] = mi;
        v[i] = vi;
        if ((a.Variant & OptArgs.Amsgrad) != 0)
        {
            vi = MathF.Max(vh[i], vi);
            vh[i] = vi;
        }
        w[i] = w[i] - (mi * a.Lr) / (MathF.Sqrt(vi) + a.P3);
    }
}
