using System.Text;

namespace ActorTrainer.Daemon.Configuration;

/// <summary>Kinds of HOCON tokens the pre-check looks at.</summary>
internal enum HoconTokenKind { Open, Close, OpenList, CloseList, Separator, Newline, Comma, Text, QuotedText, Substitution }

/// <summary>One token: kind, its text (a key segment, or a substitution's path), and its 1-based line.</summary>
internal readonly record struct HoconToken(HoconTokenKind Kind, string Text, int Line);

/// <summary>
/// A small HOCON lexer for <see cref="HoconPrecheck"/>: strings ("..." and """..."""), comments (# and //),
/// substitutions (${path}; ${?path} is refused: Akka.Configuration misreads it), braces, brackets, separators (= : +=), commas, newlines and unquoted text.
/// Unterminated strings and substitutions are reported as <see cref="ConfigException"/> naming the line.
/// </summary>
internal static class HoconTokenizer
{
    private const string Stops = "{}[],:=\"#$\r\n\t ";

    /// <summary>Tokens of <paramref name="text"/>; <paramref name="source"/> names the file or --set in errors.</summary>
    public static List<HoconToken> Tokenize(string text, string source)
    {
        var tokens = new List<HoconToken>();
        int i = 0, line = 1;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '\n') { tokens.Add(new(HoconTokenKind.Newline, "", line)); line++; i++; }
            else if (char.IsWhiteSpace(c) || c == '\uFEFF') i++;
            else if (c == '#' || (c == '/' && At(text, i, "//"))) { while (i < text.Length && text[i] != '\n') i++; }
            else if (At(text, i, "\"\"\"")) i = TripleQuoted(text, i, ref line, source, tokens);
            else if (c == '"') i = Quoted(text, i, line, source, tokens);
            else if (At(text, i, "${")) i = Substitution(text, i, line, source, tokens);
            else if (c is '{' or '}' or '[' or ']' or ',' or '=' or ':')
            {
                tokens.Add(new(c switch
                {
                    '{' => HoconTokenKind.Open, '}' => HoconTokenKind.Close, '[' => HoconTokenKind.OpenList,
                    ']' => HoconTokenKind.CloseList, ',' => HoconTokenKind.Comma, _ => HoconTokenKind.Separator,
                }, c.ToString(), line));
                i++;
            }
            else if (At(text, i, "+=")) { tokens.Add(new(HoconTokenKind.Separator, "+=", line)); i += 2; }
            else i = Unquoted(text, i, line, tokens);
        }
        return tokens;
    }

    private static bool At(string text, int i, string s) => string.CompareOrdinal(text, i, s, 0, s.Length) == 0;

    private static int TripleQuoted(string text, int i, ref int line, string source, List<HoconToken> tokens)
    {
        int start = line;
        var end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
        if (end < 0) throw new ConfigException($"{source}:{start}: unterminated \"\"\" string");
        while (end + 3 < text.Length && text[end + 3] == '"') end++;   // """ab"""" ends at the last three quotes
        var body = text.Substring(i + 3, end - i - 3);
        line += body.Count(ch => ch == '\n');
        tokens.Add(new(HoconTokenKind.QuotedText, body, start));
        return end + 3;
    }

    private static int Quoted(string text, int i, int line, string source, List<HoconToken> tokens)
    {
        var sb = new StringBuilder();
        for (int j = i + 1; j < text.Length; j++)
        {
            char c = text[j];
            if (c == '\n') break;
            if (c == '\\' && j + 1 < text.Length) { sb.Append(text[++j]); continue; }
            if (c == '"')
            {
                tokens.Add(new(HoconTokenKind.QuotedText, sb.ToString(), line));
                return j + 1;
            }
            sb.Append(c);
        }
        throw new ConfigException($"{source}:{line}: unterminated string (a \" without its closing \")");
    }

    private static int Substitution(string text, int i, int line, string source, List<HoconToken> tokens)
    {
        int j = i + 2;
        if (j < text.Length && text[j] == '?')      // Akka.Configuration reads ${?x} as a substitution of the whole document
            throw new ConfigException($"{source}:{line}: optional substitutions ('${{?…}}') are not supported" + GuardedHoconParser.NoEnvironment);
        var end = text.IndexOfAny(['}', '\n'], j);
        if (end < 0 || text[end] != '}') throw new ConfigException($"{source}:{line}: unterminated substitution '${{' (expected '}}' on the same line)");
        var path = text[j..end].Trim();
        if (path.Length == 0) throw new ConfigException($"{source}:{line}: empty substitution '${{}}'");
        tokens.Add(new(HoconTokenKind.Substitution, string.Concat(path.Split('"')), line));
        return end + 1;
    }

    private static int Unquoted(string text, int i, int line, List<HoconToken> tokens)
    {
        int j = i;
        while (j < text.Length && Stops.IndexOf(text[j]) < 0 && !At(text, j, "//") && !At(text, j, "+=")) j++;
        if (j == i) j++;                                  // a lone '$' or similar: one character of text
        tokens.Add(new(HoconTokenKind.Text, text[i..j], line));
        return j;
    }
}
