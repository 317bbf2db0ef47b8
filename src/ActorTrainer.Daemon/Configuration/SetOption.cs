using System.Globalization;
using System.Text;

namespace ActorTrainer.Daemon.Configuration;

/// <summary>
/// One <c>key=value</c> override (<c>--set</c> of every command, the <c>"set"</c> object of a job submitted to
/// <c>serve</c>): split at the first '=' and checked in one place, so that <c>train</c>, <c>submit</c> and the
/// service take and refuse the same text.
/// </summary>
public static class SetOption
{
    /// <summary>The key and the value of <paramref name="set"/>, the spaces around each trimmed. Refused naming the
    /// key: no '=', an empty key, a key holding whitespace or a control character, and a value holding a control
    /// character other than a line break or tab inside it (a value may span lines, but a line break at its start
    /// or end is a script's stray newline, not part of the value).</summary>
    public static (string Key, string Value) Split(string set)
    {
        var eq = set.IndexOf('=');
        var key = eq < 0 ? "" : set[..eq].Trim(' ');
        if (key.Length == 0)
            throw new ConfigException($"--set '{Visible(set)}': expected key=value (e.g. --set trainer.epochs=3)");
        foreach (var c in key)
            if (char.IsWhiteSpace(c) || char.IsControl(c))
                throw new ConfigException($"--set '{Visible(set)}': the key '{Visible(key)}' holds {What(c)}; a key is a dotted path such as trainer.epochs");
        var value = set[(eq + 1)..].Trim(' ');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            var inner = c is '\n' or '\r' or '\t' && i > 0 && i < value.Length - 1;
            if (char.IsControl(c) && !inner)
                throw new ConfigException($"--set '{Visible(set)}': the value of {Visible(key)} holds {What(c)}" +
                                          (c is '\n' or '\r' or '\t' ? $" at its {(i == 0 ? "start" : "end")}" : "") + "; remove it");
        }
        return (key, value);
    }

    /// <summary>Text with its control characters written as escapes (\n, \r, \t, \uXXXX), for error messages.</summary>
    public static string Visible(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (!char.IsControl(c)) sb.Append(c);
            else sb.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ => "\\u" + ((int)c).ToString("X4", CultureInfo.InvariantCulture) });
        }
        return sb.ToString();
    }

    private static string What(char c) =>
        char.IsControl(c) ? $"a control character ({Visible(c.ToString())})" : $"whitespace (U+{(int)c:X4})";
}
