using Akka.Actor;

namespace ActorTrainer.Runtime;

/// <summary>Props whose actor a delegate creates. Akka's <c>Props.Create(() =&gt; new T(a, b.C, …))</c> takes the
/// expression apart at every call and compiles a lambda for each argument that is not a plain captured variable
/// (<c>job.Plan</c>, <c>opts.AsyncPullEvery</c>: ~18 compilations per run's actors), then creates the actor by
/// reflection; a delegate does neither. Unlike the expression's arguments, which are read when the Props are made, the
/// delegate runs when the actor is created (again at each restart), in the new actor's context: read <c>Self</c>,
/// <c>Context</c> and anything that changes into locals first and capture those.</summary>
internal static class ActorProps
{
    /// <summary>Props that create a TActor with `create`.</summary>
    public static Props Of<TActor>(Func<TActor> create) where TActor : ActorBase
    {
        ArgumentNullException.ThrowIfNull(create);
        return Props.CreateBy(new DelegateProducer<TActor>(create));
    }

    private sealed class DelegateProducer<TActor>(Func<TActor> create) : IIndirectActorProducer where TActor : ActorBase
    {
        public Type ActorType => typeof(TActor);
        public ActorBase Produce() => create();
        public void Release(ActorBase actor) { }
    }
}
