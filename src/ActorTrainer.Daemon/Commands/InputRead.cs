namespace ActorTrainer.Daemon.Commands;

/// <summary>
/// Reads of the user's input files (data, a model, a --input image, a token or config file): a file that exists but
/// cannot be read (permissions, an I/O error) is bad input (exit 2) naming the option or key that pointed there, not an
/// I/O error writing outputs (exit 74, which <see cref="ActorTrainer.Daemon.Cli.ErrorBoundary"/> gives any other
/// IOException).
/// </summary>
public static class InputRead
{
    /// <summary>True for an exception of reading a file that exists: UnauthorizedAccessException or an IOException other
    /// than a missing file or directory (those are bad input already, with their own message).</summary>
    public static bool IsUnreadable(Exception e) =>
        e is UnauthorizedAccessException || e is IOException and not (FileNotFoundException or DirectoryNotFoundException);

    /// <summary>The bad-input error of an unreadable input: "<paramref name="what"/>: cannot be read (…); <paramref name="hint"/>".</summary>
    public static InvalidDataException Refusal(string what, Exception e, string hint) =>
        new($"{what}: cannot be read ({e.Message.TrimEnd('.')}); {hint}", e);

    /// <summary>Runs <paramref name="read"/>; an unreadable file becomes <see cref="Refusal"/>.</summary>
    public static T Guard<T>(Func<T> read, string what, string hint)
    {
        try { return read(); }
        catch (Exception e) when (IsUnreadable(e)) { throw Refusal(what, e, hint); }
    }
}
