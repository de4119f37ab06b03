using System;
using System.Numerics.Tensors;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>output = blockOutput + input: the skip connection of a [Residual] layer.</summary>
    public static void ResidualForward(Span<float> output, ReadOnlySpan<float> blockOutput, ReadOnlySpan<float> input) =>
        Elementwise.Map(output, blockOutput, input, default(AddOperator));

    /// <summary>inputGrad += outputGrad: the skip connection's share of the input gradient, added after the block's own.</summary>
    public static void ResidualBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad)
    {
        CheckLength(outputGrad.Length, inputGrad.Length, nameof(outputGrad));
        TensorPrimitives.Add(inputGrad, outputGrad, inputGrad);
    }

    private readonly struct AddOperator : IBinaryOperator
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x, TV y) where TV : struct, IVector<TV> => TV.Add(x, y);
    }
}
