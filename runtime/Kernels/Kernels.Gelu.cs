using System;
using System.Runtime.CompilerServices;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>output = input * Phi(input), Phi the standard normal CDF (torch.nn.GELU(approximate='none')).</summary>
    public static void GeluForward(Span<float> output, ReadOnlySpan<float> input) => Elementwise.Map(output, input, default(GeluOperator));

    /// <summary>inputGrad = outputGrad * (Phi(input) + input * phi(input)), phi the standard normal density.</summary>
    public static void GeluBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> input) =>
        Elementwise.Map(inputGrad, outputGrad, input, default(GeluBackwardOperator));

    /// <summary>output = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (torch.nn.GELU(approximate='tanh')).</summary>
    public static void GeluTanhForward(Span<float> output, ReadOnlySpan<float> input) => Elementwise.Map(output, input, default(GeluTanhOperator));

    /// <summary>The derivative of <see cref="GeluTanhForward"/> times outputGrad.</summary>
    public static void GeluTanhBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> input) =>
        Elementwise.Map(inputGrad, outputGrad, input, default(GeluTanhBackwardOperator));

    private const float InverseSqrt2 = 0.70710678118654752f;
    private const float InverseSqrt2Pi = 0.39894228040143268f;
    private const float Sqrt2OverPi = 0.79788456080286536f;
    private const float TanhCoefficient = 0.044715f;

    /// <summary>
    /// Phi(x) through erfc(|x| / sqrt 2), by the Chebyshev fit of Numerical Recipes' erfcc (relative error below 1.2e-7
    /// for every argument): computing the small tail directly keeps its relative accuracy for large negative x.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV NormalCdf<TV>(TV x) where TV : struct, IVector<TV>
    {
        TV z = TV.Multiply(TV.Abs(x), TV.Create(InverseSqrt2));
        TV t = TV.Divide(TV.Create(1f), TV.MultiplyAdd(z, TV.Create(0.5f), TV.Create(1f)));
        TV poly = TV.MultiplyAdd(t, TV.Create(0.17087277f), TV.Create(-0.82215223f));
        poly = TV.MultiplyAdd(t, poly, TV.Create(1.48851587f));
        poly = TV.MultiplyAdd(t, poly, TV.Create(-1.13520398f));
        poly = TV.MultiplyAdd(t, poly, TV.Create(0.27886807f));
        poly = TV.MultiplyAdd(t, poly, TV.Create(-0.18628806f));
        poly = TV.MultiplyAdd(t, poly, TV.Create(0.09678418f));
        poly = TV.MultiplyAdd(t, poly, TV.Create(0.37409196f));
        poly = TV.MultiplyAdd(t, poly, TV.Create(1.00002368f));
        poly = TV.MultiplyAdd(t, poly, TV.Create(-1.26551223f));
        TV exponent = TV.Subtract(poly, TV.Multiply(z, z));
        TV tail = TV.Multiply(TV.Create(0.5f), TV.Multiply(t, TV.Exp(exponent)));
        return TV.SelectWhereGreater(x, TV.Create(0f), TV.Subtract(TV.Create(1f), tail), tail);
    }

    private readonly struct GeluOperator : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x) where TV : struct, IVector<TV> => TV.Multiply(x, NormalCdf(x));
    }

    private readonly struct GeluBackwardOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV dy, TV x) where TV : struct, IVector<TV>
        {
            TV density = TV.Multiply(TV.Create(InverseSqrt2Pi), TV.Exp(TV.Multiply(TV.Create(-0.5f), TV.Multiply(x, x))));
            return TV.Multiply(dy, TV.MultiplyAdd(x, density, NormalCdf(x)));
        }
    }

    private readonly struct GeluTanhOperator : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x) where TV : struct, IVector<TV>
        {
            // 0.5 x (1 + tanh u) = x sigmoid(2u): no cancellation in the negative tail.
            TV inner = TV.Multiply(TV.Create(Sqrt2OverPi), TV.MultiplyAdd(TV.Multiply(TV.Create(TanhCoefficient), x), TV.Multiply(x, x), x));
            SigmoidPair(TV.Add(inner, inner), out TV s, out _);
            return TV.Multiply(x, s);
        }
    }

    private readonly struct GeluTanhBackwardOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV dy, TV x) where TV : struct, IVector<TV>
        {
            // 0.5 (1 + tanh u) = sigmoid(2u) and 1 - tanh(u)^2 = 4 e / (1 + e)^2: neither subtracts from 1, so the negative
            // tail keeps its digits (1 - 2 / (exp(2u) + 1) near -1 lost them, and the derivative multiplied the loss).
            TV x2 = TV.Multiply(x, x);
            TV inner = TV.Multiply(TV.Create(Sqrt2OverPi), TV.MultiplyAdd(TV.Multiply(TV.Create(TanhCoefficient), x), x2, x));
            TV innerDerivative = TV.Multiply(TV.Create(Sqrt2OverPi), TV.MultiplyAdd(TV.Create(3f * TanhCoefficient), x2, TV.Create(1f)));
            SigmoidPair(TV.Add(inner, inner), out TV left, out _);
            TV right = TV.Multiply(TV.Multiply(TV.Create(0.5f), x), TV.Multiply(TanhDerivative(inner), innerDerivative));
            return TV.Multiply(dy, TV.Add(left, right));
        }
    }
}
