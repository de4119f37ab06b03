using System;
using System.Runtime.CompilerServices;

namespace StaticNet;

/// <summary>One element's loss and its derivative with respect to the input, as a struct so the loop inlines it.</summary>
internal interface IElementwiseTerm
{
    (double Loss, double Grad) Evaluate(double x, double y);
}

/// <summary>The base of losses with one term per element of an input and a float target of the same shape.</summary>
public abstract class ElementwiseLoss(Reduction reduction) : Loss<float>(reduction)
{
    /// <inheritdoc/>
    public sealed override int TermCount(int inputLength, int targetLength)
    {
        if (inputLength != targetLength)
        {
            throw new ArgumentException($"The target holds {targetLength} floats, but the input holds {inputLength}; they must match.", "target");
        }
        if (inputLength == 0) throw new ArgumentException("The input is empty.", "input");
        return inputLength;
    }

    /// <summary>The shared loop: sums the terms in double, writing each term and its scaled gradient where asked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private protected static double Sum<TTerm>(TTerm term, ReadOnlySpan<float> input, ReadOnlySpan<float> target, Span<float> inputGrad, Span<float> losses, float gradScale)
        where TTerm : struct, IElementwiseTerm
    {
        double total = 0;
        for (int i = 0; i < input.Length; i++)
        {
            (double loss, double grad) = term.Evaluate(input[i], target[i]);
            total += loss;
            if (!losses.IsEmpty) losses[i] = (float)loss;
            if (!inputGrad.IsEmpty) inputGrad[i] = (float)(grad * gradScale);
        }
        return total;
    }
}

/// <summary>torch.nn.MSELoss: (x - y)^2.</summary>
public sealed class MSELoss(Reduction reduction = Reduction.Mean) : ElementwiseLoss(reduction)
{
    /// <inheritdoc/>
    protected override double Compute(ReadOnlySpan<float> input, ReadOnlySpan<float> target, Span<float> inputGrad, Span<float> losses, float gradScale) =>
        Sum(default(Term), input, target, inputGrad, losses, gradScale);

    private readonly struct Term : IElementwiseTerm
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (double Loss, double Grad) Evaluate(double x, double y) => ((x - y) * (x - y), 2 * (x - y));
    }
}

/// <summary>torch.nn.L1Loss: |x - y|, with gradient sign(x - y) (0 where they are equal).</summary>
public sealed class L1Loss(Reduction reduction = Reduction.Mean) : ElementwiseLoss(reduction)
{
    /// <inheritdoc/>
    protected override double Compute(ReadOnlySpan<float> input, ReadOnlySpan<float> target, Span<float> inputGrad, Span<float> losses, float gradScale) =>
        Sum(default(Term), input, target, inputGrad, losses, gradScale);

    private readonly struct Term : IElementwiseTerm
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (double Loss, double Grad) Evaluate(double x, double y) => (Math.Abs(x - y), Math.Sign(x - y));
    }
}

/// <summary>torch.nn.SmoothL1Loss: 0.5 d^2 / beta where |d| &lt; beta, else |d| - 0.5 beta, for d = x - y.</summary>
public sealed class SmoothL1Loss : ElementwiseLoss
{
    /// <summary>Creates the loss with torch's defaults (mean, beta 1).</summary>
    public SmoothL1Loss(Reduction reduction = Reduction.Mean, float beta = 1f) : base(reduction)
    {
        if (!(beta >= 0) || !float.IsFinite(beta)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must be finite and not negative.");
        Beta = beta;
    }

    /// <summary>beta.</summary>
    public float Beta { get; }

    /// <inheritdoc/>
    protected override double Compute(ReadOnlySpan<float> input, ReadOnlySpan<float> target, Span<float> inputGrad, Span<float> losses, float gradScale) =>
        Sum(new Term(Beta), input, target, inputGrad, losses, gradScale);

    private readonly struct Term(double beta) : IElementwiseTerm
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (double Loss, double Grad) Evaluate(double x, double y)
        {
            double d = x - y;
            return Math.Abs(d) < beta ? (0.5 * d * d / beta, d / beta) : (Math.Abs(d) - 0.5 * beta, Math.Sign(d));
        }
    }
}

/// <summary>
/// torch.nn.BCEWithLogitsLoss: binary cross-entropy on logits, computed stably as max(x, 0) - x y + log(1 + exp(-|x|));
/// the gradient is sigmoid(x) - y.
/// </summary>
public sealed class BCEWithLogitsLoss(Reduction reduction = Reduction.Mean) : ElementwiseLoss(reduction)
{
    /// <inheritdoc/>
    protected override double Compute(ReadOnlySpan<float> input, ReadOnlySpan<float> target, Span<float> inputGrad, Span<float> losses, float gradScale) =>
        Sum(default(Term), input, target, inputGrad, losses, gradScale);

    private readonly struct Term : IElementwiseTerm
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (double Loss, double Grad) Evaluate(double x, double y) =>
            (Math.Max(x, 0) - x * y + Math.Log(1 + Math.Exp(-Math.Abs(x))), 1 / (1 + Math.Exp(-x)) - y);
    }
}
