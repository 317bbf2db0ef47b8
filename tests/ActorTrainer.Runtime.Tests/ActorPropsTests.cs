using Akka.Actor;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Props made from a delegate (<see cref="ActorProps"/>): the actor is the delegate's, on the dispatcher the
/// Props name; a restart (supervision) runs the delegate again, with the values it captured.</summary>
public sealed class ActorPropsTests() : Akka.TestKit.Xunit2.TestKit(ActorTrainingRunner.DefaultConfig)
{
    private sealed class Echo : ReceiveActor
    {
        public Echo(IActorRef report, string tag, int[] created)
        {
            int n = Interlocked.Increment(ref created[0]);
            report.Tell($"{tag} #{n}");
            Receive<string>(m => m == "fail", _ => throw new InvalidOperationException("asked to fail"));
            Receive<string>(m => Sender.Tell($"{tag}: {m} on {Context.Props.Dispatcher}"));
        }
    }

    [Fact]
    public void The_delegates_actor_answers_and_a_restart_runs_the_delegate_again()
    {
        var created = new int[1];
        var report = TestActor;
        var props = ActorProps.Of(() => new Echo(report, "a", created));
        Assert.Equal(typeof(Echo), props.Type);
        var echo = Sys.ActorOf(props.WithDispatcher(TrainingDispatcher.Id), "echo");
        ExpectMsg("a #1");
        echo.Tell("hi");
        ExpectMsg($"a: hi on {TrainingDispatcher.Id}");
        echo.Tell("fail");                       // the default strategy restarts it: a new instance from the delegate
        ExpectMsg("a #2");
        echo.Tell("again");
        ExpectMsg($"a: again on {TrainingDispatcher.Id}");
        Assert.Equal(2, created[0]);
    }

    [Fact]
    public void A_null_delegate_is_refused() =>
        Assert.Throws<ArgumentNullException>(() => ActorProps.Of<Echo>(null!));
}
