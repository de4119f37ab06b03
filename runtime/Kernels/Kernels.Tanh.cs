using System;
using System.Runtime.CompilerServices;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>
    /// output = tanh(input) (torch.nn.Tanh), to about 2 ulps: below |x| = 0.625 as x + x^3 P(x^2) (Cephes' tanhf
    /// polynomial), above as (1 - e) / (1 + e) with e = exp(-2 |x|) and x's sign. Compiled fully optimized from the first
    /// call (TensorPrimitives.Tanh, used before, ran as tier-0 code for a process's first thousands of calls: 34 us for
    /// 512 values, against under 1 us once optimized).
    /// </summary>
    public static void TanhForward(Span<float> output, ReadOnlySpan<float> input) => Elementwise.Map(output, input, default(TanhOperator));

    private readonly struct TanhOperator : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x) where TV : struct, IVector<TV>
        {
            // tanh(|x|), then x's sign (so -0 stays -0).
            TV a = TV.Abs(x), one = TV.Create(1f);
            TV e = TV.Exp(TV.Negate(TV.Add(a, a)));
            TV large = TV.Divide(TV.Subtract(one, e), TV.Add(one, e));
            TV z = TV.Multiply(a, a);
            TV p = TV.MultiplyAdd(TV.Create(-5.70498872745E-3f), z, TV.Create(2.06390887954E-2f));
            p = TV.MultiplyAdd(p, z, TV.Create(-5.37397155531E-2f));
            p = TV.MultiplyAdd(p, z, TV.Create(1.33314422036E-1f));
            p = TV.MultiplyAdd(p, z, TV.Create(-3.33332819422E-1f));
            TV small = TV.MultiplyAdd(TV.Multiply(p, z), a, a);
            // NaN compares false: it takes the exponential's side, and stays NaN.
            return TV.CopySign(TV.SelectWhereGreater(TV.Create(0.625f), a, small, large), x);
        }
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
