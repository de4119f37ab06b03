using System;
using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace StaticNet;

/// <summary>
/// torch.nn.CrossEntropyLoss on logits [B, C] and class labels [B]: a numerically stable log-softmax, with label
/// smoothing (the target becomes (1 - e) one-hot + e / C). The gradient is softmax(x) minus that target.
/// </summary>
public sealed class CrossEntropyLoss : Loss<int>
{
    /// <summary>Creates the loss with torch's defaults (mean, no smoothing).</summary>
    public CrossEntropyLoss(Reduction reduction = Reduction.Mean, float labelSmoothing = 0f) : base(reduction)
    {
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, $"label_smoothing must be in [0, 1], but it is {labelSmoothing}.");
        }
        LabelSmoothing = labelSmoothing;
    }

    /// <summary>label_smoothing.</summary>
    public float LabelSmoothing { get; }

    /// <inheritdoc/>
    public override int TermCount(int inputLength, int targetLength)
    {
        if (targetLength == 0) throw new ArgumentException("The batch is empty: no labels.", "target");
        if (inputLength == 0 || inputLength % targetLength != 0)
        {
            throw new ArgumentException($"Logits hold {inputLength} floats, which is not a whole number of classes per label for {targetLength} labels.", "input");
        }
        return targetLength;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override double Compute(ReadOnlySpan<float> input, ReadOnlySpan<int> target, Span<float> inputGrad, Span<float> losses, float gradScale)
    {
        int batch = target.Length, classes = input.Length / batch;
        for (int b = 0; b < batch; b++)
        {
            int label = target[b];
            if ((uint)label >= (uint)classes)
            {
                throw new ArgumentOutOfRangeException(nameof(target), label, $"Label {label} of sample {b} is outside the {classes} classes [0, {classes - 1}].");
            }
        }
        double total = 0;
        if (inputGrad.IsEmpty)
        {
            // No gradient buffer to work in: one row's exponentials at a time in scratch.
            Span<float> row = classes <= 1024 ? stackalloc float[classes] : new float[classes];
            for (int b = 0; b < batch; b++)
            {
                ReadOnlySpan<float> x = input.Slice(b * classes, classes);
                float max = ShiftByMax(row, x);
                TensorPrimitives.Exp(row, row);
                total += Term(row, x, max, target[b], losses, b, out _);
            }
            return total;
        }
        // The whole batch's shifted logits go into the gradient buffer and take their exponentials in one vectorised
        // pass (one call per row costs more than the exponentials for a few classes); each row then becomes
        // gradScale (softmax(x) - q) in place, q the smoothed one-hot target.
        Span<float> maxes = batch <= 1024 ? stackalloc float[batch] : new float[batch];
        for (int b = 0; b < batch; b++) maxes[b] = ShiftByMax(inputGrad.Slice(b * classes, classes), input.Slice(b * classes, classes));
        TensorPrimitives.Exp(inputGrad, inputGrad);
        double smoothing = LabelSmoothing;
        float uniform = (float)(smoothing / classes * gradScale), onTarget = (float)((1 - smoothing) * gradScale);
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> x = input.Slice(b * classes, classes);
            Span<float> g = inputGrad.Slice(b * classes, classes);
            total += Term(g, x, maxes[b], target[b], losses, b, out double sumExp);
            float scale = (float)(gradScale / sumExp);
            for (int c = 0; c < classes; c++) g[c] = g[c] * scale - uniform;
            g[target[b]] -= onTarget;
        }
        return total;
    }

    /// <summary>shifted = x - max(x); returns max(x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ShiftByMax(Span<float> shifted, ReadOnlySpan<float> x)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, shifted);
        return max;
    }

    /// <summary>One sample's loss from its logits x, their maximum and exp(x - max); stored in losses[b] when given.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private double Term(ReadOnlySpan<float> exponentials, ReadOnlySpan<float> x, float max, int label, Span<float> losses, int b, out double sumExp)
    {
        sumExp = 0;
        double sumX = 0;
        for (int c = 0; c < x.Length; c++)
        {
            sumExp += exponentials[c];
            sumX += x[c];
        }
        double smoothing = LabelSmoothing, logSumExp = max + Math.Log(sumExp);
        double term = (1 - smoothing) * (logSumExp - x[label]) + smoothing * (logSumExp - sumX / x.Length);
        if (!losses.IsEmpty) losses[b] = (float)term;
        return term;
    }
}
