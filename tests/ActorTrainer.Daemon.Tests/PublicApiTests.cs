using System.Reflection;
using System.Text.Json.Nodes;
using ActorTrainer.Core;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>What a C# caller of the libraries sees: no F# module plumbing (a module named like a type, compiled as
/// <c>…Module</c>), and no F# types (FSharpList, FSharpOption, FSharpFunc, …) outside the F#-only namespace
/// ActorTrainer.Core.FSharp (curried functions, F# tuples; F# code opens it automatically, C# never imports it). The
/// stricter guard of ActorTrainer.Core's C# surface (reference tuples, curried members too) is
/// ActorTrainer.Interop.Tests' CSharpSurfaceTests.</summary>
public class PublicApiTests
{
    private static readonly Assembly[] Libraries =
    [
        typeof(Tensor).Assembly,                                  // ActorTrainer.Core
        typeof(ActorTrainer.Kernels.KernelSettings).Assembly,
        typeof(ModelFiles).Assembly,                             // ActorTrainer.Interop
        typeof(ActorTrainer.Runtime.ActorStepRuntime).Assembly,
        typeof(ActorTrainer.Cuda.CudaRuntime).Assembly,
    ];

    /// <summary>The F#-only namespace: its members may take and return F# types.</summary>
    private const string FSharpOnlyNamespace = "ActorTrainer.Core.FSharp";

    private static bool IsFSharp(Type t) =>
        (t.Namespace ?? "").StartsWith("Microsoft.FSharp", StringComparison.Ordinal)
        || (t.HasElementType && IsFSharp(t.GetElementType()!))
        || (t.IsGenericType && t.GetGenericArguments().Any(IsFSharp));

    private static bool CarriesFSharp(MemberInfo m) => m switch
    {
        MethodInfo mi => IsFSharp(mi.ReturnType) || mi.GetParameters().Any(p => IsFSharp(p.ParameterType)),
        ConstructorInfo ci => ci.GetParameters().Any(p => IsFSharp(p.ParameterType)),
        PropertyInfo pi => IsFSharp(pi.PropertyType),
        FieldInfo fi => IsFSharp(fi.FieldType),
        EventInfo ei => IsFSharp(ei.EventHandlerType!),
        _ => false,
    };

    /// <summary>"Type::Member" of every public member (accessors as their property) whose signature has an F# type.</summary>
    private static IEnumerable<string> FSharpMembers(Assembly a) =>
        from t in a.GetExportedTypes()
        where t.Namespace != FSharpOnlyNamespace
        from m in t.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
        where CarriesFSharp(m)
        select $"{t.FullName}::{Named(t, m)}";

    private static string Named(Type t, MemberInfo m) =>
        m is MethodInfo mi && (mi.Name.StartsWith("get_", StringComparison.Ordinal) || mi.Name.StartsWith("set_", StringComparison.Ordinal))
           && t.GetProperty(mi.Name[4..], BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static) is not null
            ? mi.Name[4..] : m.Name;

    [Fact]
    public void No_F_sharp_type_appears_outside_the_F_sharp_only_namespace()
    {
        var found = Libraries.SelectMany(FSharpMembers).Distinct().OrderBy(s => s, StringComparer.Ordinal).ToList();
        Assert.Empty(found);
        // the scan sees F# types where they are allowed
        Assert.True(CarriesFSharp(typeof(ActorTrainer.Core.FSharp.Autodiff).GetMethod("grad")!));
    }

    [Fact]
    public void No_F_sharp_module_named_like_a_type_is_public()
    {
        var modules = Libraries.SelectMany(a => a.GetExportedTypes()).Where(t => t.Name.EndsWith("Module", StringComparison.Ordinal))
                               .Select(t => t.FullName).ToList();
        Assert.Empty(modules);
    }

    [Fact]
    public void Keras_get_config_reads_as_JSON_from_C_sharp()
    {
        var dense = new Dense(512, "relu");
        dense.Name = "dense";
        var config = dense.GetConfig();
        Assert.Equal("dense", config["name"]!.GetValue<string>());
        Assert.Equal(512, config["units"]!.GetValue<int>());
        Assert.Equal("relu", config["activation"]!.GetValue<string>());
        Assert.Equal("glorot_uniform", config["kernel_initializer"]!["class_name"]!.GetValue<string>());
        var rmsprop = new RMSprop().GetConfig();
        Assert.Equal(["name", "learning_rate", "rho", "momentum", "epsilon", "centered"], rmsprop.Select(kv => kv.Key));
        Assert.Equal(0.9, rmsprop["rho"]!.GetValue<double>());
        Assert.Equal("float32", DType.Float32.Name);
        // the same object config.json holds for the layer
        var model = new Sequential([dense, new Dense(10, "softmax")]);
        model.Build([784]);
        var saved = model.GetConfig()["config"]!["layers"]![0]!["config"]!;
        Assert.True(JsonNode.DeepEquals(saved, dense.GetConfig()));
    }

    [Fact]
    public void Optimizer_config_reads_as_a_plain_dictionary_from_C_sharp()
    {
        IReadOnlyDictionary<string, object> adam = new Adam(0.002, beta1: 0.8).ConfigEntries;
        Assert.Equal(["beta_1", "beta_2", "epsilon", "amsgrad"], adam.Keys);
        Assert.Equal(0.8, (double)adam["beta_1"]);
        Assert.False((bool)adam["amsgrad"]);
        var sgd = new SGD(0.1, momentum: 0.9);
        Assert.Equal(0.9, (double)sgd.ConfigEntries["momentum"]);
        // the same entries get_config writes after name and learning_rate
        foreach (var o in new Optimizer[] { new SGD(), new RMSprop(), new Adagrad(), new Adam() })
            Assert.Equal(o.GetConfig().Select(kv => kv.Key).Skip(2), o.ConfigEntries.Keys);
    }
}
