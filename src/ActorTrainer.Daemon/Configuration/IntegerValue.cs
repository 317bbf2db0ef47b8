using System.Globalization;
using System.Numerics;

namespace ActorTrainer.Daemon.Configuration;

/// <summary>
/// The one rule for the text of an integer key — <c>trainer.*</c>, <c>data.*</c>, <c>cluster.*</c>, <c>serve.*</c> and
/// the model's <c>model.input-shape</c> entries and <c>model.layers[i].units</c>: decimal digits with an optional sign
/// (spaces around them allowed). A number written another way — <c>256.0</c>, <c>256.5</c>, <c>1e3</c> — is refused
/// naming the key and the value, whichever section the key is in.
/// </summary>
public static class IntegerValue
{
    /// <summary>True when <paramref name="raw"/> is an integer in the rule's spelling and in Int32's range.</summary>
    public static bool TryParse(string? raw, out int value) =>
        int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);

    /// <summary>True when <paramref name="raw"/> is an integer in the rule's spelling, of any size.</summary>
    public static bool TryParse(string? raw, out BigInteger value) =>
        BigInteger.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);

    /// <summary>The integer <paramref name="raw"/> spells, of any size; a <see cref="ConfigException"/> naming
    /// <paramref name="key"/> and the value when it is not one (<see cref="NotAnInteger"/>).</summary>
    public static BigInteger Parse(string key, string raw) => TryParse(raw, out BigInteger v) ? v : throw NotAnInteger(key, raw);

    /// <summary>An integer in [min, max]; refused naming the key and the value (out of range: the allowed range).</summary>
    public static int InRange(string key, string raw, int min = int.MinValue, int max = int.MaxValue)
    {
        var big = Parse(key, raw);
        if (big < int.MinValue || big > int.MaxValue)
            throw new ConfigException($"config: {key} = {raw.Trim()} is out of range: it must be " +
                                      (max == int.MaxValue ? (min == int.MinValue ? "" : $">= {min} and ") + $"at most {int.MaxValue}" : $"in [{min}, {max}]"));
        var v = (int)big;
        if (v < min || v > max)
            throw new ConfigException($"config: {key} must be " + (max == int.MaxValue ? $">= {min}" : $"in [{min}, {max}]") + $", got {v}");
        return v;
    }

    /// <summary>"config: KEY must be an integer, got 'RAW'"; for a whole number written as a decimal (256.0, 1e3) the
    /// message says how to write it (256, 1000).</summary>
    public static ConfigException NotAnInteger(string key, string raw)
    {
        var whole = double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) &&
                    Math.Floor(d) == d && Math.Abs(d) < 1e15;
        return new ConfigException($"config: {key} must be an integer, got '{raw}'" +
                                   (whole ? $" (write {((long)d).ToString(CultureInfo.InvariantCulture)})" : ""));
    }
}
