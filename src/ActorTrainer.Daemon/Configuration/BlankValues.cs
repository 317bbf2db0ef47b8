using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace ActorTrainer.Daemon.Configuration;

/// <summary>Values of blanks only (`data.dir = " "`), which Akka's HOCON reads as "" (it trims every string): kept
/// apart from an empty value so that a key where "" has a meaning of its own can refuse them.</summary>
public static class BlankValues
{
    /// <summary>The HOCON text of a --set value: trimmed and quoted where needed (<see cref="ConfigLoader.QuoteIfNeeded"/>),
    /// except that blanks only (`--set "data.dir= "`) stay a quoted string of those blanks, not the empty string.</summary>
    public static string SetText(string raw)
    {
        var value = raw.Trim();
        if (value.Length > 0 || raw.Length == 0) return ConfigLoader.QuoteIfNeeded(value);
        return "\"" + raw + "\"";     // white space only: SetOption.Split has refused control characters (tab, newline) at the ends
    }

    /// <summary>True when the value at <paramref name="path"/> reads as "" but was written as a quoted string of blanks:
    /// its first element is a non-empty string of white space (a value cannot start with unquoted white space, and the
    /// blanks after `""` are an element of their own that follows it).</summary>
    public static bool IsBlank(Config config, string path)
    {
        if (!config.HasPath(path)) return false;
        var v = config.GetValue(path);
        return v.IsString() && v.GetString() is { Length: 0 } && v.Values.Count > 0
               && v.Values[0] is HoconLiteral { Value: { Length: > 0 } first } && string.IsNullOrWhiteSpace(first);
    }
}
