using System;
using System.Runtime.CompilerServices;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>output = input where input &gt; 0, else negativeSlope * input (torch.nn.LeakyReLU).</summary>
    public static void LeakyReluForward(Span<float> output, ReadOnlySpan<float> input, float negativeSlope) =>
        Elementwise.Map(output, input, new LeakyReluOperator(negativeSlope));

    /// <summary>inputGrad = outputGrad where input &gt; 0, else negativeSlope * outputGrad.</summary>
    public static void LeakyReluBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> input, float negativeSlope) =>
        Elementwise.Map(inputGrad, outputGrad, input, new LeakyReluBackwardOperator(negativeSlope));

    private readonly struct LeakyReluOperator(float slope) : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x) where TV : struct, IVector<TV> =>
            TV.SelectWhereGreater(x, TV.Create(0f), x, TV.Multiply(x, TV.Create(slope)));
    }

    private readonly struct LeakyReluBackwardOperator(float slope) : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV dy, TV x) where TV : struct, IVector<TV> =>
            TV.SelectWhereGreater(x, TV.Create(0f), dy, TV.Multiply(dy, TV.Create(slope)));
    }
}
