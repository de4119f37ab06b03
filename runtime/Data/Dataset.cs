using System;

namespace StaticNet;

/// <summary>
/// An in-memory dataset (torch.utils.data.TensorDataset): Count samples of FeatureSize floats each, row-major,
/// with TargetSize targets each (one int label for classification, or float targets for regression).
/// </summary>
public sealed class Dataset<TTarget>
{
    /// <summary>Wraps <paramref name="features"/> (count x featureSize) and <paramref name="targets"/> (count x targetSize); no copy.</summary>
    public Dataset(float[] features, TTarget[] targets, int featureSize, int targetSize = 1)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        if (featureSize <= 0) throw new ArgumentOutOfRangeException(nameof(featureSize), featureSize, "featureSize must be positive.");
        if (targetSize <= 0) throw new ArgumentOutOfRangeException(nameof(targetSize), targetSize, "targetSize must be positive.");
        if (features.Length % featureSize != 0)
        {
            throw new ArgumentException($"features hold {features.Length} floats, which is not a multiple of the feature size {featureSize}.", nameof(features));
        }
        int count = features.Length / featureSize;
        if (targets.Length != (long)count * targetSize)
        {
            throw new ArgumentException($"{count} samples need {(long)count * targetSize} targets ({targetSize} each), but there are {targets.Length}.", nameof(targets));
        }
        Features = features;
        Targets = targets;
        FeatureSize = featureSize;
        TargetSize = targetSize;
        Count = count;
    }

    /// <summary>All features, Count x FeatureSize.</summary>
    public float[] Features { get; }

    /// <summary>All targets, Count x TargetSize.</summary>
    public TTarget[] Targets { get; }

    /// <summary>Floats per sample.</summary>
    public int FeatureSize { get; }

    /// <summary>Targets per sample.</summary>
    public int TargetSize { get; }

    /// <summary>Number of samples.</summary>
    public int Count { get; }

    /// <summary>Throws if any feature is NaN or infinite, naming the first such sample and feature; returns this dataset.</summary>
    public Dataset<TTarget> CheckFinite()
    {
        for (int i = 0; i < Features.Length; i++)
        {
            if (!float.IsFinite(Features[i]))
            {
                throw new ArgumentException($"Feature {i % FeatureSize} of sample {i / FeatureSize} is {Features[i]}: inputs must be finite.");
            }
        }
        return this;
    }

    /// <summary>The first <paramref name="count"/> samples (or all, if fewer), sharing nothing with this dataset.</summary>
    public Dataset<TTarget> Take(int count)
    {
        int n = Math.Clamp(count, 0, Count);
        return new Dataset<TTarget>(Features.AsSpan(0, n * FeatureSize).ToArray(), Targets.AsSpan(0, n * TargetSize).ToArray(), FeatureSize, TargetSize);
    }
}
