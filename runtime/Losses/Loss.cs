using System;

namespace StaticNet;

/// <summary>How a loss reduces its per-sample (or per-element) terms, as PyTorch's reduction argument.</summary>
public enum Reduction
{
    /// <summary>'mean': the average of the terms.</summary>
    Mean,

    /// <summary>'sum': the sum of the terms.</summary>
    Sum,

    /// <summary>'none': the terms themselves (written to the losses span); the value returned and its gradient are the sum's, as after l.sum().backward().</summary>
    None,
}

/// <summary>
/// The base of the losses (the counterparts of torch.nn's loss modules). <see cref="Forward"/> returns the reduced loss
/// and writes its gradient with respect to the input; it allocates nothing.
/// </summary>
/// <typeparam name="TTarget">int class labels for classification losses, float targets for the others.</typeparam>
public abstract class Loss<TTarget>(Reduction reduction)
{
    /// <summary>The reduction applied to the terms.</summary>
    public Reduction Reduction { get; } = Enum.IsDefined(reduction) ? reduction : throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Unknown reduction.");

    /// <summary>The sum of the unreduced terms in the last Forward, whatever the reduction: epoch statistics add these.</summary>
    public double LastSum { get; private set; }

    /// <summary>The number of terms in the last Forward (samples for cross-entropy, elements for elementwise losses).</summary>
    public int LastCount { get; private set; }

    /// <summary>
    /// Computes the loss of <paramref name="input"/> against <paramref name="target"/>. Writes the gradient of the returned
    /// value into <paramref name="inputGrad"/> unless it is empty, and each unreduced term into <paramref name="losses"/> unless it is empty.
    /// <paramref name="sampleShape"/> is the shape of one sample of the input (a network's SampleOutputShape); when given,
    /// the loss reads the input with it (cross-entropy takes the class dimension first, as PyTorch's (N, C, d1, ...)) and
    /// refuses targets that do not fit it. Without it, the input is taken as rows of classes, one per label.
    /// </summary>
    public float Forward(ReadOnlySpan<float> input, ReadOnlySpan<TTarget> target, Span<float> inputGrad, Span<float> losses = default,
        ReadOnlySpan<int> sampleShape = default)
    {
        int terms = TermCount(input.Length, target.Length, sampleShape);
        if (!inputGrad.IsEmpty && inputGrad.Length != input.Length)
        {
            throw new ArgumentException($"inputGrad must hold {input.Length} floats, like the input, but it holds {inputGrad.Length}.", nameof(inputGrad));
        }
        if (inputGrad.Overlaps(input))
        {
            throw new ArgumentException("inputGrad overlaps input; the loss needs separate buffers.", nameof(inputGrad));
        }
        if (!losses.IsEmpty && losses.Length != terms)
        {
            throw new ArgumentException($"losses must hold one float per term ({terms}), but it holds {losses.Length}.", nameof(losses));
        }
        if (Reduction == Reduction.None && losses.IsEmpty)
        {
            throw new ArgumentException("With Reduction.None, pass a losses span to receive the unreduced terms.", nameof(losses));
        }
        float gradScale = Reduction == Reduction.Mean ? 1f / terms : 1f;
        double sum = Compute(input, target, inputGrad, losses, gradScale, sampleShape);
        LastSum = sum;
        LastCount = terms;
        return (float)(Reduction == Reduction.Mean ? sum / terms : sum);
    }

    /// <summary>The number of terms for an input and a target of these lengths; throws if they do not fit together.</summary>
    public abstract int TermCount(int inputLength, int targetLength);

    /// <summary>
    /// The number of terms for an input of samples shaped <paramref name="sampleShape"/> (empty: unknown) and a target of
    /// these lengths; throws, naming both shapes, if they do not fit together. The base ignores the shape.
    /// </summary>
    public virtual int TermCount(int inputLength, int targetLength, ReadOnlySpan<int> sampleShape) => TermCount(inputLength, targetLength);

    /// <summary>Returns the sum of the terms; writes gradScale times each term's gradient and, when given, each term.</summary>
    protected abstract double Compute(ReadOnlySpan<float> input, ReadOnlySpan<TTarget> target, Span<float> inputGrad, Span<float> losses, float gradScale);

    /// <summary>As the other Compute, for samples shaped <paramref name="sampleShape"/> (empty: unknown); the base ignores the shape.</summary>
    protected virtual double Compute(ReadOnlySpan<float> input, ReadOnlySpan<TTarget> target, Span<float> inputGrad, Span<float> losses, float gradScale,
        ReadOnlySpan<int> sampleShape) => Compute(input, target, inputGrad, losses, gradScale);
}
