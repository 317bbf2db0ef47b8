using System.Globalization;
using System.Text;
using ActorTrainer.Core;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>The text form of a <see cref="ModelPlan"/> a coordinator sends to its worker nodes (one line per item:
/// "input N", "dense IN UNITS bias|nobias ACTIVATION", "dropout RATE", "activation NAME", "loss NAME"; Keras names;
/// rates round-trip exactly).</summary>
public static class PlanCodec
{
    private const string Magic = "actortrainer-plan 1";

    /// <summary>The plan as text (UTF-8 bytes).</summary>
    public static byte[] Encode(ModelPlan plan)
    {
        var sb = new StringBuilder().Append(Magic).Append('\n');
        sb.Append("input ").Append(plan.InputDim.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var layer in plan.Layers)
        {
            switch (layer)
            {
                case PlanLayer.Dense d:
                    sb.Append(CultureInfo.InvariantCulture, $"dense {d.inDim} {d.units} {(d.useBias ? "bias" : "nobias")} {d.activation.Name}\n");
                    break;
                case PlanLayer.Dropout d:
                    sb.Append("dropout ").Append(d.rate.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
                    break;
                case PlanLayer.Activation a:
                    sb.Append("activation ").Append(a.Item.Name).Append('\n');
                    break;
                case PlanLayer.Custom c:
                    throw new ArgumentException($"plan codec: {c.Item} is a user-defined layer, which runs only in the process that defines it; cluster workers cannot run it", nameof(plan));
                default: throw new ArgumentException($"plan codec: unknown layer {layer}", nameof(plan));
            }
        }
        sb.Append("loss ").Append(plan.Loss.Name).Append('\n');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Parses Encode's output; throws InvalidDataException naming the line at fault.</summary>
    public static ModelPlan Decode(ReadOnlySpan<byte> bytes)
    {
        var lines = Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length < 3 || lines[0] != Magic) throw new InvalidDataException($"model plan: expected '{Magic}' on line 1");
        int input = ParseInput(lines[1]);
        var layers = new List<PlanLayer>();
        for (int i = 2; i < lines.Length - 1; i++) layers.Add(ParseLayer(lines[i], i + 1));
        var loss = Guard(lines.Length, () => Loss.Parse(Field(lines[^1], "loss", 2, lines.Length)[1]));
        return new ModelPlan(input, layers.ToArray(), loss);
    }

    private static int ParseInput(string line) => Int(Field(line, "input", 2, 2)[1], 2);

    private static PlanLayer ParseLayer(string line, int no)
    {
        var f = line.Split(' ');
        return f[0] switch
        {
            "dense" when f.Length == 5 => PlanLayer.NewDense(Int(f[1], no), Int(f[2], no),
                f[3] == "bias" || (f[3] == "nobias" ? false : throw Bad(no, "bias must be 'bias' or 'nobias'")),
                Guard(no, () => Activation.Parse(f[4]))),
            "dropout" when f.Length == 2 && double.TryParse(f[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var rate)
                && rate >= 0 && rate < 1 => PlanLayer.NewDropout(rate),
            "activation" when f.Length == 2 => PlanLayer.NewActivation(Guard(no, () => Activation.Parse(f[1]))),
            _ => throw Bad(no, $"cannot read '{line}'"),
        };
    }

    private static string[] Field(string line, string name, int count, int no)
    {
        var f = line.Split(' ');
        return f.Length == count && f[0] == name ? f : throw Bad(no, $"expected '{name} …', got '{line}'");
    }

    private static int Int(string s, int no) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw Bad(no, $"'{s}' is not a positive integer");

    private static T Guard<T>(int no, Func<T> f)
    {
        try { return f(); }
        catch (ArgumentException e) { throw Bad(no, e.Message); }
    }

    private static InvalidDataException Bad(int line, string what) => new($"model plan line {line}: {what}");
}
