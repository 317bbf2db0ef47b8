using System.Reflection;
using ScottPlot;
using SkiaSharp;

namespace ActorTrainer.Daemon.Plots;

/// <summary>
/// DejaVu Sans (regular and bold) embedded in this assembly, so text renders on machines with no system fonts.
/// Registered once with ScottPlot under <see cref="FamilyName"/>; also used directly by Skia drawing code.
/// </summary>
public static class EmbeddedFont
{
    /// <summary>Font name under which the embedded typefaces are registered with ScottPlot.</summary>
    public const string FamilyName = "ActorTrainer DejaVu Sans";

    private const string RegularResource = "ActorTrainer.Daemon.Plots.Fonts.DejaVuSans.ttf";
    private const string BoldResource = "ActorTrainer.Daemon.Plots.Fonts.DejaVuSans-Bold.ttf";

    private static readonly Lazy<SKTypeface> RegularFace = new(() => Load(RegularResource));
    private static readonly Lazy<SKTypeface> BoldFace = new(() => Load(BoldResource));
    private static readonly Lazy<bool> Registration = new(RegisterOnce);

    /// <summary>The embedded regular typeface (family "DejaVu Sans").</summary>
    public static SKTypeface Regular => RegularFace.Value;

    /// <summary>The embedded bold typeface (family "DejaVu Sans").</summary>
    public static SKTypeface Bold => BoldFace.Value;

    /// <summary>Registers the embedded font with ScottPlot (first in the resolver list, and as Fonts.Default); idempotent.</summary>
    public static void EnsureRegistered() => _ = Registration.Value;

    private static bool RegisterOnce()
    {
        lock (Fonts.FontResolvers)
        {
            Fonts.FontResolvers.Insert(0, new Resolver());
        }
        Fonts.Default = FamilyName;
        Fonts.Sans = FamilyName;
        return true;
    }

    private static SKTypeface Load(string resource)
    {
        Assembly asm = typeof(EmbeddedFont).Assembly;
        using Stream? stream = asm.GetManifestResourceStream(resource);
        if (stream is null)
            throw new InvalidOperationException($"Embedded font resource '{resource}' is missing from assembly {asm.GetName().Name}");
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        using SKData data = SKData.CreateCopy(ms.ToArray());
        return SKTypeface.FromData(data)
            ?? throw new InvalidOperationException($"Embedded font resource '{resource}' could not be decoded as a TrueType font");
    }

    /// <summary>Returns the embedded typeface for <see cref="FamilyName"/> and null for any other name.</summary>
    private sealed class Resolver : IFontResolver
    {
        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) =>
            fontName == FamilyName ? ((int)weight >= (int)FontWeight.SemiBold ? Bold : Regular) : null;

        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
            fontName == FamilyName ? (bold ? Bold : Regular) : null;
    }
}
