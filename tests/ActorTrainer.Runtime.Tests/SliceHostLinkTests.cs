using System.Net;
using ActorTrainer.Core;
using ActorTrainer.Runtime.Clustering;
using ActorTrainer.Runtime.DataPlane;
using Akka.Actor;

namespace ActorTrainer.Runtime.Tests;

/// <summary>The coordinator's link to a ps node, driven directly against a real node: the parameter server asks it
/// once per hosted slice for the optimizer state, and every request gets its own slice's state, in slice order,
/// however the requests interleave with the node's answer.</summary>
public sealed class SliceHostLinkTests() : Akka.TestKit.Xunit2.TestKit(ActorTrainingRunner.DefaultConfig)
{
    private static readonly int[] Sizes = [300, 20, 50, 7];

    [Fact]
    public void Each_state_request_gets_its_own_slices_state_also_when_the_next_request_comes_after_the_nodes_answer()
    {
        var options = new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(10));
        using var node = new WorkerNodeServer(IPAddress.Loopback, 0, options, 0, 0, _ => { }, hostsSlices: true);
        var info = new WorkerNodeInfo("127.0.0.1", node.Endpoint.Port, Guid.NewGuid().ToString("N"), 0, 0, options.MaxFrameBytes, HostsSlices: true);
        var layout = ParameterSlices.Split(Sizes, 3);
        var weights = Sizes.Select(n => new float[n]).ToArray();
        var rms = new RMSprop(learningRate: 0.001);
        rms.EnsureSlots(Sizes);
        for (int t = 0; t < Sizes.Length; t++)     // each slot value names its tensor and index
            for (int k = 0; k < rms.SlotNames.Length; k++)
            {
                var slot = rms.SlotsFor(t, Sizes[t])[k];
                for (int i = 0; i < slot.Length; i++) slot[i] = t * 1000 + i + k * 0.5f;
            }
        var spec = new SliceJobSpec(Sizes, layout.Count, 0, layout.Count - 1, 2, 0.001, OptimizerConfig.Serialize(rms).ToJsonString());
        var start = (FirstStep: 0L, Iterations: 0L, Version: 0L);
        var link = Sys.ActorOf(Props.Create(() => new SliceHostLink(info, 11, spec, layout, weights, rms, start, options, TestActor)));
        var flat = Enumerable.Range(0, rms.SlotNames.Length)
            .Select(k => Enumerable.Range(0, Sizes.Length).SelectMany(t => rms.SlotsFor(t, Sizes[t])[k]).ToArray()).ToArray();
        void Expect(int slice)
        {
            var state = ExpectMsg<SliceState>(TimeSpan.FromSeconds(20));
            Assert.Equal(slice, state.Slice);
            long start = Enumerable.Range(0, slice).Sum(s => (long)layout.Length(s));
            for (int k = 0; k < flat.Length; k++) Assert.Equal(flat[k].AsSpan((int)start, layout.Length(slice)).ToArray(), state.Slots[k]);
        }
        // the second request after the node answered the first (a server thread preempted between its two Tells)
        link.Tell(new SliceStateRequest());
        Expect(0);
        link.Tell(new SliceStateRequest());
        Expect(1);
        link.Tell(new SliceStateRequest());
        Expect(2);
        // the next snapshot: all three at once, then once more one by one
        for (int i = 0; i < 3; i++) link.Tell(new SliceStateRequest());
        for (int s = 0; s < 3; s++) Expect(s);
        for (int s = 0; s < 3; s++)
        {
            link.Tell(new SliceStateRequest());
            Expect(s);
        }
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }
}
