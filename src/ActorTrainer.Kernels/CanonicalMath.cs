using System.Numerics;
using System.Runtime.CompilerServices;

namespace ActorTrainer.Kernels;

/// <summary>
/// exp, log, tanh, sigmoid and pow whose results are the same bits on every x86-64 (and any other) machine:
/// scalar, SSE, AVX2 and AVX-512 paths, any C library. Each function is one fixed sequence of IEEE-754 basic
/// operations (add, subtract, multiply, divide, integer bit manipulation — no FMA, no libm, no estimates) written
/// once over <see cref="Vector{T}"/>: lanes are independent, so the vector width (4, 8 or 16 floats, or the
/// software fallback when hardware intrinsics are off) cannot change a result, and a span's tail runs through the
/// same vector code on a padded copy. float64 algorithms are fdlibm's (exp, log) and Cephes' (tanh);
/// float32 inputs are widened to float64, evaluated there and rounded once, so float32 results are correctly
/// rounded except in rare double-rounding cases (error ≤ 0.5 ulp + 2⁻²⁹ ulp). float64 error bounds:
/// exp, log &lt; 1 ulp; tanh ≤ 2.5e-16 relative; sigmoid &lt; 2 ulp; pow(x, y) = exp(y·log x) with relative error
/// ≤ |y·log x|·2⁻⁵² + 1 ulp (integral |y| ≤ 64 by binary powering, sqrt for y = ½).
/// </summary>
public static partial class CanonicalMath
{
    // fdlibm e_exp.c
    private const double Ln2Hi = 6.93147180369123816490e-01, Ln2Lo = 1.90821492927058770002e-10;
    private const double InvLn2 = 1.44269504088896338700e+00;
    private const double P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03,
        P3 = 6.61375632143793436117e-05, P4 = -1.65339022054652515390e-06, P5 = 4.13813679705723846039e-08;
    /// <summary>1.5·2⁵²: adding it rounds to an integer that then sits in the low mantissa bits.</summary>
    private const double Magic = 6755399441055744.0;
    // fdlibm e_log.c
    private const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01, Lg3 = 2.857142874366239149e-01,
        Lg4 = 2.222219843214978396e-01, Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
        Lg7 = 1.479819860511658591e-01;
    // Cephes tanh.c, |x| ≤ 0.625
    private const double Tp0 = -9.64399179425052238628E-1, Tp1 = -9.92877231001918586564E1, Tp2 = -1.61468768441708447952E3;
    private const double Tq0 = 1.12811678491632931402E2, Tq1 = 2.23548839060100448583E3, Tq2 = 4.84406305325125486048E3;

    private static Vector<double> V(double x) => new(x);
    private static Vector<long> L(long x) => new(x);

    /// <summary>eˣ lane-wise (float64): fdlibm reduction x = k·ln2 + r, rational approximation of eʳ, then 2ᵏ applied
    /// in two steps so that subnormal results round once and overflow gives +∞. NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<double> Exp(Vector<double> x)
    {
        var xc = Vector.Min(Vector.Max(x, V(-746.0)), V(710.0));
        var t = xc * V(InvLn2) + V(Magic);
        var kf = t - V(Magic);
        var k = Vector.AsVectorInt64(t) - Vector.AsVectorInt64(V(Magic));
        var hi = xc - kf * V(Ln2Hi);                        // exact: |k| ≤ 1076 and Ln2Hi ends in 32 zero bits
        var lo = kf * V(Ln2Lo);
        var r = hi - lo;
        var rr = r * r;
        var c = r - rr * (V(P1) + rr * (V(P2) + rr * (V(P3) + rr * (V(P4) + rr * V(P5)))));
        var y = V(1.0) - ((lo - (r * c) / (V(2.0) - c)) - hi);
        var k1 = Vector.ShiftRightArithmetic(k, 1);
        var s1 = Vector.AsVectorDouble(Vector.ShiftLeft(k1 + L(1023), 52));
        var s2 = Vector.AsVectorDouble(Vector.ShiftLeft(k - k1 + L(1023), 52));
        return Vector.ConditionalSelect(Vector.Equals(x, x), y * s1 * s2, x);
    }

