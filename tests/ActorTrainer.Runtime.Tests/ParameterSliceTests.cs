using ActorTrainer.Core;
using Akka.Actor;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Parameter-server slices driven directly: a slice folds the shards of a step in shard order whatever their
/// arrival order, checks its range of the sum (fused into the last shard's add, so an overflow of finite shards is
/// caught too), tells its peers, and applies its range only once every peer said the step is finite in its range —
/// a step that is not finite in one slice's range is applied by none.</summary>
public sealed class ParameterSliceTests() : Akka.TestKit.Xunit2.TestKit(ActorTrainingRunner.DefaultConfig)
{
    private const int Shards = 3, Rows = 30;

    private static float[][] Weights() => [new float[40], new float[9]];

    private static ShardResult Shard(long step, int shard, float value, int at) =>
        new(step, 0, (int)step, shard, Shards, Rows, 0, shard, 1.0, 1, Rows / Shards,
            [Enumerable.Range(0, 40).Select(i => i == at ? value : 1f).ToArray(), Enumerable.Repeat(1f, 9).ToArray()]);

    private IActorRef Slice(int index, ParameterSlices layout, float[][] weights, IActorRef server, int updateThreads = 1)
    {
        var sgd = new SGD(0.5);
        sgd.EnsureSlots(weights.Select(w => w.Length).ToArray());
        return Sys.ActorOf(Props.Create(() => new ParameterSlice(index, layout, weights, sgd, 0, 0, Shards, server, updateThreads)));
    }

