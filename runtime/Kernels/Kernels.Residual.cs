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

    /// <summary>output = max(blockOutput + input, 0): a [Residual] and the ReLU after it, equal bit for bit to <see cref="ResidualForward"/> then <see cref="ReluForward"/>.</summary>
    public static void ResidualReluForward(Span<float> output, ReadOnlySpan<float> blockOutput, ReadOnlySpan<float> input) =>
        Elementwise.Map(output, blockOutput, input, default(AddReluOperator));

    /// <summary>
    /// The gradient through the ReLU after a [Residual]: outputGrad where output &gt; 0, else 0 (as <see cref="ReluBackward"/>),
    /// written to both <paramref name="blockGrad"/> (the block's output gradient) and <paramref name="skipGrad"/> (the
    /// shortcut's output gradient, or the sum's own, which <see cref="ResidualBackward"/> adds to the input's): one pass
    /// instead of the ReLU's and a copy to each.
    /// </summary>
    public static void ResidualReluBackward(Span<float> blockGrad, Span<float> skipGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> output) =>
        Elementwise.Map(blockGrad, skipGrad, outputGrad, output, default(ReluBackwardOperator));

    private readonly struct AddReluOperator : IBinaryOperator
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x, TV y) where TV : struct, IVector<TV> => TV.Max(TV.Add(x, y), TV.Create(0f));
    }

    private readonly struct AddOperator : IBinaryOperator
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x, TV y) where TV : struct, IVector<TV> => TV.Add(x, y);
    }
}
