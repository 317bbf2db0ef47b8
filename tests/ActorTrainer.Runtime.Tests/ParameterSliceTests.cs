using ActorTrainer.Core;
using Akka.Actor;

namespace ActorTrainer.Runtime.Tests;

/// <summary>One parameter-server slice driven directly: it folds the shards of a step in shard order whatever their
/// arrival order, and refuses to apply a sum that is not finite — also when every shard's gradient is finite and only
/// their sum overflows (the check fused into the last shard's fold) — leaving its weights untouched.</summary>
public sealed class ParameterSliceTests() : Akka.TestKit.Xunit2.TestKit(ActorTrainingRunner.DefaultConfig)
{
    private const int Shards = 3, Rows = 30;

    private (IActorRef Slice, float[][] Weights) Start()
    {
        var weights = new[] { new float[40], new float[9] };
        var layout = ParameterSlices.Split(weights.Select(w => w.Length).ToArray(), 1);
        var sgd = new SGD(0.5);
        sgd.EnsureSlots(weights.Select(w => w.Length).ToArray());
        var slice = Sys.ActorOf(Props.Create(() => new ParameterSlice(0, layout, weights, sgd, 0, 0, Shards, TestActor)));
        return (slice, weights);
    }

    private static ShardResult Shard(long step, int shard, float value, int at) =>
        new(step, 0, (int)step, shard, Shards, Rows, 0, shard, 1.0, 1, Rows / Shards,
            [Enumerable.Range(0, 40).Select(i => i == at ? value : 1f).ToArray(), Enumerable.Repeat(1f, 9).ToArray()]);

    [Theory]
    [InlineData(new[] { 0, 1, 2 })]
    [InlineData(new[] { 2, 0, 1 })]
    [InlineData(new[] { 1, 2, 0 })]
    public void An_overflowing_sum_of_finite_shards_is_refused_and_a_finite_one_applied(int[] arrival)
    {
        var (slice, weights) = Start();
        foreach (int s in arrival) slice.Tell(Shard(0, s, s == 0 ? 1f : 3e38f, 17));   // 1 + 3e38 + 3e38 = +Inf
        var refused = ExpectMsg<SliceApplied>();
        Assert.False(refused.Applied);
        Assert.Equal("gradients contain NaN or Inf", refused.What);
        Assert.All(weights, w => Assert.All(w, v => Assert.Equal(0f, v)));

        foreach (int s in arrival) slice.Tell(Shard(1, s, 2f, 5));
        var applied = ExpectMsg<SliceApplied>();
        Assert.True(applied.Applied, applied.What);
        // w = 0 − 0.5·(sum of the three shards): 1 + 1 + 1 = 3 everywhere, 2 + 2 + 2 = 6 at index 5
        Assert.Equal(-3f, weights[0][5]);
        Assert.Equal(-1.5f, weights[0][6]);
        Assert.Equal(-1.5f, weights[1][8]);
    }
}
