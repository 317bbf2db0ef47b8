using ActorTrainer.Core;

namespace ActorTrainer.Daemon.Cli;

/// <summary>A command-line usage problem (unknown option, missing value). Exit code 2.</summary>
public sealed class UsageException(string message) : InputException(message);

/// <summary>Parsed options of one command: <c>--name value</c>, repeatable <c>--set</c>, and boolean flags.</summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    /// <summary>The command word (train, evaluate, ...).</summary>
    public string Command { get; }

    private CommandLine(string command) => Command = command;

    /// <summary>Parses args after the command word against the allowed value options and flags.</summary>
    public static CommandLine Parse(string command, IReadOnlyList<string> args, string[] valueOptions, string[] flags)
    {
        var cl = new CommandLine(command);
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            string name;
            string? inline = null;
            if (a.Length > 1 && a[0] == '-' && char.IsAsciiLetter(a[1]))      // -x: no command takes a short option (-h is help's, logs turns -f into --follow)
                throw new UsageException($"{command}: unknown option '{a}' (allowed: {Allowed(valueOptions, flags)})");
            if (!a.StartsWith("--", StringComparison.Ordinal))
                throw new UsageException($"{command}: unexpected argument '{a}' (options start with --; see '{command} --help')");
            var eq = a.IndexOf('=');
            name = eq > 0 && Array.IndexOf(valueOptions, a[2..eq]) >= 0 ? a[2..eq] : a[2..];
            if (eq > 0 && name == a[2..eq]) inline = a[(eq + 1)..];
            if (Array.IndexOf(flags, name) >= 0)
            {
                if (!cl._flags.Add(name)) throw new UsageException($"{command}: option '--{name}' is given 2 times; give it once");
                continue;
            }
            if (Array.IndexOf(valueOptions, name) < 0)
                throw new UsageException($"{command}: unknown option '--{name}' (allowed: {Allowed(valueOptions, flags)})");
            var value = inline ?? (i + 1 < args.Count ? args[++i] : throw new UsageException($"{command}: option '--{name}' needs a value"));
            if (name != "set" && value.Trim().Length == 0) throw Blank(command, name, value);
            if (!cl._values.TryGetValue(name, out var list)) cl._values[name] = list = [];
            else if (name != "set")       // only --set repeats; a second value of any other would win unseen
                throw new UsageException($"{command}: option '--{name}' is given 2 times ('{list[0]}', '{value}'); give it once");
            list.Add(value);
        }
        return cl;
    }

    /// <summary>An option given an empty or blank value (an unset shell variable: <c>--run-dir "$DIR"</c>): refused naming
    /// it, never taken for a path (a folder named " ") nor for the option's default.</summary>
    private static UsageException Blank(string command, string name, string value)
    {
        var what = value.Length == 0 ? "is empty" : $"'{value}' is blank";
        return new UsageException($"{command}: --{name} {what}; give {BlankHint(command, name)}");
    }

    private static string BlankHint(string command, string name) => name switch
    {
        "model" => "the model directory, e.g. runs/X/model",
        "data" => "the directory of the t10k files, or leave --data out for the bundled MNIST",
        "run-dir" => "the run's output directory, or leave --run-dir out for runs/<timestamp>",
        "resume" => "the run directory that train wrote, e.g. runs/20260101-120000",
        "config" => "a HOCON file such as config/mnist-mlp.conf, or leave --config out",
        "input" => "an IDX image file (.gz ok) or a PNG",
        "output" when command == "export" => "a file name such as mnist.onnx",
        _ => $"a value, or leave --{name} out (see '{command} --help')",
    };

    private static string Allowed(string[] valueOptions, string[] flags) => string.Join(", ", valueOptions.Concat(flags).Select(o => "--" + o));

    /// <summary>The value of an option, or null.</summary>
    public string? Get(string name) => _values.TryGetValue(name, out var l) ? l[^1] : null;

    /// <summary>The value of a required option.</summary>
    public string Require(string name) => Get(name) ?? throw new UsageException($"{Command}: option '--{name}' is required");

    /// <summary>All values of a repeatable option.</summary>
    public IReadOnlyList<string> All(string name) => _values.TryGetValue(name, out var l) ? l : [];

    /// <summary>True when a flag was given.</summary>
    public bool Has(string flag) => _flags.Contains(flag);
}
