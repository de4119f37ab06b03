using System;
using System.Runtime.CompilerServices;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>output = input * sigmoid(input) = input / (1 + exp(-input)) (torch.nn.SiLU).</summary>
    public static void SiluForward(Span<float> output, ReadOnlySpan<float> input) => Elementwise.Map(output, input, default(SiluOperator));

    /// <summary>inputGrad = outputGrad * s * (1 + input * (1 - s)), s = sigmoid(input).</summary>
    public static void SiluBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> input) =>
        Elementwise.Map(inputGrad, outputGrad, input, default(SiluBackwardOperator));

    private readonly struct SiluOperator : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x) where TV : struct, IVector<TV> =>
            TV.Divide(x, TV.Add(TV.Create(1f), TV.Exp(TV.Negate(x))));
    }

    private readonly struct SiluBackwardOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV dy, TV x) where TV : struct, IVector<TV>
        {
            // sigmoid(x) (1 + x sigmoid(-x)), with sigmoid(-x) computed, not taken as 1 - sigmoid(x).
            SigmoidPair(x, out TV s, out TV complement);
            return TV.Multiply(TV.Multiply(dy, s), TV.MultiplyAdd(x, complement, TV.Create(1f)));
        }
    }
}
