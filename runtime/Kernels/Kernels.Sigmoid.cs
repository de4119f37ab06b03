using System;
using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>output = 1 / (1 + exp(-input)) (torch.nn.Sigmoid).</summary>
    public static void SigmoidForward(Span<float> output, ReadOnlySpan<float> input)
    {
        Elementwise.CheckLengths(output, input, nameof(input));
        TensorPrimitives.Sigmoid(input, output);
    }

    /// <summary>inputGrad = outputGrad * output * (1 - output), from the saved output.</summary>
    public static void SigmoidBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> output) =>
        Elementwise.Map(inputGrad, outputGrad, output, default(SigmoidBackwardOperator));

    private readonly struct SigmoidBackwardOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV dy, TV y) where TV : struct, IVector<TV> =>
            TV.Multiply(dy, TV.Multiply(y, TV.Subtract(TV.Create(1f), y)));
    }
}
