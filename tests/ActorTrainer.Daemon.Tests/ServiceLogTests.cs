using ActorTrainer.Daemon.Service;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Reading a job's train.log: complete lines only (a partial line waits for its newline), and the
/// classification of the trainer's JSON epoch objects, test line and error lines.</summary>
public class ServiceLogTests
{
    [Fact]
    public void Follower_returns_complete_lines_once_and_holds_a_partial_line_back()
    {
        using var t = new TempDir();
        var path = t["train.log"];
        var f = new TrainLog.Follower(path);
        Assert.Empty(f.ReadNew());                                         // no file yet
        File.WriteAllText(path, "one\ntw");
        Assert.Equal(["one"], f.ReadNew());
        Assert.Empty(f.ReadNew());
        File.AppendAllText(path, "o\nthree\n");
        Assert.Equal(["two", "three"], f.ReadNew());
        File.WriteAllText(path, "new\n");                                  // truncated and rewritten: start over
        Assert.Equal(["new"], f.ReadNew());
    }

    [Fact]
    public void Follower_keeps_a_character_whose_bytes_arrive_in_two_reads()
    {
        using var t = new TempDir();
        var path = t["train.log"];
        var f = new TrainLog.Follower(path);
        var line = System.Text.Encoding.UTF8.GetBytes("error: data.dir = '/data/café' is not a directory\n");
        var split = Array.IndexOf(line, (byte)0xC3) + 1;                   // the trainer has written half of 'é'
        File.WriteAllBytes(path, line[..split]);
        Assert.Empty(f.ReadNew());
        using (var append = new FileStream(path, FileMode.Append)) append.Write(line, split, line.Length - split);
        Assert.Equal(["error: data.dir = '/data/café' is not a directory"], f.ReadNew());
    }

    [Fact]
    public void Parse_reads_epoch_objects_the_test_line_and_errors()
    {
        var epoch = TrainLog.Parse("{\"EventId\":0,\"LogLevel\":\"Information\",\"Category\":\"train\",\"Message\":\"epoch 1/2 loss 0.5\"," +
                                   "\"State\":{\"Epoch\":1,\"Epochs\":2,\"Loss\":0.5,\"Accuracy\":0.75,\"ValLoss\":\"NaN\",\"ValAccuracy\":0.8}}");
        Assert.Equal("epoch", epoch.Kind);
        Assert.Equal("epoch 1/2 loss 0.5", epoch.Text);
        Assert.Equal(1, epoch.Data!["epoch"]!.GetValue<double>());
        Assert.Equal(2, epoch.Data["epochs"]!.GetValue<double>());
        Assert.Equal(0.75, epoch.Data["accuracy"]!.GetValue<double>());
        Assert.False(epoch.Data.ContainsKey("val_loss"));                 // NaN is left out, not sent as a number
        var test = TrainLog.Parse("test_loss: 0.0717 - test_accuracy: 0.9778");
        Assert.Equal("test", test.Kind);
        Assert.Equal(0.9778, test.Data!["test_accuracy"]!.GetValue<double>());
        var json = TrainLog.Parse("{\"LogLevel\":\"Information\",\"Message\":\"test_loss 0.07171 test_accuracy 0.9778\"," +
                                  "\"State\":{\"TestLoss\":0.07171,\"TestAccuracy\":0.9778}}");
        Assert.Equal("test", json.Kind);
        Assert.Equal("test_loss: 0.0717 - test_accuracy: 0.9778", json.Text);     // what `logs` shows, as in the text format
        Assert.Equal(0.07171, json.Data!["test_loss"]!.GetValue<double>());
        Assert.Equal("error", TrainLog.Parse("error: config: model.input-shape [100] holds 100 values").Kind);
        Assert.Equal("error", TrainLog.Parse("{\"LogLevel\":\"Error\",\"Message\":\"boom\"}").Kind);
        var plain = TrainLog.Parse("{not json");
        Assert.Equal("log", plain.Kind);
        Assert.Null(plain.Data);
    }
}
