using System;
using System.Runtime.CompilerServices;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>output = max(input, 0) (torch.nn.ReLU); NaN stays NaN.</summary>
    public static void ReluForward(Span<float> output, ReadOnlySpan<float> input) => Elementwise.Map(output, input, default(ReluOperator));

    /// <summary>inputGrad = outputGrad where output &gt; 0, else 0 (as PyTorch, from the saved output).</summary>
    public static void ReluBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> output) =>
        Elementwise.Map(inputGrad, outputGrad, output, default(ReluBackwardOperator));

    /// <summary>values = max(values, 0) in place, as <see cref="ReluForward"/>.</summary>
    internal static void ReluInPlace(Span<float> values) => Elementwise.Update(values, default(ReluOperator));

    /// <summary>grad = grad where output &gt; 0, else 0, in place, as <see cref="ReluBackward"/>.</summary>
    internal static void ReluBackwardInPlace(Span<float> grad, ReadOnlySpan<float> output) => Elementwise.Update(grad, output, default(ReluBackwardOperator));

    private readonly struct ReluOperator : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x) where TV : struct, IVector<TV> => TV.Max(x, TV.Create(0f));
    }

    private readonly struct ReluBackwardOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV dy, TV y) where TV : struct, IVector<TV> => TV.SelectWhereGreater(y, TV.Create(0f), dy, TV.Create(0f));
    }
}
