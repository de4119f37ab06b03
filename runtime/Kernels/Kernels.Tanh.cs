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

    /// <summary>inputGrad = outputGrad * (1 - output^2), from the saved output.</summary>
    public static void TanhBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> output) =>
        Elementwise.Map(inputGrad, outputGrad, output, default(TanhBackwardOperator));

    private readonly struct TanhBackwardOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV dy, TV y) where TV : struct, IVector<TV> =>
            TV.Multiply(dy, TV.Subtract(TV.Create(1f), TV.Multiply(y, y)));
    }
}
