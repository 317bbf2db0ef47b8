using System.Text;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace ActorTrainer.Daemon.Tests;

/// <summary>
/// Code shape: no file under src/ over <see cref="CodeShape.MaxFileLines"/> lines and no function over
/// <see cref="CodeShape.MaxFunctionLines"/> lines. Violations that still exist are listed in
/// <see cref="KnownOversized"/>; the list can only shrink (an entry that is no longer a violation fails the test too).
/// To print the current report without the CLI: <c>dotnet test tests/ActorTrainer.Daemon.Tests -c Release --filter
/// CodeShape --logger "console;verbosity=detailed"</c> (the Report test writes every measurement over the limits).
/// </summary>
public sealed class CodeShapeTests(ITestOutputHelper output)
{
    /// <summary>
    /// Violations that still exist, key → reason. A file-length key is the repo-relative path
    /// ("src/X/Y.fs"); a function key is "path::name" (all functions of that name in the file).
    /// </summary>
    private static readonly Dictionary<string, string> KnownOversized = new()
    {
        ["src/ActorTrainer.Interop/OnnxExporter.cs::ToBytes"] = "owned by the ONNX export work",
    };

    [Fact]
    public void No_file_or_function_is_oversized_beyond_the_allow_list()
    {
        var violations = CodeShape.Scan(CodeShape.RepoRoot());
        var unexpected = violations.Where(v => !KnownOversized.ContainsKey(v.Key)).ToList();
        var stale = KnownOversized.Keys.Where(k => violations.All(v => v.Key != k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (unexpected.Count == 0 && stale.Count == 0) return;
        var sb = new StringBuilder();
        if (unexpected.Count > 0)
        {
            sb.AppendLine($"Over the limits (files > {CodeShape.MaxFileLines} lines, functions > {CodeShape.MaxFunctionLines} lines) and not in KnownOversized:");
            foreach (var v in unexpected) sb.AppendLine("  " + v);
        }
        if (stale.Count > 0)
        {
            sb.AppendLine("KnownOversized entries that are no longer violations (remove them):");
            foreach (var k in stale) sb.AppendLine("  " + k);
        }
        sb.AppendLine("All measurements over the limits:");
        foreach (var v in violations) sb.AppendLine("  " + v);
        Assert.Fail(sb.ToString());
    }

    [Fact]
    public void Report()
    {
        var violations = CodeShape.Scan(CodeShape.RepoRoot());
        output.WriteLine($"{violations.Count} measurements over the limits (files > {CodeShape.MaxFileLines}, functions > {CodeShape.MaxFunctionLines}):");
        foreach (var v in violations)
            output.WriteLine((KnownOversized.ContainsKey(v.Key) ? "  [allowed] " : "  ") + v);
        output.WriteLine("Longest files and functions:");
        foreach (var (path, name, line, lines) in CodeShape.Longest(CodeShape.RepoRoot(), 15))
            output.WriteLine(name is null ? $"  {lines,4}  {path}" : $"  {lines,4}  {path}:{line} {name}");
    }

    [Fact]
    public void Csharp_measurer_finds_methods_local_functions_and_block_lambdas()
    {
        var src = """
            namespace N;
            /// <summary>a { brace in a comment</summary>
            public sealed class C
            {
                [Obsolete("x { y")]
                public int M(int a)
                {
                    var s = "}}}";
                    int Local(int b)
                    {
                        return b;
                    }
                    Func<int, int> f = x =>
                    {
                        if (x > 0) { return 1; }
                        return 0;
                    };
                    return Local(a) + f(a);
                }
                public C() : base() { }
            }
            """;
        var fns = CodeShape.CsFunctions(src.Split('\n')).ToDictionary(f => f.Name, f => f.Lines);
        Assert.Equal(14, fns["M"]);
        Assert.Equal(4, fns["Local"]);
        Assert.Equal(5, fns["lambda"]);
        Assert.Equal(1, fns["C"]);
        Assert.Equal(4, fns.Count);
    }

    [Fact]
    public void Fsharp_measurer_ends_a_definition_at_the_next_line_at_the_same_indentation()
    {
        var src = """
            module M =
                let f x =
                    let y = x + 1

                    // comment at column 0 does not end it
                    y * 2
                type T() =
                    member _.A =
                        let s = "
            not an end"
                        s
                    static member B = 1
                let g = 2
            """;
        var fns = CodeShape.FsFunctions(src.Split('\n')).ToLookup(f => f.Name, f => f.Lines);
        Assert.Equal(5, fns["f"].Single());
        Assert.Equal(1, fns["y"].Single());
        Assert.Equal(4, fns["A"].Single());
        Assert.Equal(1, fns["B"].Single());
        Assert.Equal(1, fns["g"].Single());
        Assert.False(fns.Contains("T"));
    }
}

/// <summary>One measurement over a limit.</summary>
public sealed record ShapeViolation(string Key, string Path, string? Function, int Line, int Lines, int Limit)
{
    public override string ToString() => Function is null
        ? $"{Path}: {Lines} lines (limit {Limit})"
        : $"{Path}:{Line} {Function}: {Lines} lines (limit {Limit})  [key {Key}]";
}

/// <summary>A measured function: name, first line (1-based), length in lines.</summary>
public sealed record MeasuredFunction(string Name, int Line, int Lines);

/// <summary>Measures files and functions under src/ (C# by brace matching, F# by indentation).</summary>
public static class CodeShape
{
    public const int MaxFileLines = 350;
    public const int MaxFunctionLines = 60;

    /// <summary>The directory holding ActorTrainer.sln, found by walking up from the test binaries.</summary>
    public static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ActorTrainer.sln"))) return d.FullName;
        throw new InvalidOperationException("ActorTrainer.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Every file and function under root/src over the limits, ordered by path then line.</summary>
    public static List<ShapeViolation> Scan(string root)
    {
        var result = new List<ShapeViolation>();
        foreach (var (full, rel) in SourceFiles(root))
        {
            var lines = File.ReadAllLines(full);
            if (lines.Length > MaxFileLines) result.Add(new ShapeViolation(rel, rel, null, 1, lines.Length, MaxFileLines));
            var fns = rel.EndsWith(".cs", StringComparison.Ordinal) ? CsFunctions(lines) : FsFunctions(lines);
            foreach (var f in fns.Where(f => f.Lines > MaxFunctionLines).OrderBy(f => f.Line))
                result.Add(new ShapeViolation($"{rel}::{f.Name}", rel, f.Name, f.Line, f.Lines, MaxFunctionLines));
        }
        return result;
    }

    /// <summary>The n longest files and the n longest functions under root/src (path, function or null, line, lines).</summary>
    public static IEnumerable<(string Path, string? Function, int Line, int Lines)> Longest(string root, int n)
    {
        var files = SourceFiles(root).Select(f => (f.Rel, Lines: File.ReadAllLines(f.Full))).ToList();
        var longestFiles = files.Select(f => (f.Rel, (string?)null, 1, f.Lines.Length)).OrderByDescending(f => f.Item4).Take(n);
        var longestFns = files
            .SelectMany(f => (f.Rel.EndsWith(".cs", StringComparison.Ordinal) ? CsFunctions(f.Lines) : FsFunctions(f.Lines))
                .Select(m => (f.Rel, (string?)m.Name, m.Line, m.Lines)))
            .OrderByDescending(f => f.Lines).Take(n);
        return longestFiles.Concat(longestFns);
    }

    private static IEnumerable<(string Full, string Rel)> SourceFiles(string root) =>
        Directory.EnumerateFiles(Path.Combine(root, "src"), "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".fs", StringComparison.Ordinal))
            .Select(f => (Full: f, Rel: Path.GetRelativePath(root, f).Replace('\\', '/')))
            .Where(f => !f.Rel.Split('/').Any(p => p is "bin" or "obj"))
            .OrderBy(f => f.Rel, StringComparer.Ordinal);

    // ------------------------------------------------------------------ C#

    private static readonly HashSet<string> CsControl = new(StringComparer.Ordinal)
    {
        "if", "else", "for", "foreach", "while", "do", "switch", "catch", "try", "finally", "using", "lock", "fixed",
        "checked", "unchecked", "unsafe", "return", "throw", "new", "await", "yield", "case", "default", "var", "when",
    };

    private static readonly HashSet<string> CsTypeWords = new(StringComparer.Ordinal)
    {
        "class", "struct", "interface", "record", "enum", "namespace", "delegate",
    };

    private static readonly HashSet<string> CsModifiers = new(StringComparer.Ordinal)
    {
        "public", "private", "protected", "internal", "static", "async", "unsafe", "extern", "override", "virtual",
        "abstract", "sealed", "readonly", "partial", "new", "file", "required", "implicit", "explicit", "operator",
    };

    /// <summary>C# methods, constructors, local functions and block lambdas with their lengths (brace matching).</summary>
    public static List<MeasuredFunction> CsFunctions(IReadOnlyList<string> lines)
    {
        var code = StripCs(lines);
        var result = new List<MeasuredFunction>();
        var header = new StringBuilder();      // code since the last ; { or }
        var headerLines = new List<int>();     // line of each header char
        var open = new Stack<(int Line, string? Name, int Start)>();
        for (var ln = 0; ln < code.Length; ln++)
        {
            foreach (var ch in code[ln] + "\n")
            {
                if (ch == '{')
                {
                    var (name, start) = ClassifyCsHeader(header.ToString(), headerLines, ln);
                    open.Push((ln, name, start));
                    header.Clear(); headerLines.Clear();
                }
                else if (ch == '}')
                {
                    if (open.Count > 0)
                    {
                        var (_, name, start) = open.Pop();
                        if (name is not null) result.Add(new MeasuredFunction(name, start + 1, ln - start + 1));
                    }
                    header.Clear(); headerLines.Clear();
                }
                else if (ch == ';')
                {
                    header.Clear(); headerLines.Clear();
                }
                else
                {
                    header.Append(ch); headerLines.Add(ln);
                }
            }
        }
        return result;
    }

    /// <summary>(function name, 0-based start line) when the text before a '{' opens a function body, else (null, _).</summary>
    private static (string? Name, int Start) ClassifyCsHeader(string header, List<int> headerLines, int braceLine)
    {
        var h = header.TrimEnd();
        if (h.EndsWith("=>", StringComparison.Ordinal)) return ("lambda", headerLines[h.Length - 2]);
        var i = SkipAttributes(header);
        if (i >= h.Length) return (null, 0);
        var body = h[i..];
        if (!(char.IsLetter(body[0]) || body[0] == '_' || body[0] == '(')) return (null, 0);
        var firstWord = Regex.Match(body, @"^[A-Za-z_]\w*").Value;
        if (CsControl.Contains(firstWord)) return (null, 0);
        // Find the parameter list: the first top-level paren group preceded by a non-modifier identifier.
        var depth = 0;
        var sawTopLevelEquals = false;
        for (var k = 0; k < body.Length; k++)
        {
            var c = body[k];
            if (c == '(' && depth == 0)
            {
                var before = body[..k].TrimEnd();
                before = Regex.Replace(before, @"<[^<>]*(<[^<>]*>[^<>]*)*>$", "");   // generic method args
                var word = Regex.Match(before, @"([A-Za-z_]\w*)$").Groups[1].Value;
                if (word.Length == 0 && Regex.IsMatch(before, @"\boperator\s*\S+$")) word = "operator";
                var words = Regex.Matches(body[..k], @"[A-Za-z_]\w*").Select(m => m.Value);
                if (words.Any(CsTypeWords.Contains)) return (null, 0);
                if (word.Length > 0 && (word == "operator" || !CsModifiers.Contains(word)) && !CsControl.Contains(word) && !sawTopLevelEquals)
                {
                    if (Depth(body) != 0) return (null, 0);   // an unclosed '(' means a call argument, not a signature
                    var nameIdx = i + before.Length - word.Length;
                    return (word, headerLines[nameIdx]);
                }
            }
            if (c is '(' or '[' or '<') depth += c == '<' ? 0 : 1;
            else if (c is ')' or ']') depth--;
            else if (c == '=' && depth == 0 && k + 1 < body.Length && body[k + 1] != '>' && body[k + 1] != '='
                     && k > 0 && body[k - 1] is not ('!' or '<' or '>' or '='))
                sawTopLevelEquals = true;
        }
        return (null, 0);
    }

    private static int Depth(string s) => s.Count(c => c == '(') - s.Count(c => c == ')');

    private static int SkipAttributes(string h)
    {
        var i = 0;
        while (true)
        {
            while (i < h.Length && char.IsWhiteSpace(h[i])) i++;
            if (i >= h.Length || h[i] != '[') return i;
            var depth = 0;
            for (; i < h.Length; i++)
            {
                if (h[i] == '[') depth++;
                else if (h[i] == ']' && --depth == 0) { i++; break; }
            }
        }
    }

    /// <summary>C# lines with comments, string/char literals and preprocessor lines blanked (same line count).</summary>
    internal static string[] StripCs(IReadOnlyList<string> lines)
    {
        var text = string.Join("\n", lines);
        var sb = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            char Next(int k) => i + k < text.Length ? text[i + k] : '\0';
            if (c == '/' && Next(1) == '/') { while (i < text.Length && text[i] != '\n') i++; continue; }
            if (c == '/' && Next(1) == '*')
            {
                i += 2;
                while (i < text.Length && !(text[i] == '*' && Next(1) == '/')) { if (text[i] == '\n') sb.Append('\n'); i++; }
                i += 2; continue;
            }
            if (c == '#' && (sb.Length == 0 || LineIsBlankSoFar(sb))) { while (i < text.Length && text[i] != '\n') i++; continue; }
            var prefix = 0;
            while (Next(prefix) is '$' or '@') prefix++;
            if (Next(prefix) == '"')
            {
                var verbatim = text.AsSpan(i, prefix).Contains('@');
                i += prefix;
                var quotes = 0;
                while (Next(quotes) == '"') quotes++;
                if (quotes >= 3)
                {   // raw string literal: ends at the same number of quotes
                    i += quotes;
                    var close = new string('"', quotes);
                    while (i < text.Length && string.CompareOrdinal(text, i, close, 0, quotes) != 0) { if (text[i] == '\n') sb.Append('\n'); i++; }
                    i += quotes; sb.Append("\"\""); continue;
                }
                i++;
                while (i < text.Length)
                {
                    if (text[i] == '\n') sb.Append('\n');
                    if (!verbatim && text[i] == '\\') { i += 2; continue; }
                    if (text[i] == '"')
                    {
                        if (verbatim && Next(1) == '"') { i += 2; continue; }
                        i++; break;
                    }
                    i++;
                }
                sb.Append("\"\""); continue;
            }
            if (c == '\'' )
            {
                var end = i + 1;
                while (end < text.Length && end < i + 10 && text[end] != '\'') end += text[end] == '\\' ? 2 : 1;
                if (end < text.Length && text[end] == '\'') { sb.Append("' '"); i = end + 1; continue; }
            }
            sb.Append(c); i++;
        }
        var result = sb.ToString().Split('\n');
        return result;
    }

    private static bool LineIsBlankSoFar(StringBuilder sb)
    {
        for (var k = sb.Length - 1; k >= 0; k--)
        {
            if (sb[k] == '\n') return true;
            if (!char.IsWhiteSpace(sb[k])) return false;
        }
        return true;
    }

    // ------------------------------------------------------------------ F#

    private static readonly Regex FsDefinition = new(
        @"^(?:(?:let|and)(?:\s+(?:rec|inline|private|internal|public|mutable))*\s+(?<name>[A-Za-z_][\w']*|``[^`]+``|\(\s*[^)]*\))" +
        @"|(?:static\s+)?(?:member|override|default)(?:\s+(?:inline|private|internal|public|val))*\s+(?:[A-Za-z_]\w*\.)?(?<name>[A-Za-z_][\w']*|\([^)]*\))" +
        @"|abstract\s+default\s+(?<name>\w+)" +
        @"|(?<name>new)\s*\()",
        RegexOptions.Compiled);

    /// <summary>F# let/member/override/default/new definitions with their lengths (indentation).</summary>
    public static List<MeasuredFunction> FsFunctions(IReadOnlyList<string> lines)
    {
        var (code, continuation) = StripFs(lines);
        var result = new List<MeasuredFunction>();
        var groupKind = new Dictionary<int, string>();   // indentation → "let" or "type" (what a following `and` continues)
        for (var i = 0; i < code.Length; i++)
        {
            if (continuation[i]) continue;
            var trimmed = code[i].TrimStart();
            var indent = code[i].Length - trimmed.Length;
            var first = Regex.Match(trimmed, @"^\w+").Value;
            if (first is "let" or "type" or "module" or "namespace" or "exception") groupKind[indent] = first;
            if (first == "and" && groupKind.GetValueOrDefault(indent) != "let") continue;
            var m = FsDefinition.Match(trimmed);
            if (!m.Success) continue;
            var last = i;
            for (var j = i + 1; j < code.Length; j++)
            {
                if (string.IsNullOrWhiteSpace(code[j])) continue;
                if (!continuation[j] && code[j].Length - code[j].TrimStart().Length <= indent) break;
                last = j;
            }
            result.Add(new MeasuredFunction(m.Groups["name"].Value.Trim('`'), i + 1, last - i + 1));
        }
        return result;
    }

    /// <summary>F# lines with comments and strings blanked; continuation[i] is true when line i starts inside a string.</summary>
    internal static (string[] Code, bool[] Continuation) StripFs(IReadOnlyList<string> lines)
    {
        var code = new string[lines.Count];
        var cont = new bool[lines.Count];
        var inString = false;        // "…" or @"…"
        var inTriple = false;        // """…"""
        var verbatim = false;
        var commentDepth = 0;        // (* … *)
        for (var ln = 0; ln < lines.Count; ln++)
        {
            var s = lines[ln];
            cont[ln] = inString || inTriple;
            var sb = new StringBuilder(s.Length);
            var i = 0;
            // blank the leading part of a continued string/comment with spaces so indentation does not end a definition
            while (i < s.Length)
            {
                var c = s[i];
                char Next(int k) => i + k < s.Length ? s[i + k] : '\0';
                if (commentDepth > 0)
                {
                    if (c == '*' && Next(1) == ')') { commentDepth--; i += 2; }
                    else if (c == '(' && Next(1) == '*') { commentDepth++; i += 2; }
                    else i++;
                    sb.Append(' ');
                    continue;
                }
                if (inTriple)
                {
                    if (c == '"' && Next(1) == '"' && Next(2) == '"') { inTriple = false; i += 3; sb.Append("\"\""); }
                    else { i++; sb.Append(' '); }
                    continue;
                }
                if (inString)
                {
                    if (!verbatim && c == '\\') { i += 2; sb.Append("  "); continue; }
                    if (c == '"')
                    {
                        if (verbatim && Next(1) == '"') { i += 2; sb.Append("  "); continue; }
                        inString = false; i++; sb.Append('"'); continue;
                    }
                    i++; sb.Append(' ');
                    continue;
                }
                if (c == '/' && Next(1) == '/') break;
                if (c == '(' && Next(1) == '*' && Next(2) != ')') { commentDepth = 1; i += 2; sb.Append("  "); continue; }
                if (c == '"' && Next(1) == '"' && Next(2) == '"') { inTriple = true; i += 3; sb.Append("\"\""); continue; }
                if (c == '"') { inString = true; verbatim = i > 0 && s[i - 1] == '@'; i++; sb.Append('"'); continue; }
                if (c == '\'' && Next(2) == '\'' && Next(1) != '\\') { sb.Append("' '"); i += 3; continue; }
                if (c == '\'' && Next(1) == '\\' && Next(3) == '\'') { sb.Append("' '"); i += 4; continue; }
                sb.Append(c); i++;
            }
            var line = sb.ToString();
            code[ln] = string.IsNullOrWhiteSpace(line) ? "" : line;
            if (commentDepth > 0 && code[ln].Length > 0 && line.TrimStart().Length == 0) code[ln] = "";
        }
        // A line that is only a comment is blank after stripping; a line inside a block comment is blank too.
        return (code, cont);
    }
}
