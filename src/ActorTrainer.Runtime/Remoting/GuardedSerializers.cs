using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch.SysMsg;
using Akka.Remote.Serialization;
using Akka.Serialization;

namespace ActorTrainer.Runtime.Remoting;

/// <summary>Akka.Remote's MiscMessageSerializer (id 16, alias <c>akka-misc</c>: Identify, ActorIdentity, actor
/// references, remote-watch heartbeats, …) except that it refuses to read a <c>Status.Failure</c> (manifest
/// <c>STF</c>) from the wire. In Akka.Remote 1.5.74 that reads an exception through ExceptionSupport.ExceptionFromProtoNet,
/// which resolves the type name the peer wrote (Type.GetType) and invokes that type's
/// (SerializationInfo, StreamingContext) constructor before checking that it is an exception. The trainer sends no
/// Status.Failure between nodes; a remote ask answered with one times out instead of failing.</summary>
public sealed class GuardedMiscMessageSerializer : SerializerWithStringManifest
{
    /// <summary>Akka's identifier of the misc-message serializer.</summary>
    public const int Id = 16;

    private const string StatusFailureManifest = "STF";
    private readonly MiscMessageSerializer _inner;

    /// <summary>Created by Akka from <c>akka.actor.serializers</c>.</summary>
    public GuardedMiscMessageSerializer(ExtendedActorSystem system) : base(system) => _inner = new MiscMessageSerializer(system);

    /// <summary>Created by Akka when serializer settings exist for the alias.</summary>
    public GuardedMiscMessageSerializer(ExtendedActorSystem system, Config _) : this(system) { }

    /// <inheritdoc/>
    public override int Identifier => Id;

    /// <inheritdoc/>
    public override string Manifest(object o) => _inner.Manifest(o);

    /// <inheritdoc/>
    public override byte[] ToBinary(object obj) => _inner.ToBinary(obj);

    /// <inheritdoc/>
    public override object FromBinary(byte[] bytes, string manifest) => manifest == StatusFailureManifest
        ? throw new SerializationException("strict serialization: refused a remote Status.Failure (its exception type is chosen by the peer)")
        : _inner.FromBinary(bytes, manifest);
}

/// <summary>Akka.Remote's SystemMessageSerializer (id 22, alias <c>akka-system-msg</c>) except that it refuses the
/// system messages that carry an exception (Create, Recreate, Resume, Failed; read through the same
/// ExceptionFromProtoNet as <see cref="GuardedMiscMessageSerializer"/>). Those cross the wire only for remote
/// deployment and supervision, which <see cref="RefusedRemoteDeploymentSerializer"/> disables; remote death watch
/// (Watch, Unwatch, DeathWatchNotification, Terminate, Supervise, Suspend) is unaffected.</summary>
public sealed class GuardedSystemMessageSerializer : Serializer
{
    /// <summary>Akka's identifier of the system-message serializer.</summary>
    public const int Id = 22;

    private readonly SystemMessageSerializer _inner;

    /// <summary>Created by Akka from <c>akka.actor.serializers</c>.</summary>
    public GuardedSystemMessageSerializer(ExtendedActorSystem system) : base(system) => _inner = new SystemMessageSerializer(system);

    /// <summary>Created by Akka when serializer settings exist for the alias.</summary>
    public GuardedSystemMessageSerializer(ExtendedActorSystem system, Config _) : this(system) { }

    /// <inheritdoc/>
    public override int Identifier => Id;

    /// <inheritdoc/>
    public override bool IncludeManifest => true;

    /// <inheritdoc/>
    public override byte[] ToBinary(object obj) => _inner.ToBinary(obj);

    /// <inheritdoc/>
    public override object FromBinary(byte[] bytes, Type type) =>
        type == typeof(Create) || type == typeof(Recreate) || type == typeof(Resume) || type == typeof(Failed)
            ? throw new SerializationException($"strict serialization: refused a remote {type.Name} system message (it carries an exception whose type the peer chooses)")
            : _inner.FromBinary(bytes, type);
}
