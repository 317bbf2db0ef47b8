using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>`train --resume` with a changed run-defining key (data, batch size, layers, optimizer) is refused with
/// exit 2 naming the key and both values (inside an object or list, the leaf key that changed); extending trainer.epochs is allowed.</summary>
public sealed class ResumeCheckTests : IDisposable
{
    private readonly TempDir _t = new();
    private readonly string _run;

    /// <summary>One finished 1-epoch actor run with checkpoints, shared by the cases of this class.</summary>
    public ResumeCheckTests()
    {
        _run = _t["run"];
        Cli.Train(_run, "--set", "trainer.runtime=actors", "--set", "output.plots=false", "--set", "output.tensorboard=false",
                  "--set", "trainer.checkpoint.every-steps=3");
    }

    /// <inheritdoc />
    public void Dispose() => _t.Dispose();

    [Theory]
    [InlineData("data.train-limit=900", "data.train-limit is 900", "used 1000")]
    [InlineData("trainer.batch-size=64", "trainer.batch-size is 64", "used 128")]
    [InlineData("model.layers=[{ type = dense, units = 10, activation = softmax }]", "model.layers", "units")]
    [InlineData("optimizer.type=adam", "optimizer", "adam")]
    [InlineData("optimizer.rho=0.8", "optimizer.rho is 0.8", "used 0.9")]
    [InlineData("model.layers.1.activation=sigmoid", "model.layers.1.activation is \"sigmoid\"", "used \"softmax\"")]
    [InlineData("model.layers.0.units=256", "model.layers.0.units is 256", "used 512")]
    [InlineData("trainer.backend=cuda", "trainer.backend is \"cuda\"", "used \"cpu\"")]
    public void A_changed_run_defining_key_exits_2_naming_it(string set, string fragment, string detail)
    {
        var r = Cli.Run(["train", "--resume", _run, "--set", set]);
        var err = Cli.AssertBadInput(r, _run, fragment, detail);
        Assert.Single(err.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
    }

    [Fact]
    public void More_epochs_may_be_added_on_resume()
    {
        var r = Cli.Run(["train", "--resume", _run, "--set", "trainer.epochs=2"]);
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Equal(2, RunDir.History(_run).Rows.Length);
        Assert.True(RunDir.Summary(_run).GetProperty("resumed").GetBoolean());
    }

    [Fact]
    public void Resume_records_its_new_epochs_in_config_conf_and_refuses_fewer_epochs_than_trained()
    {
        var r = Cli.Run(["train", "--resume", _run, "--set", "trainer.epochs=2"]);
        Assert.True(r.ExitCode == 0, r.Describe());
        var conf = File.ReadAllText(Path.Combine(_run, "config.conf"));
        Assert.Matches(@"epochs""?\s*[=:]\s*2\b", conf);         // a later plain --resume continues the 2-epoch run
        Assert.Contains("--set trainer.epochs=2", conf.Split('\n')[0]);

        var fewer = Cli.Run(["train", "--resume", _run, "--set", "trainer.epochs=1"]);
        Cli.AssertBadInput(fewer, "trainer.epochs = 1", "at the end of epoch 2", "trainer.epochs >= 2");
        var ckpt = Path.Combine(_run, "checkpoints");
        File.Delete(Path.Combine(ckpt, "ckpt-16.bin"));              // the newest is now inside epoch 2 (step 15 = 8 + 7)
        Assert.True(File.Exists(Path.Combine(ckpt, "ckpt-15.bin")), string.Join(", ", Directory.GetFiles(ckpt)));
        Cli.AssertBadInput(Cli.Run(["train", "--resume", _run, "--set", "trainer.epochs=1"]), "inside epoch 2 (step 7)");
    }

    [Fact]
    public void Resume_rewrites_history_csv_from_the_checkpoint_whatever_the_file_holds()
    {
        Assert.True(Cli.Run(["train", "--resume", _run, "--set", "trainer.epochs=2"]).ExitCode == 0);
        var history = Path.Combine(_run, "history.csv");
        var whole = File.ReadAllText(history);
        Assert.Equal(3, whole.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        File.Delete(Path.Combine(_run, "checkpoints", "ckpt-16.bin"));    // back inside epoch 2: one finished epoch
        File.WriteAllText(history, "epoch;loss;accuracy\ngarbage\n");     // as a spreadsheet might have saved it
        var r = Cli.Run(["train", "--resume", _run]);
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Equal(whole, File.ReadAllText(history));
        File.Delete(history);
        File.Delete(Path.Combine(_run, "checkpoints", "ckpt-16.bin"));
        Assert.True(Cli.Run(["train", "--resume", _run]).ExitCode == 0);
        Assert.Equal(whole, File.ReadAllText(history));
    }

    [Fact]
    public void A_branch_of_a_finished_run_can_itself_be_resumed()
    {
        var branch = _t["branch"];
        var r = Cli.Run(["train", "--resume", _run, "--run-dir", branch]);
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(branch, "checkpoints"), "ckpt-*.bin"));
        var more = Cli.Run(["train", "--resume", branch, "--set", "trainer.epochs=2"]);
        Assert.True(more.ExitCode == 0, more.Describe());
        Assert.Equal(2, RunDir.History(branch).Rows.Length);
    }

    [Fact]
    public void A_foreign_file_in_the_model_folder_exits_2_before_training_naming_it()
    {
        var model = Path.Combine(_run, "model");
        File.WriteAllText(Path.Combine(model, "notes.txt"), "my notes");     // the final save would replace the folder whole
        var r = Cli.Run(["train", "--resume", _run, "--set", "trainer.epochs=2"]);
        Cli.AssertBadInput(r, $"--resume '{_run}'", $"'{model}' holds 'notes.txt', which is not a model file", "move it out");
        Assert.DoesNotContain("internal error", r.Stderr);
        Assert.False(File.Exists(Path.Combine(_run, "error.log")), "the refusal wrote error.log");
        Assert.Single(RunDir.History(_run).Rows);                            // refused before epoch 2 was trained
        Assert.Equal("my notes", File.ReadAllText(Path.Combine(model, "notes.txt")));
        Directory.Delete(model, true);
        File.WriteAllText(model, "not a folder");                          // the same for a file in the model folder's place
        Cli.AssertBadInput(Cli.Run(["train", "--resume", _run, "--set", "trainer.epochs=2"]), $"'{model}' is a file, not a model directory");
        Assert.Single(RunDir.History(_run).Rows);
        File.Delete(model);
        Assert.True(Cli.Run(["train", "--resume", _run, "--set", "trainer.epochs=2"]).ExitCode == 0);
        Assert.True(File.Exists(Path.Combine(model, "model.safetensors")));
    }
}
