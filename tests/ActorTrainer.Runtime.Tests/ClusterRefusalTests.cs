using ActorTrainer.Runtime.Clustering;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Tests;

/// <summary>A worker node that refuses the coordinator's job (as a GPU node refuses a sync job) is refused once per
/// node incarnation: its workers are not started again at every probe, and the run goes on (or fails) without it.</summary>
public class ClusterRefusalTests
{
    private const string Refusal = "this test node takes async jobs only; train with trainer.mode = async";

    private static RuntimeOptions Remote(int minWorkers, double waitSeconds) =>
        new(Workers: 1, ShardsPerBatch: 4, Remote: new RemoteWorkers(new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(10)),
            minWorkers, false, TimeSpan.FromSeconds(waitSeconds), TimeSpan.FromMilliseconds(200)));

    private static int Refusals(ClusterTestNodes cluster)
    {
        lock (cluster.Log) return cluster.Log.Count(l => l.Contains("refused: " + Refusal));
    }

    [Fact]
    public async Task A_node_refusing_the_job_is_asked_once_and_the_wait_names_it()
    {
        using var cluster = new ClusterTestNodes();
        cluster.AddNode(workers: 2, syncRefusal: Refusal);
        // probed every 200 ms for 3 s: before the fix each probe started its two workers again, each refused anew
        var job = Fixtures.Job(256, Remote(minWorkers: 1, waitSeconds: 3));
        // (and the run never ended: each redeployment counted as workers that had come back)
        var e = await Assert.ThrowsAsync<WorkersUnavailableException>(() =>
            ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator).WaitAsync(TimeSpan.FromSeconds(60)));
        // its workers never count (their node did not take the job): none joined
        Assert.Contains("0 of cluster.min-workers = 1 gradient workers joined within cluster.wait-for-workers = 3 s (1 worker node(s) refused, see the error above)", e.Message);
        // one line for the two connections of its only deployment (it was one per connection)
        Assert.Equal(1, Refusals(cluster));
    }

    [Fact]
    public async Task A_sync_run_trains_on_the_other_nodes_and_leaves_the_refusing_one_alone()
    {
        using var cluster = new ClusterTestNodes();
        var good = cluster.AddNode(workers: 1);
        var refusing = cluster.AddNode(workers: 1, syncRefusal: Refusal);
        var job = Fixtures.Job(514, Remote(minWorkers: 1, waitSeconds: 30), epochs: 6);
        var (expected, _) = Fixtures.Reference(job);
        var result = await ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator);
        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.True(good.ShardsComputed > 0 && refusing.ShardsComputed == 0, $"shards: good {good.ShardsComputed}, refusing {refusing.ShardsComputed}");
        Assert.True(Refusals(cluster) <= 1, "the refusing node was asked at most once:\n" + string.Join("\n", cluster.Log));
    }
}
