using Xunit;
using ActorTrainer.Core.Data;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Bad input to <c>train</c> and the CLI: exit code 2, stderr naming the culprit, no summary.json left behind.</summary>
public sealed partial class CliTests
{
    private static CliResult TrainBad(string runDir, params string[] args) =>
        Cli.Run(["train", "--run-dir", runDir, "--set", "trainer.runtime=in-process", "--set", "data.train-limit=100",
                 "--set", "data.test-limit=100", .. args]);

    private static void AssertNothingWritten(string runDir) =>
        Assert.False(File.Exists(Path.Combine(runDir, "summary.json")), $"a failed run left {runDir}/summary.json");

    [Theory]
    [InlineData("train", "--help", "train [--config FILE]")]
    [InlineData("train", "-h", "--resume RUN_DIR")]
    [InlineData("worker", "--help", "worker [--config FILE]")]
    [InlineData("evaluate", "--help", "evaluate --model DIR")]
    [InlineData("summary", "-h", "summary --model DIR")]
    [InlineData("submit", "--help", "submit [--config FILE]")]
    public void Command_help_prints_its_usage_and_exits_0(string command, string flag, string expected)
    {
        // before any option is checked: with an option that would be refused, it still prints the help
        var r = Cli.Run([command, "--no-such-option", flag]);
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.StartsWith($"usage: ActorTrainer.Daemon [--verbose] {command} …", r.Stdout);
        Assert.Contains(expected, r.Stdout);
        Assert.Contains("config/reference.conf", r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    [Theory]
    [InlineData("evaluate", "--batch-size N")]
    [InlineData("predict", "--invert auto|yes|no")]
    [InlineData("export", "--format onnx --output FILE")]
    [InlineData("summary", "the Keras-style layer table")]
    public void Each_model_command_has_a_help_page_of_its_own(string command, string expected)
    {
        var r = Cli.Run([command, "--help"]);
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Contains(expected, r.Stdout);
        foreach (var other in new[] { "evaluate", "predict", "export", "summary" }.Where(c => c != command))
            Assert.DoesNotContain($"  {other} --model DIR", r.Stdout);
    }

    [Fact]
    public void Unknown_option_and_unknown_command_exit_2_naming_them()
    {
        var option = Cli.Run(["train", "--epochs", "3"]);
        Cli.AssertBadInput(option, "--epochs", "--config, --set, --run-dir, --resume, --overwrite");
        var command = Cli.Run(["trian", "--help"]);
        Cli.AssertBadInput(command, "'trian'", "train, worker, ps, evaluate");
    }

    [Theory]
    [InlineData("trainer.epochs=abc", "trainer.epochs", "abc")]
    [InlineData("trainer.checkpoint.every-steps=99999999999", "trainer.checkpoint.every-steps = 99999999999 is out of range", "at most 2147483647")]
    [InlineData("trainer.batch-size=0", "trainer.batch-size", ">= 1")]
    [InlineData("optimizer.learning-rate=-1", "optimizer.learning-rate", "-1")]
    [InlineData("data.validation-split=1.5", "data.validation-split", "1.5")]
    [InlineData("optimizer.type=adamw", "optimizer.type", "adamw")]
    [InlineData("loss=hinge", "loss", "hinge")]
    [InlineData("trainer.runtime=gpu", "trainer.runtime", "gpu")]
    [InlineData("trainer.workers=many", "trainer.workers", "'auto' or an integer")]
    [InlineData("trainer.workers=-1", "trainer.workers", "-1")]
    [InlineData("trainer.threads-per-worker=-1", "trainer.threads-per-worker", ">= 0")]
    [InlineData("trainer.ps-slices=x", "trainer.ps-slices", "x")]
    [InlineData("trainer.ps-slices=100000", "trainer.ps-slices = 100000", "above its limit of 1024")]   // took hours per epoch
    [InlineData("trainer.async.staleness=linear", "trainer.async.staleness", "linear")]
    public void Bad_set_value_exits_2_naming_the_key(string set, string key, string detail)
    {
        using var t = new TempDir();
        var r = TrainBad(t["run"], "--set", set);
        Cli.AssertBadInput(r, key, detail);
        AssertNothingWritten(t["run"]);
    }

    [Theory]
    [InlineData("ACTORTRAINER_SPARSE_GEMM", "maybe")]
    [InlineData("ACTORTRAINER_SPARSE_GEMM", "2")]
    [InlineData("ACTORTRAINER_STREAMING_STORES", "fast")]
    [InlineData("ACTORTRAINER_HUGE_PAGES", "maybe")]
    [InlineData("ACTORTRAINER_PREFAULT", "sometimes")]
    public void Bad_kernel_switch_in_the_environment_exits_2_naming_the_variable(string variable, string value)
    {
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["run"], "--set", "trainer.runtime=in-process", "--set", "data.train-limit=100",
                         "--set", "data.test-limit=100"], env: new Dictionary<string, string> { [variable] = value });
        Cli.AssertBadInput(r, variable, $"'{value}'");
        Assert.False(Directory.Exists(t["run"]), "a refused run created its run directory");
    }

