using System;
using System.Runtime.CompilerServices;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>
    /// Softmax over the middle dimension of a tensor viewed as [outer, dim, inner] (torch.nn.Softmax(dim)):
    /// exp(x - max) / sum, so large inputs do not overflow. Rows along the last dimension go through this assembly's
    /// own vector code, optimised from the first call (TensorPrimitives' ran unoptimised until the JIT's tiering settled).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SoftmaxForward(Span<float> output, ReadOnlySpan<float> input, int outer, int dim, int inner)
    {
        CheckSoftmax(output.Length, input.Length, outer, dim, inner, nameof(input));
        if (output.Overlaps(input)) throw new ArgumentException("output overlaps input; kernels need separate buffers.", nameof(output));
        for (int o = 0; o < outer; o++)
        {
            int start = o * dim * inner;
            if (inner == 1)
            {
                ReadOnlySpan<float> x = input.Slice(start, dim);
                Span<float> y = output.Slice(start, dim);
                RowMath.ShiftByMax(y, x);
                RowMath.ExpInPlace(y);
                RowMath.DivideInPlace(y, RowMath.Sum(y));
                continue;
            }
            for (int i = 0; i < inner; i++)
            {
                float max = float.NegativeInfinity;
                for (int d = 0; d < dim; d++) max = MathF.Max(max, input[start + d * inner + i]);
                float sum = 0f;
                for (int d = 0; d < dim; d++)
                {
                    float e = MathF.Exp(input[start + d * inner + i] - max);
                    output[start + d * inner + i] = e;
                    sum += e;
                }
                for (int d = 0; d < dim; d++) output[start + d * inner + i] /= sum;
            }
        }
    }

    /// <summary>inputGrad = output * (outputGrad - sum(outputGrad * output)) over the softmax dimension.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SoftmaxBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> output, int outer, int dim, int inner)
    {
        CheckSoftmax(inputGrad.Length, outputGrad.Length, outer, dim, inner, nameof(outputGrad));
        CheckLength(output.Length, inputGrad.Length, nameof(output));
        if (inputGrad.Overlaps(outputGrad) || inputGrad.Overlaps(output))
        {
            throw new ArgumentException("inputGrad overlaps outputGrad or output; kernels need separate buffers.", nameof(inputGrad));
        }
        for (int o = 0; o < outer; o++)
        {
            int start = o * dim * inner;
            if (inner == 1)
            {
                ReadOnlySpan<float> dy = outputGrad.Slice(start, dim), y = output.Slice(start, dim);
                Span<float> dx = inputGrad.Slice(start, dim);
                RowMath.SubtractMultiply(dx, dy, RowMath.Dot(dy, y), y);
                continue;
            }
            for (int i = 0; i < inner; i++)
            {
                float dot = 0f;
                for (int d = 0; d < dim; d++) dot += outputGrad[start + d * inner + i] * output[start + d * inner + i];
                for (int d = 0; d < dim; d++)
                {
                    int at = start + d * inner + i;
                    inputGrad[at] = output[at] * (outputGrad[at] - dot);
                }
            }
        }
    }

    private static void CheckSoftmax(int outputLength, int inputLength, int outer, int dim, int inner, string inputName)
    {
        CheckPositive(outer, nameof(outer));
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "The softmax dimension must have a positive size.");
        if (inner <= 0) throw new ArgumentOutOfRangeException(nameof(inner), inner, "inner must be positive.");
        long expected = (long)outer * dim * inner;
        CheckLength(inputLength, expected, inputName);
        CheckLength(outputLength, expected, "output");
    }
}
