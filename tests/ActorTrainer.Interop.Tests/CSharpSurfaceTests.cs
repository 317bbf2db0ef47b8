using System.Reflection;
using System.Text;
using ActorTrainer.Core;
using Xunit;

namespace ActorTrainer.Interop.Tests;

/// <summary>
/// Guard for the project rule "C# callers never see F# module plumbing": every public type of ActorTrainer.Core that a
/// C# user meets — all of them, except <see cref="EngineTypes"/> and the F#-only namespace — has public and protected
/// members whose signatures (return, parameter, property, field and event types, their generic arguments and element
/// types included) hold no FSharp.Core type (option, list, map, set, function, ref, Choice, …) and no reference tuple
/// (System.Tuple: a C# caller gets <c>Item1</c>/<c>Item2</c> or a value tuple, a <c>(string, int[])</c>, instead); no
/// such type is an F# module compiled with a <c>Module</c> suffix, and none has a curried member (an F# function of
/// several argument groups, <c>let add a b</c>: F# style written for partial application, whose C# face is a tupled
/// PascalCase member, <c>Add(a, b)</c>).
/// </summary>
public sealed class CSharpSurfaceTests
{
    /// <summary>
    /// F#-only surface: the curried NumPy-style functions (<c>T.relu x</c>, <c>Autodiff.grad f x</c>) live here. The
    /// assembly auto-opens this namespace for F# code that references Core, and a C# user never imports it.
    /// </summary>
    private const string FSharpOnlyNamespace = "ActorTrainer.Core.FSharp";

    /// <summary>
    /// Engine modules left public (curried F# functions, which C# sees as plain static methods) because ActorTrainer.Runtime
    /// and ActorTrainer.Cuda — which have no InternalsVisibleTo — and their tests call them; no README sample or user
    /// type needs them. Everything else the engine shares only with the daemon, Interop and the tests is internal.
    /// </summary>
    private static readonly Dictionary<string, string> EngineTypes = new(StringComparer.Ordinal)
    {
        ["ActorTrainer.Core.Batching"] = "batch order, shard ranges and gathers: the actor runtime's batch generator and workers, the CUDA executor",
        ["ActorTrainer.Core.Weights"] = "flat weight-array copies: the parameter server, checkpoints, the CUDA executor, the daemon's TensorBoard callback",
        ["ActorTrainer.Core.FitResume"] = "the fit loop's resume checks, which the actor runtime's job validation runs before any actor starts",
        ["ActorTrainer.Core.DropoutKernels"] = "the dropout mask the CUDA kernels reproduce bit for bit",
        ["ActorTrainer.Core.LossKernels"] = "the loss kernels the CUDA kernels mirror (and its PTX tests compare)",
    };

    private static Assembly Core => typeof(Tensor).Assembly;

    private static bool UserFacing(Type t) =>
        t.Namespace != FSharpOnlyNamespace && !EngineTypes.ContainsKey(Outermost(t).FullName!);

    private static Type Outermost(Type t)
    {
        while (t.DeclaringType is not null) t = t.DeclaringType;
        return t;
    }

    [Fact]
    public void User_facing_types_show_no_FSharp_types_tuples_modules_or_curried_functions()
    {
        var problems = Core.GetExportedTypes().Where(UserFacing).SelectMany(Problems).OrderBy(p => p, StringComparer.Ordinal).ToList();
        Assert.True(problems.Count == 0, "C#-visible F# plumbing in ActorTrainer.Core:\n  " + string.Join("\n  ", problems));
    }

    [Fact]
    public void The_allow_list_names_existing_public_types_and_F_sharp_code_opens_the_F_sharp_only_namespace()
    {
        var exported = Core.GetExportedTypes().Select(t => t.FullName).ToHashSet(StringComparer.Ordinal);
        Assert.Empty(EngineTypes.Keys.Where(k => !exported.Contains(k)));
        Assert.Contains(Core.GetCustomAttributes<Microsoft.FSharp.Core.AutoOpenAttribute>(), a => a.Path == FSharpOnlyNamespace);
    }

