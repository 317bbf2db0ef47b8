using ActorTrainer.Core;

namespace ActorTrainer.Cuda;

/// <summary>Shapes of a ModelPlan as the device sees it: each layer's output width, the weight index of each Dense
/// layer, and where each weight sits in the flat parameter vector (plan.WeightShapes order, concatenated).</summary>
internal static class PlanLayout
{
    /// <summary>Output width of each layer; throws naming the layer when a Dense layer's input width does not chain.</summary>
    public static int[] Widths(ModelPlan plan)
    {
        var w = new int[plan.Layers.Length];
        int cur = plan.InputDim;
        for (int i = 0; i < w.Length; i++)
        {
            if (plan.Layers[i] is PlanLayer.Dense d)
            {
                if (d.inDim != cur) throw new ArgumentException($"layer {i} (Dense) expects {d.inDim} inputs but receives {cur}");
                cur = d.units;
            }
            w[i] = cur;
        }
        return w;
    }

    /// <summary>Index of each Dense layer's kernel in plan.WeightShapes (its bias follows when it has one); −1 for other layers.</summary>
    public static int[] WeightIndex(ModelPlan plan)
    {
        var idx = new int[plan.Layers.Length];
        int k = 0;
        for (int i = 0; i < idx.Length; i++)
        {
            if (plan.Layers[i] is PlanLayer.Dense d) { idx[i] = k; k += d.useBias ? 2 : 1; }
            else idx[i] = -1;
        }
        return idx;
    }

    /// <summary>Offset and element count of each weight in the flat parameter vector.</summary>
    public static (int[] Offsets, int[] Sizes) Offsets(ModelPlan plan)
    {
        var shapes = plan.WeightShapes;
        var sizes = shapes.Select(s => s.Aggregate(1, (a, b) => checked(a * b))).ToArray();
        var offsets = new int[sizes.Length];
        for (int i = 1; i < sizes.Length; i++) offsets[i] = checked(offsets[i - 1] + sizes[i - 1]);
        return (offsets, sizes);
    }
}
