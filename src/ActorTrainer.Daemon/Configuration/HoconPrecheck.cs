namespace ActorTrainer.Daemon.Configuration;

/// <summary>
/// Checks HOCON text before the parser sees it, for the inputs that make Akka.Configuration's parser hang, overflow
/// its stack or silently accept garbage: unbalanced braces/brackets (outside strings and comments), nesting deeper
/// than <see cref="MaxDepth"/>, <c>include</c> directives (not supported), and substitutions that refer to themselves
/// or form a cycle. Every problem is a <see cref="ConfigException"/> naming the source and line.
/// </summary>
public static class HoconPrecheck
{
    /// <summary>The deepest nesting of objects and lists accepted.</summary>
    public const int MaxDepth = 64;

    /// <summary>The most ${...} substitutions accepted in one text.</summary>
    public const int MaxSubstitutions = 1000;

    private sealed class Frame(bool isList, string path, int line, bool braced)
    {
        public bool IsList { get; } = isList;
        public string Path { get; } = path;
        public int Line { get; } = line;
        public bool Braced { get; set; } = braced;
        public bool Closed { get; set; }
        public List<string> Key { get; } = new();
        public string? ValuePath { get; set; }
        public string Here => IsList ? Path : ValuePath ?? Path;
    }

    private sealed record Edge(string From, string To, int Line);

    /// <summary>Throws <see cref="ConfigException"/> for the first problem in <paramref name="text"/>.</summary>
    public static void Check(string text, string source)
    {
        var tokens = HoconTokenizer.Tokenize(text, source);
        var edges = new List<Edge>();
        var root = new Frame(false, "", 1, false);
        var stack = new Stack<Frame>();
        stack.Push(root);
        bool seen = false;
        HoconToken? previous = null;
        foreach (var t in tokens)
        {
            if (root.Closed && t.Kind != HoconTokenKind.Newline)
                throw new ConfigException($"{source}:{t.Line}: '{t.Text}' after the closing '}}' of the top-level object");
            if (t.Kind == HoconTokenKind.Separator && previous is { Kind: HoconTokenKind.Separator } p)   // `epochs = = 3`
                throw new ConfigException($"{source}:{t.Line}: '{t.Text}' right after '{p.Text}'; a key takes one separator ('key = value')");
            previous = t;
            Apply(t, stack, root, seen, tokens, edges, source);
            if (t.Kind != HoconTokenKind.Newline) seen = true;
        }
        if (stack.Count > 1) throw Unclosed(source, stack.Peek());
        if (root.Braced && !root.Closed) throw Unclosed(source, root);
        CheckCycles(edges, source);
    }

    /// <summary>Applies one token to the frame stack (objects and lists opened, closed and keyed).</summary>
    private static void Apply(HoconToken t, Stack<Frame> stack, Frame root, bool seen, List<HoconToken> tokens, List<Edge> edges, string source)
    {
        var top = stack.Peek();
        switch (t.Kind)
        {
            case HoconTokenKind.Open:
                if (!seen && stack.Count == 1 && root.Key.Count == 0) root.Braced = true;
                else Push(stack, new Frame(false, OpenPath(top), t.Line, true), source);
                break;
            case HoconTokenKind.OpenList:
                Push(stack, new Frame(true, OpenPath(top), t.Line, true), source);
                break;
            case HoconTokenKind.Close:
                if (top.IsList) throw Mismatch(source, t, top);
                if (!top.Braced) throw new ConfigException($"{source}:{t.Line}: '}}' without a matching '{{'");
                if (top == root) root.Closed = true;
                else stack.Pop();
                break;
            case HoconTokenKind.CloseList:
                if (!top.IsList) throw top == root && !root.Braced
                    ? new ConfigException($"{source}:{t.Line}: ']' without a matching '['")
                    : Mismatch(source, t, top);
                stack.Pop();
                break;
            case HoconTokenKind.Newline or HoconTokenKind.Comma:
                top.Key.Clear(); top.ValuePath = null;
                break;
            case HoconTokenKind.Separator:
                if (!top.IsList && top.ValuePath is null) top.ValuePath = Join(top.Path, top.Key);
                break;
            case HoconTokenKind.Substitution:
                if (edges.Count >= MaxSubstitutions)
                    throw new ConfigException($"{source}:{t.Line}: more than {MaxSubstitutions} substitutions");
                edges.Add(new Edge(top.Here, t.Text, t.Line));
                break;
            default:
                if (!top.IsList && top.ValuePath is null)
                {
                    if (t.Kind == HoconTokenKind.Text && t.Text == "include" && top.Key.Count == 0 && IsIncludeTarget(tokens, t))
                        throw new ConfigException($"{source}:{t.Line}: 'include' is not supported; put the settings in this file or pass a --config file");
                    top.Key.Add(t.Text);
                }
                break;
        }
    }

