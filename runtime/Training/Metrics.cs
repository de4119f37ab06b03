using System;
using System.Runtime.CompilerServices;

namespace StaticNet;

/// <summary>Classification metrics over logits [B, C] and labels [B].</summary>
public static class Metrics
{
    /// <summary>How many rows have their largest logit at the label (d2l's accuracy(y_hat, y)); ties go to the first class, as torch.argmax.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int CountCorrect(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels)
    {
        int classes = Classes(logits.Length, labels.Length);
        int correct = 0;
        for (int b = 0; b < labels.Length; b++)
        {
            if (ArgMax(logits.Slice(b * classes, classes)) == labels[b]) correct++;
        }
        return correct;
    }

    /// <summary>
    /// As the other CountCorrect, for samples shaped <paramref name="sampleShape"/> (a network's SampleOutputShape): with
    /// more than one dimension, the first holds the classes and each position after it has its own label (PyTorch's
    /// (N, C, d1, ...)), so the count is of positions; labels must number the samples times the positions.
    /// </summary>
    public static int CountCorrect(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, ReadOnlySpan<int> sampleShape)
    {
        int positions = 1;
        for (int i = 1; i < sampleShape.Length; i++) positions *= sampleShape[i];
        if (positions == 1) return CountCorrect(logits, labels);
        int classes = sampleShape[0], sampleSize = classes * positions;
        if (logits.Length % sampleSize != 0 || logits.Length / sampleSize * positions != labels.Length)
        {
            throw new ArgumentException($"{logits.Length} logits in samples of shape [{string.Join(", ", sampleShape.ToArray())}] need one label per position " +
                $"({logits.Length / sampleSize * positions}), but there are {labels.Length}.", nameof(labels));
        }
        int correct = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            int start = i / positions * sampleSize + i % positions, best = 0;
            for (int c = 1; c < classes; c++)
            {
                float current = logits[start + best * positions];
                if (float.IsNaN(current)) break;
                float x = logits[start + c * positions];
                if (x > current || float.IsNaN(x)) best = c;
            }
            if (best == labels[i]) correct++;
        }
        return correct;
    }

    /// <summary>The fraction of rows classified correctly.</summary>
    public static double Accuracy(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels) =>
        (double)CountCorrect(logits, labels) / labels.Length;

    /// <summary>The index of the largest value, the first one on ties (NaN counts as largest, as in torch.argmax).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) throw new ArgumentException("ArgMax of an empty span.", nameof(values));
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (float.IsNaN(values[best])) break;
            if (values[i] > values[best] || float.IsNaN(values[i])) best = i;
        }
        return best;
    }

    private static int Classes(int logits, int labels)
    {
        if (labels == 0 || logits == 0 || logits % labels != 0)
        {
            throw new ArgumentException($"Logits hold {logits} floats, which is not a whole number of classes per label for {labels} labels.");
        }
        return logits / labels;
    }
}

/// <summary>Running sums over n variables, as d2l's Accumulator: Add each batch's figures, read the totals.</summary>
public sealed class Accumulator(int n)
{
    private readonly double[] _sums = n > 0 ? new double[n] : throw new ArgumentOutOfRangeException(nameof(n), n, "An accumulator needs at least one variable.");

    /// <summary>Adds one value per variable.</summary>
    public void Add(params ReadOnlySpan<double> values)
    {
        if (values.Length != _sums.Length) throw new ArgumentException($"Expected {_sums.Length} values, got {values.Length}.", nameof(values));
        for (int i = 0; i < values.Length; i++) _sums[i] += values[i];
    }

    /// <summary>Sets every sum back to zero.</summary>
    public void Reset() => Array.Clear(_sums);

    /// <summary>The running sum of variable <paramref name="index"/>.</summary>
    public double this[int index] => _sums[index];
}
