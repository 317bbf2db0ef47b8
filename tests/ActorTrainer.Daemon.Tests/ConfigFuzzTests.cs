using System.Text;
using ActorTrainer.Core;
using ActorTrainer.Daemon.Configuration;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Bounded fuzzing of config loading (seeded, a few hundred cases, well under a minute): mutated config
/// files and hostile --set values may only fail with an input error (ConfigException and the rest of the
/// InputException hierarchy, i.e. exit 2) — never another exception type, never a hang.</summary>
public sealed class ConfigFuzzTests
{
    private static readonly TimeSpan PerCase = TimeSpan.FromSeconds(15);

    private static readonly string[] Fragments =
    [
        "{", "}", "[", "]", ",", "=", ":", "+=", "\"", "\"\"\"", "${", "${?", "}", "#", "//", "\n", " ", "include ",
        "trainer", "trainer.epochs", "model.layers", "${trainer.epochs}", "${model}", "1e400", "-0", "NaN", "true",
        "\\", "\u0000", "\uFEFF", "é", "a.b.c", "..", ".", "?", "$", "@", "`", "^", "30s", "[1, 2", "{ type = dense }",
    ];

    private static readonly string[] SetValues =
    [
        "", "[", "]", "{", "}", "[1, 2 }", "{ epochs = [1, 2 }", "${trainer.epochs}", "${?x}", "\"", "\"\"\"", "1e400",
        "-2147483649", "99999999999999999999", "NaN", "Infinity", "[[[[[[", "}}}}", "a = b", "0x10", "1_000", " ", "#",
        "//", "\\", "include \"x\"", "[{ type = dense, units = ${u} }]", "true false", "30 parsecs", "é",
    ];

    private static string Mutate(string text, Random rng)
    {
        var sb = new StringBuilder(text);
        for (int k = rng.Next(1, 6); k > 0; k--)
        {
            int at = rng.Next(sb.Length + 1);
            switch (rng.Next(3))
            {
                case 0: sb.Insert(at, Fragments[rng.Next(Fragments.Length)]); break;
                case 1: if (at < sb.Length) sb.Remove(at, Math.Min(rng.Next(1, 8), sb.Length - at)); break;
                default: if (at < sb.Length) sb[at] = (char)rng.Next(32, 127); break;
            }
        }
        return sb.ToString();
    }

    private static void AssertOnlyInputErrors(Action load, string what)
    {
        var task = Task.Factory.StartNew(load, TaskCreationOptions.LongRunning);   // its own thread: not queued behind a busy pool
        bool done;
        try { done = task.Wait(PerCase); }
        catch (AggregateException) { done = true; }
        Assert.True(done, $"config loading hung on {what}");
        if (!task.IsFaulted) return;
        var e = task.Exception!.InnerException!;
        Assert.True(e is InputException, $"{e.GetType().Name} escaped config loading for {what}: {e.Message}");
    }

    private static void Load(string? file, IReadOnlyList<string> sets) => TrainSettings.From(ConfigLoader.Load(file, sets));

    [Fact]
    public void Mutated_config_files_only_raise_input_errors()
    {
        using var t = new TempDir();
        var seeds = new[] { File.ReadAllText(Path.Combine(Cli.RepoRoot, "config", "mnist-mlp.conf")),
                            File.ReadAllText(Path.Combine(Cli.RepoRoot, "config", "mnist-from-scratch.conf")),
                            "trainer { epochs = 2, batch-size = 64 }\nmodel.layers = [{ type = dense, units = 10, activation = softmax }]\n" };
        var rng = new Random(20261129);
        for (int i = 0; i < 250; i++)
        {
            var text = Mutate(seeds[i % seeds.Length], rng);
            var file = t[$"fuzz-{i}.conf"];
            File.WriteAllText(file, text);
            AssertOnlyInputErrors(() => Load(file, []), $"case {i}:\n{text}");
        }
    }

    [Fact]
    public void Hostile_set_values_only_raise_input_errors()
    {
        var keys = new[] { "trainer.epochs", "trainer", "model.layers", "metrics", "data.dir", "trainer.worker-timeout",
                           "optimizer", "akka.loglevel", "trainer.batch-size", "model.input-shape" };
        var rng = new Random(7);
        for (int i = 0; i < 200; i++)
        {
            var set = keys[rng.Next(keys.Length)] + "=" + SetValues[rng.Next(SetValues.Length)] +
                      (rng.Next(3) == 0 ? SetValues[rng.Next(SetValues.Length)] : "");
            AssertOnlyInputErrors(() => Load(null, [set]), $"--set '{set}'");
        }
    }
}
