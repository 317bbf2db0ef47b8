using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Daemon.Configuration;

namespace ActorTrainer.Daemon.Commands;

/// <summary>
/// What a loss trains on when the data has integer class labels (MNIST's digits): the labels themselves for
/// sparse_categorical_crossentropy; for every other loss (categorical_crossentropy, binary_crossentropy, mse) one
/// row per sample with a 1 in the label's column and 0 elsewhere, as Keras' <c>to_categorical(y, num_classes)</c>
/// gives, so the model's output layer needs one unit per class — except that a binary_crossentropy or mse model with
/// one output unit (Keras' <c>Dense(1, activation="sigmoid")</c> binary classifier) trains on the 0/1 labels as they are.
/// </summary>
public static class LabelTargets
{
    /// <summary>Samples <paramref name="x"/> (Count × <paramref name="features"/>) with the targets
    /// <paramref name="loss"/> needs for a model of <paramref name="width"/> outputs: the labels (sparse loss), the labels
    /// as one float column (one output), else their one-hot rows of <paramref name="width"/> columns.</summary>
    public static ArrayData For(Loss loss, float[] x, int features, int[] labels, int width) =>
        loss.SparseTargets ? ArrayData.OfLabels(x, features, labels)
        : width == 1 ? new ArrayData(x, features, null, Column(labels), labels.Length)
        : new ArrayData(x, features, null, OneHot(labels, width), labels.Length);

    /// <summary>The classes a model of <paramref name="width"/> outputs trained with <paramref name="loss"/> can tell
    /// apart: 2 for one output unit under a one-hot loss (labels 0 and 1), else one per output unit.</summary>
    public static int ClassesOf(Loss loss, int width) => !loss.SparseTargets && width == 1 ? 2 : width;

    /// <summary>The labels 0 and 1 as a labels.Length × 1 float32 column; any other label is an
    /// <see cref="ArgumentOutOfRangeException"/> naming it and its index.</summary>
    private static float[] Column(int[] labels)
    {
        var t = new float[labels.Length];
        for (var i = 0; i < labels.Length; i++)
            t[i] = labels[i] is 0 or 1 ? labels[i]
                : throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"targets of one output unit: label {labels[i]} at sample {i} is not 0 or 1");
        return t;
    }

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
    /// or one unit for two classes (labels 0 and 1) under binary_crossentropy or mse, else a
    /// <see cref="ConfigException"/> (exit 2) naming model.layers, the units and the classes.</summary>
    public static void CheckOutputWidth(TrainSettings s, int features, int classes, string where)
    {
        var loss = Loss.Parse(s.Loss);
        if (loss.SparseTargets || classes == 0) return;      // no samples: the empty-data errors name it
        var units = OutputWidth(s, features);
        if (units == classes) return;
        var binary = loss.Name is "binary_crossentropy" or "mse";
        if (units == 1 && binary && classes <= 2) return;
        var last = s.Layers.OfType<Dense>().Any() ? $"the last dense layer has {units} unit{(units == 1 ? "" : "s")}" : $"the model has no dense layer (its output is the {units} input values)";
        var one = units != 1 ? ""
            : binary ? $" (one output unit trains on labels 0 and 1 as they are, a binary classifier; this data has {classes} classes)"
            : " (for two classes with one sigmoid unit use loss = binary_crossentropy)";
        throw new ConfigException(
            $"config: model.layers: {last} but {where} has {classes} classes (labels 0 to {classes - 1}); loss {loss.Name} trains on " +
            $"one-hot targets of one column per class, so the output layer needs units = {classes}{one}");
    }
}
