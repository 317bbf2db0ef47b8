using System.Reflection;
using System.Text.Json.Nodes;

namespace ActorTrainer.Core;

/// <summary>Keras <c>custom_objects</c> for loading a model with user-defined layer classes.</summary>
public static partial class ModelFiles
{
    private static readonly IReadOnlyDictionary<string, Func<JsonObject, Layer>> NoCustomObjects =
        new Dictionary<string, Func<JsonObject, Layer>>();

    /// <summary>Loads a model saved by <see cref="Save"/> whose user-defined layer classes are
    /// <paramref name="layerTypes"/>, registered under their type names (see <see cref="CustomObjects"/>).</summary>
    public static Sequential Load(string dir, params Type[] layerTypes) => Load(dir, CustomObjects(layerTypes));

    /// <summary>The custom objects of layer types: each type, a <see cref="Layer"/>, is registered under its type name
    /// (which must be its <c>ClassName</c>, config.json's <c>class_name</c>: the class name it gives Layer's constructor,
    /// or its type name for a subclass of a built-in layer class) with a factory
    /// that calls its public static <c>FromConfig(JsonObject)</c>, or else its public constructor taking one
    /// <c>JsonObject</c>, with the layer's config. ArgumentException names a type that is not a Layer or has neither.</summary>
    public static IReadOnlyDictionary<string, Func<JsonObject, Layer>> CustomObjects(params Type[] layerTypes)
    {
        ArgumentNullException.ThrowIfNull(layerTypes);
        var objects = new Dictionary<string, Func<JsonObject, Layer>>();
        foreach (var t in layerTypes)
        {
            ArgumentNullException.ThrowIfNull(t, nameof(layerTypes));
            objects[t.Name] = FactoryOf(t);
        }
        return objects;
    }

    private static Func<JsonObject, Layer> FactoryOf(Type t)
    {
        if (!typeof(Layer).IsAssignableFrom(t) || t.IsAbstract)
            throw new ArgumentException($"custom object '{t.FullName}' is not a concrete Layer class", "layerTypes");
        var fromConfig = t.GetMethod("FromConfig", BindingFlags.Public | BindingFlags.Static, [typeof(JsonObject)]);
        if (fromConfig is not null && typeof(Layer).IsAssignableFrom(fromConfig.ReturnType))
            return c => (Layer)fromConfig.Invoke(null, BindingFlags.DoNotWrapExceptions, null, [c], null)!;
        var ctor = t.GetConstructor([typeof(JsonObject)]);
        if (ctor is not null)
            return c => (Layer)ctor.Invoke(BindingFlags.DoNotWrapExceptions, null, [c], null);
        throw new ArgumentException($"custom layer class '{t.FullName}' has neither a public static FromConfig(JsonObject) " +
                                    "returning a Layer nor a public constructor taking a JsonObject, so it cannot be built from its config",
                                    "layerTypes");
    }
}
