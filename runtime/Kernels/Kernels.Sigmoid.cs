using System;
using System.Runtime.CompilerServices;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>output = 1 / (1 + exp(-input)) (torch.nn.Sigmoid).</summary>
    public static void SigmoidForward(Span<float> output, ReadOnlySpan<float> input) => Elementwise.Map(output, input, default(SigmoidOperator));

    private readonly struct SigmoidOperator : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x) where TV : struct, IVector<TV> =>
            TV.Divide(TV.Create(1f), TV.Add(TV.Create(1f), TV.Exp(TV.Subtract(TV.Create(0f), x))));
    }

    /// <summary>
    /// inputGrad = outputGrad * sigmoid(input) * sigmoid(-input), from the input: as e / (1 + e)^2 with e = exp(-|input|),
    /// accurate to a few ulps everywhere, where output * (1 - output) loses all its digits once the output rounds to 1.
    /// </summary>
    public static void SigmoidBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> input) =>
        Elementwise.Map(inputGrad, outputGrad, input, default(SigmoidBackwardOperator));

    private readonly struct SigmoidBackwardOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV dy, TV x) where TV : struct, IVector<TV>
        {
            TV e = TV.Exp(TV.Subtract(TV.Create(0f), TV.Abs(x)));
            TV r = TV.Divide(TV.Create(1f), TV.Add(TV.Create(1f), e));
            return TV.Multiply(dy, TV.Multiply(TV.Multiply(e, r), r));
        }
    }
}