    [Theory]
    [InlineData(new[] { 0, 1, 2 })]
    [InlineData(new[] { 2, 0, 1 })]
    [InlineData(new[] { 1, 2, 0 })]
    public void A_slice_reports_an_overflowing_sum_of_finite_shards_and_applies_only_when_its_peer_agrees(int[] arrival)
    {
        var weights = Weights();
        var slice = Slice(0, ParameterSlices.Split([40, 9], 1), weights, TestActor);
        slice.Tell(new RegisterPeers([slice, TestActor], []));      // this test plays the other slice (and the server)
        foreach (int s in arrival) slice.Tell(Shard(0, s, s == 0 ? 1f : 3e38f, 17));   // 1 + 3e38 + 3e38 = +Inf
        var vote = ExpectMsg<SliceChecked>();
        Assert.False(vote.Finite);
        Assert.Equal((0L, 0), (vote.Step, vote.Slice));
        slice.Tell(new SliceChecked(0, 1, true));                    // the peer's range is finite; this one's is not
        var refused = ExpectMsg<SliceApplied>();
        Assert.False(refused.Applied);
        Assert.Equal("gradients contain NaN or Inf", refused.What);
        Assert.All(weights, w => Assert.All(w, v => Assert.Equal(0f, v)));

        slice.Tell(new SliceChecked(1, 1, true));                    // the peer may vote before this slice has checked
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        foreach (int s in arrival) slice.Tell(Shard(1, s, 2f, 5));
        Assert.True(ExpectMsg<SliceChecked>().Finite);
        var applied = ExpectMsg<SliceApplied>();
        Assert.True(applied.Applied, applied.What);
        // w = 0 − 0.5·(sum of the three shards): 1 + 1 + 1 = 3 everywhere, 2 + 2 + 2 = 6 at index 5
        Assert.Equal(-3f, weights[0][5]);
        Assert.Equal(-1.5f, weights[0][6]);
        Assert.Equal(-1.5f, weights[1][8]);

        foreach (int s in arrival) slice.Tell(Shard(2, s, 2f, 5));
        Assert.True(ExpectMsg<SliceChecked>().Finite);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));                 // nothing applied before the peer's vote
        Assert.Equal(-3f, weights[0][5]);
        slice.Tell(new SliceChecked(2, 1, false));                   // the peer's range diverged: this one is not applied
        var notApplied = ExpectMsg<SliceApplied>();
        Assert.False(notApplied.Applied);
        Assert.Equal(-3f, weights[0][5]);
    }

    [Fact]
    public void A_lone_slice_applies_a_finite_step_without_waiting()
    {
        var weights = Weights();
        var slice = Slice(0, ParameterSlices.Split([40, 9], 1), weights, TestActor);
        slice.Tell(new RegisterPeers([slice], []));
        for (int s = 0; s < Shards; s++) slice.Tell(Shard(0, s, 2f, 5));
        var applied = ExpectMsg<SliceApplied>();
        Assert.True(applied.Applied, applied.What);
        Assert.Equal(-3f, weights[0][5]);
    }

    [Fact]
    public void A_step_not_finite_in_one_slice_s_range_is_applied_by_no_slice()
    {
        var weights = Weights();
        var layout = ParameterSlices.Split([40, 9], 2);
        var generator = CreateTestProbe();
        var server = Sys.ActorOf(Props.Create(() => new ParameterServer(weights, layout, TestActor, generator, false, 0, StalenessPolicy.None, 0, 0)));
        var slices = new[] { Slice(0, layout, weights, server), Slice(1, layout, weights, server) };
        server.Tell(new RegisterPeers(slices, []));
        foreach (var slice in slices) slice.Tell(new RegisterPeers(slices, []));
        int inSecondSlice = (int)layout.Start(1) + 1;                // an element of tensor 0 that slice 1 owns
        Assert.InRange(inSecondSlice, 1, 39);
        foreach (var slice in slices)
            for (int s = 0; s < Shards; s++) slice.Tell(Shard(0, s, s == 0 ? 1f : 3e38f, inSecondSlice));
        var diverged = ExpectMsg<StepDiverged>();
        Assert.Equal("gradients contain NaN or Inf", diverged.What);
        Assert.All(weights, w => Assert.All(w, v => Assert.Equal(0f, v)));
        generator.ExpectNoMsg(TimeSpan.FromMilliseconds(100));       // no StepApplied: a step opened ahead never starts
    }

    /// <summary>A slice long enough to fold, check and update in parts (70 000 + 9 elements in 2 or 3 parts): an
    /// overflow in the last part's share, or a NaN in one shard alone, is caught; a finite step gives the bits of one
    /// thread.</summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 2)]
    [InlineData(3, 2)]
    [InlineData(3, 3)]
    public void A_slice_folding_and_updating_in_parts_catches_what_one_thread_catches_and_gives_its_bits(int shards, int threads)
    {
        const int n = 70_000;
        ShardResult Big(long step, int shard, int count, float value, int at) =>
            new(step, 0, (int)step, shard, count, count, 0, shard, 1.0, 1, 1,
                [Enumerable.Range(0, n).Select(i => i == at ? value : (i % 7) * 0.25f).ToArray(), Enumerable.Repeat(1f, 9).ToArray()]);
        float[][] weights = [new float[n], new float[9]];
        var sgd = new SGD(0.5);
        sgd.EnsureSlots([n, 9]);
        var layout = ParameterSlices.Split([n, 9], 1);
        Assert.Equal(Math.Min(threads, 8), Optimizer.UpdateParts(layout.Length(0), threads));
        var slice = Sys.ActorOf(Props.Create(() => new ParameterSlice(0, layout, weights, sgd, 0, 0, shards, TestActor, threads)));
        slice.Tell(new RegisterPeers([slice], []));
        // step 0: an overflow of finite shards (with several shards) or a NaN (one shard) near the end of the range
        for (int s = 0; s < shards; s++) slice.Tell(Big(0, s, shards, shards == 1 ? float.NaN : 3e38f, n - 5));
        var refused = ExpectMsg<SliceApplied>();
        Assert.False(refused.Applied);
        Assert.All(weights[0], v => Assert.Equal(0f, v));
        // step 1: finite; w = −0.5 · Σ shards (each element a single rounding of the same adds in shard order)
        for (int s = 0; s < shards; s++) slice.Tell(Big(1, s, shards, 2f, 12_345));
        var applied = ExpectMsg<SliceApplied>();
        Assert.True(applied.Applied, applied.What);
        for (int i = 0; i < n; i++)
        {
            float g = i == 12_345 ? 2f : (i % 7) * 0.25f, sum = g;
            for (int s = 1; s < shards; s++) sum += g;
            Assert.Equal(-0.5f * sum, weights[0][i]);
        }
        Assert.All(weights[1], v => Assert.Equal(-0.5f * shards, v));
    }

    [Fact]
    public void A_pull_fills_the_buffer_it_hands_over_and_allocates_one_only_without_a_fitting_buffer()
    {
        var weights = Weights();
        for (int i = 0; i < 40; i++) weights[0][i] = i;
        var layout = ParameterSlices.Split([40, 9], 2);
        var slice = Slice(1, layout, weights, TestActor);
        var first = ExpectPull(slice, new PullWeights(0));                            // no buffer: the slice allocates
        Assert.Equal(layout.Length(1), first.Length);
        var buffer = new float[layout.Length(1)];
        var again = ExpectPull(slice, new PullWeights(0, [null, buffer]));            // its own buffer back, filled
        Assert.Same(buffer, again);
        Assert.Equal(first, again);
        var wrong = ExpectPull(slice, new PullWeights(0, [null, new float[3]]));     // a buffer of another length: not used
        Assert.Equal(first, wrong);
        Assert.Equal(layout.Length(1), wrong.Length);
        // what a pull carries: the slice's range of the weights, flat
        var expected = new float[49];
        weights[0].CopyTo(expected, 0);
        Assert.Equal(expected.AsSpan(49 - layout.Length(1)).ToArray(), again);
    }

    private float[] ExpectPull(IActorRef slice, PullWeights pull)
    {
        slice.Tell(pull);
        var m = ExpectMsg<SliceWeights>();
        Assert.Equal(1, m.Slice);
        return m.Values;
    }
}
