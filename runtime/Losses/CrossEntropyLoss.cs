using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using StaticNet.Simd;

namespace StaticNet;

/// <summary>
/// torch.nn.CrossEntropyLoss on logits [B, C] and class labels [B]: a numerically stable log-softmax, with label
/// smoothing (the target becomes (1 - e) one-hot + e / C). The gradient is softmax(x) minus that target.
/// Given the sample shape (Forward's sampleShape, which the trainer passes), samples of more than one dimension follow
/// PyTorch's (N, C, d1, ...) convention: the first dimension holds the classes and every position d1... takes its own
/// label, so the target holds N x d1 x ... labels; a target of one label per sample is refused, naming both shapes.
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
    public override int TermCount(int inputLength, int targetLength, ReadOnlySpan<int> sampleShape)
    {
        if (sampleShape.IsEmpty) return TermCount(inputLength, targetLength);
        (int classes, int positions) = ClassesAndPositions(sampleShape);
        int sampleSize = classes * positions;
        if (inputLength == 0 || inputLength % sampleSize != 0)
        {
            throw new ArgumentException($"The input holds {inputLength} floats, which is not a whole number of samples of shape {Format(sampleShape)}.", "input");
        }
        int samples = inputLength / sampleSize;
        if (targetLength == samples * positions) return targetLength;
        if (positions == 1)
        {
            throw new ArgumentException($"CrossEntropyLoss: the input holds {samples} samples of {classes} classes, so it needs {samples} labels, but the target holds {targetLength}.", "target");
        }
        throw new ArgumentException(
            $"CrossEntropyLoss over samples shaped {Format(sampleShape)} reads the first dimension ({classes}) as the classes, as PyTorch's (N, C, d1, ...) " +
            $"convention does, and needs a label for each of the {positions} positions after it: {samples} x {positions} = {(long)samples * positions} labels " +
            $"for these {samples} samples, but the target holds {targetLength}." +
            (targetLength == samples
                ? $" One label per sample means the output should be [classes]: a network whose input is an image needs [Flatten] before its first [Linear] (a Linear acts on the last dimension only)."
                : ""), "target");
    }

    /// <summary>The class count (the first dimension) and the number of positions (the product of the others) of a sample shape.</summary>
    private static (int Classes, int Positions) ClassesAndPositions(ReadOnlySpan<int> sampleShape)
    {
        long positions = 1;
        for (int i = 0; i < sampleShape.Length; i++)
        {
            if (sampleShape[i] <= 0) throw new ArgumentException($"The sample shape {Format(sampleShape)} has a dimension that is not positive.", nameof(sampleShape));
            if (i > 0) positions *= sampleShape[i];
        }
        if ((long)sampleShape[0] * positions > int.MaxValue) throw new ArgumentException($"The sample shape {Format(sampleShape)} is too large.", nameof(sampleShape));
        return (sampleShape[0], (int)positions);
    }

    private static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    /// <inheritdoc/>
    protected override double Compute(ReadOnlySpan<float> input, ReadOnlySpan<int> target, Span<float> inputGrad, Span<float> losses, float gradScale,
        ReadOnlySpan<int> sampleShape)
    {
        if (sampleShape.IsEmpty) return Compute(input, target, inputGrad, losses, gradScale);
        (int classes, int positions) = ClassesAndPositions(sampleShape);
        return positions == 1
            ? Compute(input, target, inputGrad, losses, gradScale)
            : ComputeSpatial(input, target, inputGrad, losses, gradScale, classes, positions);
    }

    /// <summary>
    /// The (N, C, d1, ...) case: at each position p of sample n, the classes are C floats a stride of P apart. Scalar, in
    /// double; the terms are ordered as the labels (n major, then the positions).
    /// </summary>
    private double ComputeSpatial(ReadOnlySpan<float> input, ReadOnlySpan<int> target, Span<float> inputGrad, Span<float> losses, float gradScale,
        int classes, int positions)
    {
        int samples = target.Length / positions;
        for (int i = 0; i < target.Length; i++)
        {
            if ((uint)target[i] >= (uint)classes) throw new LabelOutOfRangeException(target[i], i / positions, classes);
        }
        double smoothing = LabelSmoothing, total = 0;
        for (int n = 0; n < samples; n++)
        {
            int sampleStart = n * classes * positions;
            for (int p = 0; p < positions; p++)
            {
                int start = sampleStart + p, label = target[n * positions + p];
                double max = double.NegativeInfinity, sumX = 0;
                for (int c = 0; c < classes; c++)
                {
                    double x = input[start + c * positions];
                    max = Math.Max(max, x);
                    sumX += x;
                }
                double sumExp = 0;
                for (int c = 0; c < classes; c++) sumExp += Math.Exp(input[start + c * positions] - max);
                double lse = max + Math.Log(sumExp);
                double term = (1 - smoothing) * (lse - input[start + label * positions]) + smoothing * (lse - sumX / classes);
                if (!losses.IsEmpty) losses[n * positions + p] = (float)term;
                total += term;
                if (inputGrad.IsEmpty) continue;
                for (int c = 0; c < classes; c++)
                {
                    double q = smoothing / classes + (c == label ? 1 - smoothing : 0);
                    inputGrad[start + c * positions] = (float)(gradScale * (Math.Exp(input[start + c * positions] - lse) - q));
                }
            }
        }
        return total;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit] // every scratch element is written before it is read
    protected override double Compute(ReadOnlySpan<float> input, ReadOnlySpan<int> target, Span<float> inputGrad, Span<float> losses, float gradScale)
    {
        int batch = target.Length, classes = input.Length / batch;
        for (int b = 0; b < batch; b++)
        {
            int label = target[b];
            if ((uint)label >= (uint)classes)
            {
                throw new LabelOutOfRangeException(label, b, classes);
            }
        }
        // Per row: the maximum, exp(x - max) and the sums of those and of the logits; then every row's log at once (one
        // vectorised pass; a Math.Log per row was a third of the loss's time); then the terms and, when asked, the gradient
        // in place: gradScale (softmax(x) - q), q the smoothed one-hot target. Both paths share the last two steps, so
        // the loss does not depend on whether a gradient was asked for.
        Span<float> maxes = batch <= 1024 ? stackalloc float[batch] : new float[batch];
        Span<double> sums = batch <= 1024 ? stackalloc double[3 * batch] : new double[3 * batch];
        Span<double> sumExp = sums.Slice(0, batch), sumX = sums.Slice(batch, batch), logSumExp = sums.Slice(2 * batch, batch);
        if (inputGrad.IsEmpty)
        {
            // No gradient buffer to work in: one row's exponentials at a time in scratch.
            Span<float> row = classes <= 1024 ? stackalloc float[classes] : new float[classes];
            for (int b = 0; b < batch; b++)
            {
                ReadOnlySpan<float> x = input.Slice(b * classes, classes);
                maxes[b] = RowMath.ShiftByMax(row, x);
                RowMath.ExpInPlace(row);
                Sums(row, x, out sumExp[b], out sumX[b]);
            }
        }
        else
        {
            // The whole batch's shifted logits take their exponentials in one pass (one call per row costs more than
            // the exponentials for a few classes).
            for (int b = 0; b < batch; b++) maxes[b] = RowMath.ShiftByMax(inputGrad.Slice(b * classes, classes), input.Slice(b * classes, classes));
            RowMath.ExpInPlace(inputGrad);
            for (int b = 0; b < batch; b++) Sums(inputGrad.Slice(b * classes, classes), input.Slice(b * classes, classes), out sumExp[b], out sumX[b]);
        }
        sumExp.CopyTo(logSumExp);
        RowMath.LogInPlace(logSumExp);
        double smoothing = LabelSmoothing, total = 0;
        float uniform = (float)(smoothing / classes * gradScale), onTarget = (float)((1 - smoothing) * gradScale);
        for (int b = 0; b < batch; b++)
        {
            int label = target[b];
            double lse = maxes[b] + logSumExp[b];
            double term = (1 - smoothing) * (lse - input[b * classes + label]) + smoothing * (lse - sumX[b] / classes);
            if (!losses.IsEmpty) losses[b] = (float)term;
            total += term;
            if (inputGrad.IsEmpty) continue;
            Span<float> g = inputGrad.Slice(b * classes, classes);
            float scale = (float)(gradScale / sumExp[b]);
            for (int c = 0; c < classes; c++) g[c] = g[c] * scale - uniform;
            g[label] -= onTarget;
        }
        return total;
    }

    /// <summary>The sums, in double, of one row's exponentials and of its logits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sums(ReadOnlySpan<float> exponentials, ReadOnlySpan<float> x, out double sumExp, out double sumX)
    {
        // Two floats at a time widened to doubles by one vector conversion, added in order: converted one at a time
        // (vcvtss2sd), every conversion waited on the one before for the register's upper half, a chain through the
        // whole row (256 rows of 10 classes, the loss and its gradient, one AMD core: 9.6-10.1 -> 5.3-5.6 us; the same
        // sums, in the same order).
        double e = 0, s = 0;
        int c = 0, n = x.Length;
        ref float pe = ref MemoryMarshal.GetReference(exponentials), px = ref MemoryMarshal.GetReference(x);
        for (; c + 2 <= n; c += 2)
        {
            Vector128<double> de = Vector128.WidenLower(Vector64.LoadUnsafe(ref pe, (nuint)c).ToVector128Unsafe());
            Vector128<double> dx = Vector128.WidenLower(Vector64.LoadUnsafe(ref px, (nuint)c).ToVector128Unsafe());
            e += de.ToScalar();
            s += dx.ToScalar();
            e += de.GetElement(1);
            s += dx.GetElement(1);
        }
        if (c < n)
        {
            e += exponentials[c];
            s += x[c];
        }
        sumExp = e;
        sumX = s;
    }
}
