using System;
using System.Runtime.CompilerServices;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>
    /// Training-mode dropout (torch.nn.Dropout): each element is kept with probability 1 - p and scaled by 1 / (1 - p),
    /// or zeroed. The mask (the factor per element) is written for the backward pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DropoutForward(Span<float> output, Span<float> mask, ReadOnlySpan<float> input, float p, RandomGenerator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability must be at least 0 and less than 1.");
        Elementwise.CheckLengths(output, input, nameof(input));
        CheckLength(mask.Length, output.Length, nameof(mask));
        float scale = 1f / (1f - p);
        for (int i = 0; i < mask.Length; i++) mask[i] = generator.NextFloat() >= p ? scale : 0f;
        Elementwise.Map(output, input, mask, default(MultiplyOperator));
    }

    /// <summary>inputGrad = outputGrad * mask, with the mask of the forward pass.</summary>
    public static void DropoutBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> mask) =>
        Elementwise.Map(inputGrad, outputGrad, mask, default(MultiplyOperator));

    private readonly struct MultiplyOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x, TV y) where TV : struct, IVector<TV> => TV.Multiply(x, y);
    }
}
