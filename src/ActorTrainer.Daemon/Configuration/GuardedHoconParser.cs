using Akka.Configuration;

namespace ActorTrainer.Daemon.Configuration;

/// <summary>
/// Parses HOCON with Akka.Configuration so that it cannot hang or take the process down: the text is first checked by
/// <see cref="HoconPrecheck"/>, then parsed on a dedicated background thread with a bounded stack and a time limit.
/// Every failure is a one-line <see cref="ConfigException"/> naming the source.
/// </summary>
public static class GuardedHoconParser
{
    /// <summary>Longest time a parse may take.</summary>
    public static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(5);

    /// <summary>Largest configuration text accepted, in characters.</summary>
    public const int MaxLength = 1 << 20;

    private const int StackBytes = 16 << 20;

    /// <summary>Parses <paramref name="text"/>; <paramref name="source"/> (a file or "--set key=value") names it in errors.</summary>
    public static Config Parse(string text, string source)
    {
        if (text.Length > MaxLength)
            throw new ConfigException($"{source}: {text.Length} characters; configuration texts are limited to {MaxLength}");
        HoconPrecheck.Check(text, source);
        Config? result = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try { result = ConfigurationFactory.ParseString(text); }
            catch (Exception e) { error = e; }
        }, StackBytes) { IsBackground = true, Name = "hocon-parse" };
        thread.Start();
        if (!thread.Join(TimeLimit))
            throw new ConfigException($"{source}: the HOCON parser did not finish within {TimeLimit.TotalSeconds:0} s (malformed configuration?)");
        if (error is ConfigException ce) throw ce;
        if (error is not null)
            throw new ConfigException($"{source}: cannot parse HOCON: {OneLine(error.Message)}" +
                                      (error.Message.Contains("Unresolved substitution", StringComparison.Ordinal) ? NoEnvironment : ""));
        if (result?.Root is null || !result.Root.IsObject())
            throw new ConfigException($"{source}: the configuration must be a HOCON object");
        return result;
    }

    /// <summary>Substitutions refer to keys of the configuration only.</summary>
    internal const string NoEnvironment =
        " (a substitution refers to a key of the configuration; environment variables are not read: pass such a value with --set key=value)";

    private static string OneLine(string s) =>
        string.Join(" ", s.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