    private static bool IsIncludeTarget(List<HoconToken> tokens, HoconToken t)
    {
        var i = tokens.IndexOf(t);
        return i + 1 < tokens.Count && (tokens[i + 1].Kind == HoconTokenKind.QuotedText ||
            tokens[i + 1].Kind == HoconTokenKind.Text && tokens[i + 1].Text.StartsWith("required(", StringComparison.Ordinal) ||
            tokens[i + 1].Kind == HoconTokenKind.Text && tokens[i + 1].Text is "file(" or "url(" or "classpath(");
    }

    private static void Push(Stack<Frame> stack, Frame f, string source)
    {
        if (stack.Count > MaxDepth)
            throw new ConfigException($"{source}:{f.Line}: objects and lists nested deeper than {MaxDepth} levels");
        stack.Push(f);
    }

    private static string OpenPath(Frame top)
    {
        if (top.IsList || top.ValuePath is not null) return top.Here;
        top.ValuePath = Join(top.Path, top.Key);       // `key { ... }`
        return top.ValuePath;
    }

    private static string Join(string prefix, List<string> key)
    {
        var k = string.Concat(key).Trim();
        return prefix.Length == 0 ? k : k.Length == 0 ? prefix : prefix + "." + k;
    }

    private static ConfigException Mismatch(string source, HoconToken t, Frame open) =>
        new($"{source}:{t.Line}: '{t.Text}' does not match the '{(open.IsList ? "[" : "{")}' opened on line {open.Line}");

    private static ConfigException Unclosed(string source, Frame open) =>
        new($"{source}:{open.Line}: '{(open.IsList ? "[" : "{")}' is never closed (expected '{(open.IsList ? "]" : "}")}' before the end)");

    private static bool Related(string a, string b) =>
        a == b || a.StartsWith(b + ".", StringComparison.Ordinal) || b.StartsWith(a + ".", StringComparison.Ordinal);

    /// <summary>A substitution at path P referring to T depends on every substitution at a path related to T
    /// (equal, inside it, or containing it); a cycle in that graph (including P related to T) is rejected.</summary>
    private static void CheckCycles(List<Edge> edges, string source)
    {
        if (edges.Count == 0) return;
        var state = new int[edges.Count];            // 0 unvisited, 1 on the path, 2 done
        for (int i = 0; i < edges.Count; i++) Visit(i);

        void Visit(int i)
        {
            if (state[i] == 2) return;
            if (state[i] == 1)
            {
                var e = edges[i];
                throw new ConfigException(Related(e.From, e.To)
                    ? $"{source}:{e.Line}: '{e.From}' refers to itself through ${{{e.To}}}; self-referential substitutions are not supported"
                    : $"{source}:{e.Line}: substitution ${{{e.To}}} in '{e.From}' is part of a cycle of substitutions");
            }
            state[i] = 1;
            for (int j = 0; j < edges.Count; j++)
                if (Related(edges[i].To, edges[j].From)) Visit(j);
            state[i] = 2;
        }
    }
}
