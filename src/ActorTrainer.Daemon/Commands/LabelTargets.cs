using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Daemon.Configuration;

namespace ActorTrainer.Daemon.Commands;

/// <summary>
/// What a loss trains on when the data has integer class labels (MNIST's digits): the labels themselves for
/// sparse_categorical_crossentropy, and for every other loss (categorical_crossentropy, binary_crossentropy, mse) one
/// row per sample with a 1 in the label's column and 0 elsewhere, as Keras' <c>to_categorical(y, num_classes)</c>
/// gives; the model's output layer then needs one unit per class.
/// </summary>
public static class LabelTargets
{
    /// <summary>Samples <paramref name="x"/> (Count × <paramref name="features"/>) with the targets
    /// <paramref name="loss"/> needs: the labels (sparse loss) or their one-hot rows of <paramref name="classes"/> columns.</summary>
    public static ArrayData For(Loss loss, float[] x, int features, int[] labels, int classes) =>
        loss.SparseTargets
            ? ArrayData.OfLabels(x, features, labels)
            : new ArrayData(x, features, null, OneHot(labels, classes), labels.Length);

    /// <summary>Keras' <c>to_categorical</c>: labels.Length × classes float32, row i has 1 in column labels[i].
    /// A label outside [0, classes) is an <see cref="ArgumentOutOfRangeException"/> naming it and its index.</summary>
    public static float[] OneHot(int[] labels, int classes)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        var t = new float[checked(labels.Length * classes)];
        for (var i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"one-hot targets: label {labels[i]} at sample {i} is outside [0, {classes})");
            t[i * classes + labels[i]] = 1f;
        }
        return t;
    }

    /// <summary>The number of classes of labelled data: the largest label + 1 over every set (Keras'
    /// <c>to_categorical</c> default), 0 for no samples.</summary>
    public static int Classes(params Dataset[] sets) =>
        sets.Where(d => d.Count > 0).Select(d => d.Labels.Max() + 1).DefaultIfEmpty(0).Max();

    /// <summary>The width of the model's output: units of the last dense layer (dropout, activation and flatten keep
    /// the width of a flat row), else the values of one input sample.</summary>
    public static int OutputWidth(TrainSettings s, int features) =>
        s.Layers.OfType<Dense>().LastOrDefault()?.Units ?? features;

    /// <summary>For a loss that trains on one-hot targets: the model's output must have one unit per class of the data,
    /// else a <see cref="ConfigException"/> (exit 2) naming model.layers, the units and the classes.</summary>
    public static void CheckOutputWidth(TrainSettings s, int features, int classes, string where)
    {
        var loss = Loss.Parse(s.Loss);
        if (loss.SparseTargets || classes == 0) return;      // no samples: the empty-data errors name it
        var units = OutputWidth(s, features);
        if (units == classes) return;
        var last = s.Layers.OfType<Dense>().Any() ? $"the last dense layer has {units} units" : $"the model has no dense layer (its output is the {units} input values)";
        throw new ConfigException(
            $"config: model.layers: {last} but {where} has {classes} classes (labels 0 to {classes - 1}); loss {loss.Name} trains on " +
            $"one-hot targets of one column per class, so the output layer needs units = {classes}");
    }
}
