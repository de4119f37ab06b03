using System;
using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>output = tanh(input) (torch.nn.Tanh).</summary>
    public static void TanhForward(Span<float> output, ReadOnlySpan<float> input)
    {
        Elementwise.CheckLengths(output, input, nameof(input));
        TensorPrimitives.Tanh(input, output);
    }

    /// <summary>
    /// inputGrad = outputGrad * (1 - tanh(input)^2), from the input: as 4 e / (1 + e)^2 with e = exp(-2 |input|), accurate
    /// to a few ulps everywhere, where 1 - output^2 loses all its digits once the output rounds to +-1.
    /// </summary>
    public static void TanhBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> input) =>
        Elementwise.Map(inputGrad, outputGrad, input, default(TanhBackwardOperator));

    private readonly struct TanhBackwardOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV dy, TV x) where TV : struct, IVector<TV> => TV.Multiply(dy, TanhDerivative(x));
    }

    /// <summary>1 - tanh(u)^2 = 4 e / (1 + e)^2, e = exp(-2 |u|): no cancellation at any u.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV TanhDerivative<TV>(TV u) where TV : struct, IVector<TV>
    {
        TV a = TV.Abs(u);
        TV e = TV.Exp(TV.Negate(TV.Add(a, a)));
        TV r = TV.Divide(TV.Create(1f), TV.Add(TV.Create(1f), e));
        return TV.Multiply(TV.Multiply(TV.Create(4f), e), TV.Multiply(r, r));
    }

    /// <summary>sigmoid(x) and sigmoid(-x), both to a few ulps (neither as 1 minus the other): e = exp(-|x|), 1 / (1 + e) and e / (1 + e).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void SigmoidPair<TV>(TV x, out TV sigmoid, out TV sigmoidOfNegative) where TV : struct, IVector<TV>
    {
        TV e = TV.Exp(TV.Negate(TV.Abs(x)));
        TV large = TV.Divide(TV.Create(1f), TV.Add(TV.Create(1f), e)), small = TV.Multiply(e, large);
        TV positive = TV.GreaterThan(x, TV.Create(0f));
        sigmoid = TV.Select(positive, large, small);
        sigmoidOfNegative = TV.Select(positive, small, large);
    }
}
