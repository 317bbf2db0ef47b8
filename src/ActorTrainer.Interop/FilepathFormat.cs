using System.Globalization;
using System.Text.RegularExpressions;

namespace ActorTrainer.Core;

/// <summary>The part of Python's str.format that Keras filepaths use ("model-{epoch:02d}-{val_loss:.4f}"): plain
/// <c>{name}</c>, <c>d</c> with width and zero padding, <c>f</c>/<c>e</c>/<c>g</c> with width and precision, and
/// <c>{{</c>/<c>}}</c>. Any other spec is refused with an ArgumentException naming it.</summary>
internal static partial class FilepathFormat
{
    [GeneratedRegex(@"\{\{|\}\}|\{(\w+)(?::([^{}]*))?\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"^(?<zero>0)?(?<width>[1-9]\d*)?(?:\.(?<prec>\d+))?(?<type>[dfeg])$")]
    private static partial Regex Spec();

    /// <summary>Refuses, naming it, the first placeholder whose format spec this formatter cannot honour.</summary>
    public static void Check(string owner, string pattern)
    {
        foreach (Match m in Placeholder().Matches(pattern))
            if (m.Groups[2].Success && m.Groups[2].Value.Length > 0) Parse(owner, pattern, m.Groups[1].Value, m.Groups[2].Value);
    }

    /// <summary>Fills the placeholders of <paramref name="pattern"/>: <c>epoch</c> is an integer, every other name
    /// is looked up with <paramref name="value"/> (which throws for a name it does not know).</summary>
    public static string Fill(string owner, string pattern, int epoch, Func<string, double> value) =>
        Placeholder().Replace(pattern, m =>
        {
            if (m.Value == "{{") return "{";
            if (m.Value == "}}") return "}";
            var key = m.Groups[1].Value;
            var spec = m.Groups[2].Value;
            var isInt = key == "epoch";
            var v = isInt ? epoch : value(key);
            if (spec.Length == 0) return isInt ? epoch.ToString(CultureInfo.InvariantCulture) : Repr(v);
            var (zero, width, prec, type) = Parse(owner, pattern, key, spec);
            if (type == 'd' && !isInt)
                throw new ArgumentException($"{owner} '{pattern}': {{{key}:{spec}}} formats an integer but '{key}' is a float (Python raises ValueError); use f, e or g");
            var text = type == 'd' ? Math.Abs((long)v).ToString(CultureInfo.InvariantCulture) : Number(Math.Abs(v), type, prec ?? 6);
            var sign = double.IsNegative(v) && !double.IsNaN(v) ? "-" : "";
            var pad = Math.Max(0, width - sign.Length - text.Length);
            return zero ? sign + new string('0', pad) + text : new string(' ', pad) + sign + text;
        });

    private static (bool Zero, int Width, int? Prec, char Type) Parse(string owner, string pattern, string key, string spec)
    {
        var s = Spec().Match(spec);
        if (!s.Success || (s.Groups["type"].Value == "d" && s.Groups["prec"].Success))
            throw new ArgumentException($"{owner} '{pattern}': format spec ':{spec}' of {{{key}}} is not supported " +
                                        "(supported: d with width and zero padding, f, e and g with precision, e.g. {epoch:02d}, {loss:.4f}, {loss:.2e})");
        var width = s.Groups["width"].Success ? int.Parse(s.Groups["width"].Value, CultureInfo.InvariantCulture) : 0;
        int? prec = s.Groups["prec"].Success ? int.Parse(s.Groups["prec"].Value, CultureInfo.InvariantCulture) : null;
        if (width > 1000 || prec > 100)
            throw new ArgumentException($"{owner} '{pattern}': format spec ':{spec}' of {{{key}}} asks for more than 1000 characters or 100 digits");
        return (s.Groups["zero"].Success, width, prec, s.Groups["type"].Value[0]);
    }

    /// <summary>A non-negative number as Python's format type f, e or g with precision p.</summary>
    private static string Number(double a, char type, int p)
    {
        if (double.IsNaN(a)) return "nan";
        if (double.IsInfinity(a)) return "inf";
        if (type == 'f') return a.ToString("F" + p, CultureInfo.InvariantCulture);
        if (type == 'e') return Scientific(a, p, strip: false);
        // g: the exponent of the number rounded to p significant digits chooses fixed or scientific notation.
        var sig = Math.Max(p, 1);
        var exp = Exponent(a.ToString("E" + (sig - 1), CultureInfo.InvariantCulture));
        if (exp < -4 || exp >= sig) return Scientific(a, sig - 1, strip: true);
        return StripZeros(a.ToString("F" + (sig - 1 - exp), CultureInfo.InvariantCulture));
    }

    private static int Exponent(string eFormatted) =>
        int.Parse(eFormatted[(eFormatted.IndexOf('E') + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    /// <summary>d.ddde+XX as Python writes it (at least two exponent digits).</summary>
    private static string Scientific(double a, int digits, bool strip)
    {
        var s = a.ToString("E" + digits, CultureInfo.InvariantCulture);
        var mantissa = s[..s.IndexOf('E')];
        var exp = Exponent(s);
        if (strip) mantissa = StripZeros(mantissa);
        return mantissa + (exp < 0 ? "e-" : "e+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
    }

    private static string StripZeros(string s) => s.Contains('.') ? s.TrimEnd('0').TrimEnd('.') : s;

    /// <summary>Python's str(float): shortest round-trip digits, "2.0" for an integral value, 1e-05 / 1e+16 outside
    /// [1e-4, 1e16).</summary>
    private static string Repr(double v)
    {
        if (double.IsNaN(v)) return "nan";
        if (double.IsInfinity(v)) return v > 0 ? "inf" : "-inf";
        var a = Math.Abs(v);
        var sign = double.IsNegative(v) ? "-" : "";
        if (a != 0 && (a < 1e-4 || a >= 1e16))
        {
            var r = a.ToString("R", CultureInfo.InvariantCulture);   // 1E-05, 1.5E+16
            var mantissa = r.Contains('E') ? r[..r.IndexOf('E')] : r;
            var exp = r.Contains('E') ? Exponent(r) : 0;
            return sign + mantissa + (exp < 0 ? "e-" : "e+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
        }
        var f = a.ToString("R", CultureInfo.InvariantCulture);
        if (f.Contains('E')) f = a.ToString("F1", CultureInfo.InvariantCulture);   // .NET writes 1E+15 where Python writes digits
        return sign + (f.Contains('.') ? f : f + ".0");
    }
}
