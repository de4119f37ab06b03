using System;
using System.Runtime.CompilerServices;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>
    /// Training-mode dropout (torch.nn.Dropout): each element is kept with probability 1 - p and scaled by 1 / (1 - p),
    /// or zeroed. The mask (the factor per element) is written for the backward pass. With p = 1 every element is zeroed
    /// (input times 0, so a NaN stays NaN, as in PyTorch) and no random number is drawn.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DropoutForward(Span<float> output, Span<float> mask, ReadOnlySpan<float> input, float p, RandomGenerator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, $"Dropout probability must be from 0 to 1, but it is {p}.");
        Elementwise.CheckLengths(output, input, nameof(input));
        CheckLength(mask.Length, output.Length, nameof(mask));
        if (p == 1)
        {
            mask.Clear();
        }
        else
        {
            float scale = 1f / (1f - p);
            for (int i = 0; i < mask.Length; i++) mask[i] = generator.NextFloat() >= p ? scale : 0f;
        }
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
