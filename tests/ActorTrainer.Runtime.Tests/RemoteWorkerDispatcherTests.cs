using System.Diagnostics;
using Akka.Actor;

namespace ActorTrainer.Runtime.Tests;

/// <summary>The remote gradient workers' pinned dispatcher (ActorTrainingRunner.RuntimeDefaults): each worker gets a
/// thread of its own, and that thread ends as soon as the worker has stopped — not after Akka's default dispatcher
/// shutdown-timeout (1 s), during which a coordinator whose busy node gets a new worker at every probe would hold the
/// threads of every worker stopped in the last second.</summary>
public class RemoteWorkerDispatcherTests
{
    private const string Dispatcher = "actor-trainer.remote-worker-dispatcher";

    /// <summary>Reports the thread it starts on.</summary>
    private sealed class ThreadReporter(TaskCompletionSource<Thread> started) : ReceiveActor
    {
        protected override void PreStart() => started.SetResult(Thread.CurrentThread);
    }

    /// <summary>Milliseconds from the actor's termination (its parent's Terminated) until its thread has ended (at most
    /// `limit`, then `limit`).</summary>
    private static async Task<(double Millis, string Thread, int Id)> ThreadEndAfterStop(ActorSystem system, int i, TimeSpan limit)
    {
        var started = new TaskCompletionSource<Thread>(TaskCreationOptions.RunContinuationsAsynchronously);
        var actor = system.ActorOf(Props.Create(() => new ThreadReporter(started)).WithDispatcher(Dispatcher), "pinned-" + i);
        var thread = await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(await actor.GracefulStop(TimeSpan.FromSeconds(10)), "the actor did not stop");
        var clock = Stopwatch.StartNew();
        while (thread.IsAlive && clock.Elapsed < limit) await Task.Delay(5);
        return (clock.Elapsed.TotalMilliseconds, thread.Name ?? "(unnamed)", thread.ManagedThreadId);
    }

    [Fact]
    public async Task A_stopped_remote_worker_s_thread_ends_within_200_ms_of_its_stop()
    {
        using var system = ActorTrainingRunner.CreateSystem("pinned-thread-test");
        Assert.True(system.Dispatchers.HasDispatcher(Dispatcher));
        var ends = new List<(double Millis, string Thread, int Id)>();
        for (int i = 0; i < 5; i++) ends.Add(await ThreadEndAfterStop(system, i, TimeSpan.FromSeconds(3)));
        var seen = string.Join(", ", ends.Select(e => $"{e.Thread} #{e.Id}: {e.Millis:F0} ms"));
        // the dispatcher's own threads (each ends with its actor, below: one per actor, never a shared one)
        Assert.All(ends, e => Assert.StartsWith(Dispatcher, e.Thread));
        // before the fix every one took the dispatcher's shutdown-timeout (1 s, Akka's default) and then some; the median
        // keeps one thread held up by a loaded machine from failing the test
        var median = ends.Select(e => e.Millis).Order().ElementAt(ends.Count / 2);
        Assert.True(median < 200, $"threads ended after their actor stopped (with the 1 s shutdown-timeout, every one ≥ 1000 ms): {seen}");
    }
}
