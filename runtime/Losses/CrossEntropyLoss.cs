using System;

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
    protected override double Compute(ReadOnlySpan<float> input, ReadOnlySpan<int> target, Span<float> inputGrad, Span<float> losses, float gradScale)
    {
        int batch = target.Length, classes = input.Length / batch;
        double smoothing = LabelSmoothing, total = 0;
        for (int b = 0; b < batch; b++)
        {
            int label = target[b];
            if ((uint)label >= (uint)classes)
            {
                throw new ArgumentOutOfRangeException(nameof(target), label, $"Label {label} of sample {b} is outside the {classes} classes [0, {classes - 1}].");
            }
            ReadOnlySpan<float> x = input.Slice(b * classes, classes);
            Span<float> g = inputGrad.IsEmpty ? default : inputGrad.Slice(b * classes, classes);
            float max = float.NegativeInfinity;
            foreach (float v in x) max = MathF.Max(max, v);
            double sumExp = 0, sumX = 0;
            for (int c = 0; c < classes; c++)
            {
                double e = Math.Exp(x[c] - max);
                sumExp += e;
                sumX += x[c];
                if (!g.IsEmpty) g[c] = (float)e; // kept for the gradient below, so each exponential is taken once
            }
            double logSumExp = max + Math.Log(sumExp);
            double term = (1 - smoothing) * (logSumExp - x[label]) + smoothing * (logSumExp - sumX / classes);
            total += term;
            if (!losses.IsEmpty) losses[b] = (float)term;
            if (g.IsEmpty) continue;
            double uniform = smoothing / classes;
            for (int c = 0; c < classes; c++)
            {
                double q = uniform + (c == label ? 1 - smoothing : 0);
                g[c] = (float)((g[c] / sumExp - q) * gradScale);
            }
        }
        return total;
    }
}