    [Fact]
    public void The_guard_sees_the_shapes_it_refuses_and_passes_value_tuples()
    {
        var leaky = Problems(typeof(Leaky)).ToList();
        Assert.Contains(leaky, p => p.Contains("FSharpOption") && p.Contains(nameof(Leaky.Find)));
        Assert.Contains(leaky, p => p.Contains("reference tuple") && p.Contains(nameof(Leaky.Pair)));
        Assert.Contains(leaky, p => p.Contains("FSharpList") && p.Contains(nameof(Leaky.Items)));
        Assert.Contains(leaky, p => p.Contains("FSharpFunc") && p.Contains(nameof(Leaky.Map)));
        // curried F# functions: the F#-only face has them, the C# face does not
        Assert.Contains(Problems(typeof(ActorTrainer.Core.FSharp.T)), p => p.EndsWith(".add: a curried F# function"));
        Assert.Contains(Problems(typeof(ActorTrainer.Core.FSharp.Autodiff)), p => p.Contains(".grad: a curried F# function"));
        Assert.Empty(Problems(typeof(Autodiff)));                 // ValueAndGrad returns a value tuple
        Assert.Empty(Problems(typeof(ActorTrainer.Core.Data.Mnist)));
        Assert.Equal(typeof((Tensor, Tensor)), typeof(Autodiff).GetMethod(nameof(Autodiff.ValueAndGrad))!.ReturnType);
    }

    /// <summary>Every refused shape of one type's public and protected members, one line each.</summary>
    private static IEnumerable<string> Problems(Type t)
    {
        var name = t.FullName;
        if (t.IsAbstract && t.IsSealed && t.Name.EndsWith("Module", StringComparison.Ordinal))
            yield return $"{name}: an F# module compiled with the Module suffix";
        const BindingFlags flags = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance
                                   | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var m in t.GetMembers(flags).Where(Visible))
        {
            if (m is MethodBase mb && mb.GetCustomAttributes().Any(a => a.GetType().Name == "CompilationArgumentCountsAttribute"))
                yield return $"{name}.{m.Name}: a curried F# function";
            foreach (var (what, type) in SignatureTypes(m))
                if (Leak(type) is { } leak)
                    yield return $"{name}.{m.Name}: {what} {Show(type)} holds {leak}";
        }
    }

    /// <summary>Whether C# code outside the assembly can see or override the member (public, protected); accessors
    /// are checked as their property or event.</summary>
    private static bool Visible(MemberInfo m) => m switch
    {
        MethodInfo { IsSpecialName: true } a when a.Name.Split('_')[0] is "get" or "set" or "add" or "remove" => false,
        MethodBase b => Reachable(b),
        FieldInfo f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
        PropertyInfo p => p.GetAccessors(true).Any(Reachable),
        EventInfo e => e.AddMethod is { } a && Reachable(a),
        _ => false,
    };

    private static bool Reachable(MethodBase b) => b.IsPublic || b.IsFamily || b.IsFamilyOrAssembly;

    private static IEnumerable<(string What, Type Type)> SignatureTypes(MemberInfo m)
    {
        switch (m)
        {
            case MethodBase b:
                if (b is MethodInfo mi) yield return ("returns", mi.ReturnType);
                foreach (var p in b.GetParameters()) yield return ($"parameter '{p.Name}'", p.ParameterType);
                break;
            case PropertyInfo p:
                yield return ("property", p.PropertyType);
                foreach (var ip in p.GetIndexParameters()) yield return ($"index '{ip.Name}'", ip.ParameterType);
                break;
            case FieldInfo f: yield return ("field", f.FieldType); break;
            case EventInfo e: yield return ("event", e.EventHandlerType!); break;
        }
    }

    /// <summary>The refused type inside t (itself, an element or a generic argument), or null.</summary>
    private static string? Leak(Type t)
    {
        if (t.HasElementType) return Leak(t.GetElementType()!);
        if (t.IsGenericParameter) return null;
        if (t.Assembly.GetName().Name == "FSharp.Core") return Show(t);
        if (t.IsGenericType && t.GetGenericTypeDefinition().FullName!.StartsWith("System.Tuple`", StringComparison.Ordinal))
            return Show(t) + " (a reference tuple: use a ValueTuple or a named type)";
        return t.IsGenericType ? t.GetGenericArguments().Select(Leak).FirstOrDefault(l => l is not null) : null;
    }

    private static string Show(Type t)
    {
        if (t.HasElementType) return Show(t.GetElementType()!) + (t.IsArray ? "[]" : t.IsByRef ? "&" : "*");
        if (!t.IsGenericType) return t.Name;
        var b = new StringBuilder(t.Name[..t.Name.IndexOf('`')]).Append('<');
        b.AppendJoin(", ", t.GetGenericArguments().Select(Show));
        return b.Append('>').ToString();
    }

    /// <summary>The shapes the guard refuses, for its own test.</summary>
    private sealed class Leaky
    {
        public Microsoft.FSharp.Core.FSharpOption<int> Find() => Microsoft.FSharp.Core.FSharpOption<int>.None;
        public Tuple<string, int[]>[] Pair() => [];
        public Microsoft.FSharp.Collections.FSharpList<string> Items => Microsoft.FSharp.Collections.FSharpList<string>.Empty;
        public int Map(Microsoft.FSharp.Core.FSharpFunc<int, int> f) => f.Invoke(1);
    }
}
