using System.Text.RegularExpressions;
using ActorTrainer.Daemon.Configuration;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Every `--set key=value` README.md shows is a key reference.conf defines, with a value it accepts (so a
/// renamed key or a tightened range cannot leave the README behind).</summary>
public sealed class ReadmeSetExamplesTests
{
    /// <summary>The README's deliberate mistake (its example of an unknown-key error).</summary>
    private const string ErrorExample = "trainer.epoch=3";

    /// <summary>The `--set` arguments of each README command that has any (one command's sets go together, lines
    /// continued with a backslash included: some keys need others, e.g. learning-rate scaling a per-shard batch).</summary>
    private static IEnumerable<string[]> SetLines()
    {
        // a command continued with a trailing backslash is one line
        var text = File.ReadAllText(Path.Combine(Cli.RepoRoot, "README.md")).Replace("\\\n", " ");
        foreach (var line in text.Split('\n'))
        {
            var sets = Regex.Matches(line, @"--set ([a-z][a-z0-9-]*(\.[a-z0-9-]+)+=(\{[^}]*\}|[^\s`]+))")
                .Select(m => m.Groups[1].Value.TrimEnd('.', ':', ',', ')')).Where(s => s != ErrorExample).ToArray();
            if (sets.Length > 0) yield return sets;
        }
    }

    [Fact]
    public void Every_set_in_the_readme_names_a_known_key_with_an_accepted_value()
    {
        var lines = SetLines().ToArray();
        var all = lines.SelectMany(l => l).Distinct().ToArray();
        Assert.True(all.Length >= 25, $"found only {all.Length} --set examples: " + string.Join(" ", all));
        Assert.Contains("model.layers.1={ type = dense, units = 10, activation = softmax }", all);
        var failures = new List<string>();
        foreach (var sets in lines)
        {
            try { TrainSettings.From(ConfigLoader.LoadText(null, "README.md", sets)); }
            catch (ConfigException e) { failures.Add($"{string.Join(" ", sets.Select(s => "--set " + s))}: {e.Message}"); }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // and the test can fail: the README's error example is refused
        Assert.Throws<ConfigException>(() => TrainSettings.From(ConfigLoader.LoadText(null, "README.md", [ErrorExample])));
    }
}