    [Fact]
    public void Unknown_key_exits_2_and_suggests_the_right_one()
    {
        using var t = new TempDir();
        var err = Cli.AssertBadInput(TrainBad(t["run"], "--set", "trainer.epoch=3"), "trainer.epoch");
        Assert.Contains("did you mean 'trainer.epochs'", err);
        AssertNothingWritten(t["run"]);
    }

    [Theory]
    [InlineData("{ type = dense, units = 0, activation = relu }", "model.layers[0].units", "0")]
    [InlineData("{ type = dense, units = 16, activation = swish }", "model.layers[0].activation", "swish")]
    [InlineData("{ type = conv2d, units = 16 }", "model.layers[0].type", "conv2d")]
    [InlineData("{ type = dense, units = 16, activation = relu, filters = 3 }", "model.layers[0].filters", "allowed")]
    public void Bad_layer_in_config_file_exits_2_naming_the_layer_key(string layer, string key, string detail)
    {
        using var t = new TempDir();
        var conf = t["bad.conf"];
        File.WriteAllText(conf, $"model.layers = [\n  {layer}\n  {{ type = dense, units = 10, activation = softmax }}\n]\n");
        var r = TrainBad(t["run"], "--config", conf);
        Cli.AssertBadInput(r, key, detail);
        AssertNothingWritten(t["run"]);
    }

    [Fact]
    public void Unknown_key_in_config_file_names_the_file()
    {
        using var t = new TempDir();
        var conf = t["typo.conf"];
        File.WriteAllText(conf, "trainer { batchsize = 64 }\n");
        var err = Cli.AssertBadInput(TrainBad(t["run"], "--config", conf), conf, "trainer.batchsize");
        Assert.Contains("trainer.batch-size", err);
    }

    [Fact]
    public void Missing_config_file_exits_2_naming_it()
    {
        using var t = new TempDir();
        Cli.AssertBadInput(TrainBad(t["run"], "--config", t["nope.conf"]), t["nope.conf"], "does not exist");
        AssertNothingWritten(t["run"]);
    }

    [Fact]
    public void A_directory_as_the_config_file_exits_2_saying_so()
    {
        using var t = new TempDir();
        var dir = Directory.CreateDirectory(t["conf.d"]).FullName;
        var err = Cli.AssertBadInput(TrainBad(t["run"], "--config", dir), $"config file '{dir}' is a directory");
        Assert.DoesNotContain("does not exist", err);
        AssertNothingWritten(t["run"]);
        // submit reads its --config before it contacts the service (none listens on port 9)
        var submit = Cli.Run(["submit", "--config", dir, "--server", "http://127.0.0.1:9"]);
        Assert.DoesNotContain("does not exist", Cli.AssertBadInput(submit, $"config file '{dir}' is a directory"));
    }

