using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;

namespace ActorTrainer.Runtime.Remoting;

/// <summary>A serializer that serializes and deserializes nothing: it takes the identifier of one of Akka's
/// general-purpose serializers (see <see cref="StrictSerialization"/>) so that a payload a remote peer tags with that
/// identifier is refused on arrival instead of being turned into an object. It is a
/// <see cref="SerializerWithStringManifest"/> so that Akka never resolves the peer-supplied manifest to a .NET type
/// (Akka.Serialization.Serialization.Deserialize does that for plain serializers before calling them).</summary>
public abstract class RefusedSerializer : SerializerWithStringManifest
{
    private readonly string _replaced;

    /// <summary>Created by Akka from <c>akka.actor.serializers</c>; `replaced` names the serializer this one stands in for.</summary>
    protected RefusedSerializer(ExtendedActorSystem system, string replaced) : base(system) => _replaced = replaced;

    /// <inheritdoc/>
    public override string Manifest(object o) => throw Refusal($"send a {o?.GetType().FullName ?? "null"}");

    /// <inheritdoc/>
    public override byte[] ToBinary(object obj) => throw Refusal($"send a {obj?.GetType().FullName ?? "null"}");

    /// <inheritdoc/>
    public override object FromBinary(byte[] bytes, string manifest) =>
        throw Refusal($"accept a {bytes?.Length ?? 0}-byte payload with manifest '{Truncate(manifest)}'");

    private SerializationException Refusal(string what) => new(
        $"strict serialization: refused to {what} through the {_replaced} serializer (id {Identifier}); only " +
        $"Akka's internal messages and ITrainingMessage (serializer id {TrainingMessageSerializer.Id}) cross the wire");

    private static string Truncate(string? s) => s is null ? "" : s.Length <= 200 ? s : s[..200] + "…";
}

/// <summary>Stands in for Newtonsoft JSON (id 1, alias <c>json</c>, bound to System.Object by default): JSON with
/// TypeNameHandling would let a remote peer make this process instantiate any type it names.</summary>
public sealed class RefusedJsonSerializer : RefusedSerializer
{
    /// <summary>Akka's identifier of the JSON serializer.</summary>
    public const int Id = 1;

    /// <summary>Created by Akka (no serializer settings).</summary>
    public RefusedJsonSerializer(ExtendedActorSystem system) : base(system, "JSON") { }

    /// <summary>Created by Akka when <c>akka.actor.serialization-settings.json</c> exists (it does by default).</summary>
    public RefusedJsonSerializer(ExtendedActorSystem system, Config _) : this(system) { }

    /// <inheritdoc/>
    public override int Identifier => Id;
}

/// <summary>Stands in for Akka.Remote's Google.Protobuf serializer (id 2, alias <c>proto</c>): in Akka.Remote 1.5.74
/// its FromBinary calls Activator.CreateInstance on the type the peer names in the manifest before checking that the
/// type is a protobuf message. The trainer sends no Google.Protobuf messages through Akka.</summary>
public sealed class RefusedProtobufSerializer : RefusedSerializer
{
    /// <summary>Akka's identifier of the protobuf serializer.</summary>
    public const int Id = 2;

    /// <summary>Created by Akka (no serializer settings).</summary>
    public RefusedProtobufSerializer(ExtendedActorSystem system) : base(system, "Google.Protobuf") { }

    /// <summary>Created by Akka when serializer settings exist for the alias.</summary>
    public RefusedProtobufSerializer(ExtendedActorSystem system, Config _) : this(system) { }

    /// <inheritdoc/>
    public override int Identifier => Id;
}

/// <summary>Stands in for Akka.Remote's DaemonMsgCreate serializer (id 3, alias <c>daemon-create</c>): remote
/// deployment lets a peer create an actor of any type it names, with constructor arguments it chooses, in this
/// process. The trainer deploys no actors remotely.</summary>
public sealed class RefusedRemoteDeploymentSerializer : RefusedSerializer
{
    /// <summary>Akka's identifier of the remote-deployment serializer.</summary>
    public const int Id = 3;

    /// <summary>Created by Akka (no serializer settings).</summary>
    public RefusedRemoteDeploymentSerializer(ExtendedActorSystem system) : base(system, "remote-deployment (DaemonMsgCreate)") { }

    /// <summary>Created by Akka when serializer settings exist for the alias.</summary>
    public RefusedRemoteDeploymentSerializer(ExtendedActorSystem system, Config _) : this(system) { }

    /// <inheritdoc/>
    public override int Identifier => Id;
}
