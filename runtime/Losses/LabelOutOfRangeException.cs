using System;

namespace StaticNet;

/// <summary>
/// A class label outside [0, classes): thrown by classification losses with the sample's place in its batch, and
/// rethrown by <see cref="Trainer"/> with the sample's index in the dataset, where the bad label can be fixed.
/// </summary>
public sealed class LabelOutOfRangeException : ArgumentOutOfRangeException
{
    internal LabelOutOfRangeException(int label, int sample, int classes, int? datasetIndex = null, string? where = null, Exception? inner = null)
        : base(Describe(label, sample, classes, datasetIndex, where), inner)
    {
        Label = label;
        Sample = sample;
        Classes = classes;
        DatasetIndex = datasetIndex;
    }

    /// <summary>The label.</summary>
    public int Label { get; }

    /// <summary>The sample's index within its batch.</summary>
    public int Sample { get; }

    /// <summary>The number of classes (the logits per sample).</summary>
    public int Classes { get; }

    /// <summary>The sample's index in the dataset, when the label came from a loader.</summary>
    public int? DatasetIndex { get; }

    /// <summary>The loss's argument that held the label: <c>target</c>.</summary>
    public override string? ParamName => "target";

    private static string Describe(int label, int sample, int classes, int? datasetIndex, string? where) => datasetIndex is int index
        ? $"Label {label} of dataset sample {index} ({where}, sample {sample} of its batch) is outside the {classes} classes [0, {classes - 1}]."
        : $"Label {label} of sample {sample} is outside the {classes} classes [0, {classes - 1}].";
}