    [Fact]
    public void Set_without_equals_sign_exits_2()
    {
        using var t = new TempDir();
        Cli.AssertBadInput(TrainBad(t["run"], "--set", "trainer.epochs"), "--set 'trainer.epochs'", "key=value");
        AssertNothingWritten(t["run"]);
    }

    [Fact]
    public void Unknown_option_exits_2_listing_the_allowed_ones()
    {
        using var t = new TempDir();
        Cli.AssertBadInput(TrainBad(t["run"], "--epochs", "3"), "--epochs", "--config", "--set");
        AssertNothingWritten(t["run"]);
    }

    [Fact]
    public void A_two_dimensional_input_shape_without_flatten_exits_2_naming_the_layer_before_writing()
    {
        using var t = new TempDir();
        var r = TrainBad(t["run"], "--set", "model.input-shape=[28, 28]");
        Cli.AssertBadInput(r, "model.layers.0 (dense)", "[28, 28]", "{ type = flatten }");
        Assert.False(Directory.Exists(t["run"]), "the refused run wrote its directory");
    }

    [Fact]
    public void Images_of_other_rows_and_columns_than_a_two_dimensional_input_shape_exit_2()
    {
        using var t = new TempDir();
        var dir = MnistDir.Write(t["mnist"], 200, 100);
        foreach (var prefix in new[] { "train", "t10k" })          // the same 784 bytes per image, as 14 rows of 56
        {
            var path = Path.Combine(dir, prefix + "-images-idx3-ubyte");
            var images = Idx.Read(path);
            Idx.Write(path, new IdxArray([images.Dims[0], 14, 56], images.Data));
        }
        var r = TrainBad(t["run"], "--set", "data.dir=" + dir, "--set", "model.input-shape=[28, 28]",
                         "--set", "model.layers=[{ type = flatten }, { type = dense, units = 10, activation = softmax }]");
        Cli.AssertBadInput(r, "model.input-shape [28, 28]", "is not the images' rows and columns", "14x56");
        // a flat [784] is 28×28 to evaluate and predict: 14×56 images are refused here too, pointing at the shape to give
        var flat = TrainBad(t["run"], "--set", "data.dir=" + dir);
        Cli.AssertBadInput(flat, "model.input-shape [784] stands for 28x28 images", "14x56", "[14, 56] with { type = flatten }");
        AssertNothingWritten(t["run"]);
    }

    [Fact]
    public void Resume_of_a_file_or_of_nothing_says_which()
    {
        using var t = new TempDir();
        var file = t["a-file"];
        File.WriteAllText(file, "");
        Cli.AssertBadInput(Cli.Run(["train", "--resume", file]), $"--resume '{file}' is a file");
        Cli.AssertBadInput(Cli.Run(["train", "--resume", t["none"]]), $"--resume '{t["none"]}' does not exist");
    }

    [Fact]
    public void An_option_given_twice_exits_2_naming_both_values()
    {
        using var t = new TempDir();
        Cli.AssertBadInput(TrainBad(t["run"], "--run-dir", t["other"]), "'--run-dir' is given 2 times", t["other"]);
        AssertNothingWritten(t["run"]);
        AssertNothingWritten(t["other"]);
        Cli.AssertBadInput(Cli.Run(["summary", "--model", t["a"], "--model", t["b"]]), "'--model' is given 2 times", t["a"], t["b"]);
    }

    [Fact]
    public void Unknown_command_exits_2_listing_the_commands()
    {
        var r = Cli.Run(["fit", "--config", "config/mnist-mlp.conf"]);
        Cli.AssertBadInput(r, "'fit'", "train", "evaluate", "predict", "export", "summary");
    }

    [Fact]
    public void Blank_data_dir_exits_2_naming_it_instead_of_training_on_the_bundled_mnist()
    {
        using var t = new TempDir();
        Cli.AssertBadInput(TrainBad(t["run"], "--set", "data.dir= "), "data.dir", "blank");
        AssertNothingWritten(t["run"]);
    }