    /// <summary>ln x lane-wise (float64): fdlibm x = 2ᵏ·(1+f), √½ ≤ 1+f &lt; √2, ln(1+f) = 2s + s·R(s²) with
    /// s = f/(2+f). ln 0 = −∞, ln(x &lt; 0) = NaN, ln ∞ = ∞, subnormals exact.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<double> Log(Vector<double> x)
    {
        var sub = Vector.LessThan(x, V(2.2250738585072014e-308)) & Vector.GreaterThan(x, Vector<double>.Zero);
        var xs = Vector.ConditionalSelect(sub, x * V(18014398509481984.0), x);      // ·2⁵⁴
        var bits = Vector.AsVectorInt64(xs);
        var hx = bits & L(0x000fffffffffffffL);
        var i = (hx + L(0x00095f6400000000L)) & L(0x0010000000000000L);          // 1+f ≥ √2 → halve
        var m = Vector.AsVectorDouble(hx | (i ^ L(0x3ff0000000000000L)));
        var k = Vector.ShiftRightArithmetic(bits, 52) - L(1023) + Vector.ShiftRightLogical(i, 52)
                + Vector.ConditionalSelect(sub, L(-54), Vector<long>.Zero);
        var f = m - V(1.0);
        var s = f / (V(2.0) + f);
        var dk = Vector.ConvertToDouble(k);
        var z = s * s;
        var w = z * z;
        var r = z * (V(Lg1) + w * (V(Lg3) + w * (V(Lg5) + w * V(Lg7)))) + w * (V(Lg2) + w * (V(Lg4) + w * V(Lg6)));
        var hfsq = V(0.5) * f * f;
        var res = dk * V(Ln2Hi) - ((hfsq - (s * (hfsq + r) + dk * V(Ln2Lo))) - f);
        res = Vector.ConditionalSelect(Vector.Equals(x, Vector<double>.Zero), V(double.NegativeInfinity), res);
        res = Vector.ConditionalSelect(Vector.LessThan(x, Vector<double>.Zero), V(double.NaN), res);
        res = Vector.ConditionalSelect(Vector.Equals(x, V(double.PositiveInfinity)), x, res);
        return Vector.ConditionalSelect(Vector.Equals(x, x), res, x);
    }

    /// <summary>tanh x lane-wise (float64): Cephes — x + x³·P(x²)/Q(x²) for |x| ≤ 0.625, else ±(1 − 2/(e^{2|x|} + 1)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<double> Tanh(Vector<double> x)
    {
        var ax = Vector.Abs(x);
        var z = x * x;
        var p = (V(Tp0) * z + V(Tp1)) * z + V(Tp2);
        var q = ((z + V(Tq0)) * z + V(Tq1)) * z + V(Tq2);
        var small = x + x * z * (p / q);
        var big = V(1.0) - V(2.0) / (Exp(ax + ax) + V(1.0));
        big = Vector.ConditionalSelect(Vector.LessThan(x, Vector<double>.Zero), -big, big);
        var res = Vector.ConditionalSelect(Vector.GreaterThan(ax, V(0.625)), big, small);
        return Vector.ConditionalSelect(Vector.Equals(x, Vector<double>.Zero), x, res);   // tanh(±0) = ±0
    }

    /// <summary>σ(x) = 1/(1 + e^{−x}) lane-wise (float64).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<double> Sigmoid(Vector<double> x) => V(1.0) / (V(1.0) + Exp(-x));

    /// <summary>eˣ (float64), the same bits as the vector form.</summary>
    public static double Exp(double x) => Exp(new Vector<double>(x))[0];
    /// <summary>ln x (float64).</summary>
    public static double Log(double x) => Log(new Vector<double>(x))[0];
    /// <summary>tanh x (float64).</summary>
    public static double Tanh(double x) => Tanh(new Vector<double>(x))[0];
    /// <summary>σ(x) (float64).</summary>
    public static double Sigmoid(double x) => Sigmoid(new Vector<double>(x))[0];
    /// <summary>eˣ (float32): evaluated in float64 and rounded once.</summary>
    public static float Exp(float x) => (float)Exp((double)x);
    /// <summary>ln x (float32): evaluated in float64 and rounded once.</summary>
    public static float Log(float x) => (float)Log((double)x);
    /// <summary>tanh x (float32).</summary>
    public static float Tanh(float x) => (float)Tanh((double)x);
    /// <summary>σ(x) (float32).</summary>
    public static float Sigmoid(float x) => (float)Sigmoid((double)x);

    /// <summary>xʸ (float64), NumPy/IEEE special cases: x⁰ = 1, x¹ = x, x² = x·x, x^½ = √x, x⁻¹ = 1/x exactly; integral
    /// |y| ≤ 64 by binary powering;
    /// negative x only for integral y (sign by parity), else NaN; otherwise ±exp(y·ln|x|).</summary>
    public static double Pow(double x, double y)
    {
        if (y == 0.0) return 1.0;
        if (y == 1.0) return x;
        if (y == 2.0) return x * x;
        if (y == 0.5 && !(x == double.NegativeInfinity)) return Math.Sqrt(x);
        if (y == -1.0) return 1.0 / x;
        if (double.IsNaN(x) || double.IsNaN(y)) return x == 1.0 ? 1.0 : double.NaN;
        if (x == 1.0) return 1.0;
        if (Math.Abs(y) <= 64 && Math.Floor(y) == y && !double.IsInfinity(x)) return PowInt(x, (int)y);
        if (x == 0.0)
        {
            bool oddInt = Math.Abs(y) < 9007199254740992.0 && Math.Floor(y) == y && Math.Abs(y % 2.0) == 1.0;
            if (y > 0) return oddInt ? x : 0.0;
            return oddInt ? (double.IsNegative(x) ? double.NegativeInfinity : double.PositiveInfinity) : double.PositiveInfinity;
        }
        double mag = Exp(y * Log(Math.Abs(x)));
        if (x > 0) return mag;
        if (double.IsInfinity(y)) return mag;
        if (Math.Floor(y) != y) return double.NaN;
        bool odd = Math.Abs(y) < 9007199254740992.0 && Math.Abs(y % 2.0) == 1.0;
        return odd ? -mag : mag;
    }

