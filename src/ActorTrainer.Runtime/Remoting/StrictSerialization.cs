using Akka.Configuration;

namespace ActorTrainer.Runtime.Remoting;

/// <summary>The serialization settings of a networked node: only Akka's own internal serializers (cluster, remote
/// envelopes, system messages, heartbeats, …) and <see cref="TrainingMessageSerializer"/> may carry a message.
/// <para>Two halves, because Akka.NET 1.5.74 picks the serializer differently on each side
/// (Akka.Serialization.Serialization in Akka.dll):</para>
/// <list type="bullet">
/// <item>Sending: <c>FindSerializerForType</c> falls back to the System.Object binding (JSON) only while
/// <c>akka.actor.serialization-settings.allow-unregistered-types</c> is on; with it off an unbound type throws
/// SerializationException, which Akka.Remote's EndpointWriter logs at Error level ("Serialization failed for message
/// [type]") and drops.</item>
/// <item>Receiving: <c>Deserialize(bytes, serializerId, manifest)</c> looks the serializer up by the identifier the
/// peer wrote into the envelope (<c>_serializersById</c>); allow-unregistered-types plays no part there. So the
/// identifiers 1 (JSON), 2 (Google.Protobuf) and 3 (remote deployment) are rebound to
/// <see cref="RefusedSerializer"/>s through <c>akka.actor.serializers.{json,proto,daemon-create}</c> (the
/// configured serializer replaces the default, keyed by alias and by identifier). A refused payload makes
/// EndpointReader log a warning ("Deserialization failed for message with serializer id [1] …
/// association remains live") and drop the message; nothing is instantiated.</item>
/// <item>Akka's own protobuf serializers for misc and system messages read exceptions
/// (Akka.Remote.Serialization.ExceptionSupport.ExceptionFromProtoNet) by resolving a peer-chosen type name and calling
/// its deserialization constructor; <c>akka-misc</c> and <c>akka-system-msg</c> are therefore rebound to
/// <see cref="GuardedMiscMessageSerializer"/> / <see cref="GuardedSystemMessageSerializer"/>, which delegate to
/// Akka's serializers but refuse the messages that carry an exception (Status.Failure; Create, Recreate, Resume,
/// Failed).</item>
/// </list>
/// In-process messages are passed by reference and never serialized (<c>akka.actor.serialize-messages</c> stays off),
/// so local actors keep accepting every type.</summary>
public static class StrictSerialization
{
    /// <summary>The HOCON of the strict settings (part of <see cref="ClusterSettings.ToConfig"/>).</summary>
    public static string Hocon { get; } = $$"""
        akka.actor {
          serialize-messages = off
          serialization-settings.allow-unregistered-types = off
          serializers {
            json = "{{TypeName<RefusedJsonSerializer>()}}"
            proto = "{{TypeName<RefusedProtobufSerializer>()}}"
            daemon-create = "{{TypeName<RefusedRemoteDeploymentSerializer>()}}"
            akka-misc = "{{TypeName<GuardedMiscMessageSerializer>()}}"
            akka-system-msg = "{{TypeName<GuardedSystemMessageSerializer>()}}"
          }
        }
        """;

    /// <summary>The strict settings as a Config (to combine with other settings; they should take precedence).</summary>
    public static Config Config => ConfigurationFactory.ParseString(Hocon);

    private static string TypeName<T>() => $"{typeof(T).FullName}, {typeof(T).Assembly.GetName().Name}";
}