    [Fact]
    public void Bundled_labels_beyond_the_models_classes_exit_2_naming_the_file_though_the_data_was_decoded_ahead()
    {
        // no data.dir: `train` starts decoding the bundled MNIST as soon as its config is read (Mnist.PrefetchBundled),
        // before the model's classes are known; the checks of the expectation still run on what the prefetch decoded
        using var t = new TempDir();
        Cli.AssertBadInput(TrainBad(t["run"], "--set", "model.layers.1.units=5"),
                           "bundled mnist/train-labels-idx1-ubyte.gz", "label 5 at index 0 is outside [0, 5)");
        AssertNothingWritten(t["run"]);
    }

    [Fact]
    public void Missing_data_dir_exits_2_naming_it()
    {
        using var t = new TempDir();
        var dir = t["no-such-mnist"];
        Cli.AssertBadInput(TrainBad(t["run"], "--set", "data.dir=" + dir), "data.dir", dir, "does not exist");
        AssertNothingWritten(t["run"]);
        var file = t["a-file"];
        File.WriteAllText(file, "");
        Cli.AssertBadInput(TrainBad(t["run"], "--set", "data.dir=" + file), "data.dir", file, "is a file, not an MNIST directory");
    }

    [Fact]
    public void Data_dir_with_wrong_magic_idx_file_exits_2_naming_the_file()
    {
        using var t = new TempDir();
        var dir = Directory.CreateDirectory(t["mnist"]).FullName;
        var images = new IdxArray([4, 28, 28], new byte[4 * 28 * 28]);
        var labels = new IdxArray([4], [0, 1, 2, 3]);
        Idx.Write(Path.Combine(dir, "train-images-idx3-ubyte"), images);
        Idx.Write(Path.Combine(dir, "train-labels-idx1-ubyte"), labels);
        Idx.Write(Path.Combine(dir, "t10k-images-idx3-ubyte"), images);
        Idx.Write(Path.Combine(dir, "t10k-labels-idx1-ubyte"), labels);
        var bad = Path.Combine(dir, "t10k-labels-idx1-ubyte");
        var bytes = File.ReadAllBytes(bad);
        bytes[0] = 0x12; bytes[1] = 0x34;                       // magic must start 0x0000
        File.WriteAllBytes(bad, bytes);
        Cli.AssertBadInput(TrainBad(t["run"], "--set", "data.dir=" + dir), bad, "magic");
        AssertNothingWritten(t["run"]);
    }

    [Fact]
    public void Data_dir_with_valid_small_idx_files_trains_on_them()
    {
        using var t = new TempDir();
        var dir = MnistDir.Write(t["mnist"], 300, 100);
        var r = Cli.Run(["train", "--run-dir", t["run"], "--set", "data.dir=" + dir, "--set", "trainer.epochs=1",
                         "--set", "trainer.runtime=in-process", "--set", "output.plots=false", "--set", "output.tensorboard=false"]);
        Assert.True(r.ExitCode == 0, r.Describe());
        var s = RunDir.Summary(t["run"]);
        Assert.Equal(300, s.GetProperty("train_samples").GetInt32());
        Assert.Equal(100, s.GetProperty("test_samples").GetInt32());
        Assert.Equal(3, s.GetProperty("steps").GetInt64());
        Assert.Equal(100, s.GetProperty("validation_samples").GetInt32());     // data.validation = test (the default)

        var split = Cli.Run(["train", "--run-dir", t["split"], "--set", "data.dir=" + dir, "--set", "trainer.epochs=1",
                             "--set", "trainer.runtime=in-process", "--set", "output.plots=false", "--set", "output.tensorboard=false",
                             "--set", "data.validation=split", "--set", "data.validation-split=0.2"]);
        Assert.True(split.ExitCode == 0, split.Describe());
        var ss = RunDir.Summary(t["split"]);
        Assert.Equal(240, ss.GetProperty("train_samples").GetInt32());
        Assert.Equal(60, ss.GetProperty("validation_samples").GetInt32());
        Assert.Contains("(240 train, 60 held out for validation / 100 test samples)", split.Stdout + split.Stderr);
    }
}