    /// <summary>x^n for integral |n| ≤ 64 by binary powering (a fixed sequence of multiplies; 1/x^|n| for n &lt; 0).</summary>
    private static double PowInt(double x, int n)
    {
        double r = 1.0, b = x;
        for (int e = Math.Abs(n); e > 0; e >>= 1)
        {
            if ((e & 1) != 0) r *= b;
            b *= b;
        }
        return n < 0 ? 1.0 / r : r;
    }

    /// <summary>xʸ (float32): the float64 <see cref="Pow(double, double)"/> rounded once.</summary>
    public static float Pow(float x, float y) => (float)Pow((double)x, (double)y);

    /// <summary>The lane-wise float64 functions, by name, for the span drivers.</summary>
    public enum Function
    {
        /// <summary>eˣ.</summary>
        Exp,
        /// <summary>ln x.</summary>
        Log,
        /// <summary>tanh x.</summary>
        Tanh,
        /// <summary>1/(1 + e^{−x}).</summary>
        Sigmoid,
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> Apply(Function f, Vector<double> x) => f switch
    {
        Function.Exp => Exp(x),
        Function.Log => Log(x),
        Function.Tanh => Tanh(x),
        _ => Sigmoid(x),
    };

    /// <summary>y[i] = f(x[i]) (float64); x and y may be the same span; lengths must match.</summary>
    public static void Map(Function f, ReadOnlySpan<double> x, Span<double> y)
    {
        if (y.Length != x.Length) throw new ArgumentException($"CanonicalMath.{f}: output length {y.Length} != input length {x.Length}.");
        int w = Vector<double>.Count, i = 0;
        for (; i + w <= x.Length; i += w) Apply(f, new Vector<double>(x.Slice(i))).CopyTo(y.Slice(i));
        if (i == x.Length) return;
        Span<double> pad = stackalloc double[w];
        pad.Fill(1.0);
        x.Slice(i).CopyTo(pad);
        Apply(f, new Vector<double>(pad)).CopyTo(pad);
        pad.Slice(0, x.Length - i).CopyTo(y.Slice(i));
    }

    /// <summary>y[i] = f(x[i]) (float32, evaluated in float64, rounded once); x and y may be the same span.</summary>
    public static void Map(Function f, ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length != x.Length) throw new ArgumentException($"CanonicalMath.{f}: output length {y.Length} != input length {x.Length}.");
        int w = Vector<float>.Count, i = 0;
        for (; i + w <= x.Length; i += w) Map32(f, new Vector<float>(x.Slice(i))).CopyTo(y.Slice(i));
        if (i == x.Length) return;
        Span<float> pad = stackalloc float[w];
        pad.Fill(1.0f);
        x.Slice(i).CopyTo(pad);
        Map32(f, new Vector<float>(pad)).CopyTo(pad);
        pad.Slice(0, x.Length - i).CopyTo(y.Slice(i));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Map32(Function f, Vector<float> x)
    {
        Vector.Widen(x, out var lo, out var hi);
        return Vector.Narrow(Apply(f, lo), Apply(f, hi));
    }

    /// <summary>y[i] = x[i]^p (float32) with <see cref="Pow(float, float)"/>.</summary>
    public static void Pow(ReadOnlySpan<float> x, ReadOnlySpan<float> p, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] = Pow(x[i], p[i]);
    }

    /// <summary>y[i] = x[i]^p[i] (float64) with <see cref="Pow(double, double)"/>.</summary>
    public static void Pow(ReadOnlySpan<double> x, ReadOnlySpan<double> p, Span<double> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] = Pow(x[i], p[i]);
    }

    /// <summary>y[i] = x[i]^p (float32).</summary>
    public static void PowScalarExponent(ReadOnlySpan<float> x, float p, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] = Pow(x[i], p);
    }

    /// <summary>y[i] = x[i]^p (float64).</summary>
    public static void PowScalarExponent(ReadOnlySpan<double> x, double p, Span<double> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] = Pow(x[i], p);
    }

    /// <summary>y[i] = b^p[i] (float32).</summary>
    public static void PowScalarBase(float b, ReadOnlySpan<float> p, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] = Pow(b, p[i]);
    }

    /// <summary>y[i] = b^p[i] (float64).</summary>
    public static void PowScalarBase(double b, ReadOnlySpan<double> p, Span<double> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] = Pow(b, p[i]);
    }
}
