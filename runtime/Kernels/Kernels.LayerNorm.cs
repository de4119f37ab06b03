using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>
    /// LayerNorm over rows of <paramref name="size"/> floats (torch.nn.LayerNorm): each row normalised by its own mean and
    /// biased variance, then scaled by <paramref name="weight"/> and shifted by <paramref name="bias"/> elementwise (empty:
    /// 1 and 0). Each row's mean and 1 / sqrt(var + eps) are written to <paramref name="mean"/> and <paramref name="rstd"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LayerNormForward(Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int rows, int size, float eps)
    {
        CheckLayerNorm(output.Length, input.Length, mean.Length, rstd.Length, weight.Length, rows, size);
        if (!bias.IsEmpty) CheckLength(bias.Length, weight.IsEmpty ? 0 : size, nameof(bias));
        if (output.Overlaps(input)) throw new ArgumentException("output overlaps input; kernels need separate buffers.", nameof(output));
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be positive.");
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> x = input.Slice(r * size, size);
            Span<float> y = output.Slice(r * size, size);
            float m = TensorPrimitives.Sum(x) / size;
            float s = 1f / MathF.Sqrt(CenteredRows.SquaredDeviations(x, m) / size + eps);
            mean[r] = m;
            rstd[r] = s;
            TensorPrimitives.Subtract(x, m, y);
            TensorPrimitives.Multiply(y, s, y);
            if (!bias.IsEmpty) TensorPrimitives.MultiplyAdd(y, weight, bias, y);
            else if (!weight.IsEmpty) TensorPrimitives.Multiply(y, weight, y);
        }
    }

    /// <summary>
    /// The gradients of <see cref="LayerNormForward"/>: weightGrad += sum over rows of dy * xhat, biasGrad += sum of dy
    /// (either may be empty), and (unless empty) inputGrad = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * w.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LayerNormBackward(Span<float> inputGrad, Span<float> weightGrad, Span<float> biasGrad, ReadOnlySpan<float> outputGrad,
        ReadOnlySpan<float> input, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> weight, int rows, int size)
    {
        CheckLayerNorm(outputGrad.Length, input.Length, mean.Length, rstd.Length, weight.Length, rows, size);
        CheckLength(weightGrad.Length, weight.IsEmpty ? 0 : size, nameof(weightGrad));
        if (!biasGrad.IsEmpty) CheckLength(biasGrad.Length, size, nameof(biasGrad));
        if (!inputGrad.IsEmpty)
        {
            CheckLength(inputGrad.Length, input.Length, nameof(inputGrad));
            if (inputGrad.Overlaps(outputGrad) || inputGrad.Overlaps(input))
            {
                throw new ArgumentException("inputGrad overlaps outputGrad or input; kernels need separate buffers.", nameof(inputGrad));
            }
        }
        float inverseSize = 1f / size;
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> dy = outputGrad.Slice(r * size, size), x = input.Slice(r * size, size);
            float m = mean[r], s = rstd[r];
            if (!weightGrad.IsEmpty) CenteredRows.AccumulateProduct(weightGrad, dy, x, m, s);
            if (!biasGrad.IsEmpty) TensorPrimitives.Add(biasGrad, dy, biasGrad);
            if (inputGrad.IsEmpty) continue;
            float sumG = weight.IsEmpty ? TensorPrimitives.Sum(dy) : TensorPrimitives.Dot(dy, weight);
            float sumGXhat = CenteredRows.Dot(dy, weight, x, m) * s;
            // dx = s g - s mean(g) - s xhat mean(g xhat) = g * s + x * scaleX + shift.
            float scaleX = -s * s * sumGXhat * inverseSize;
            float shift = -s * sumG * inverseSize - scaleX * m;
            CenteredRows.Combine(inputGrad.Slice(r * size, size), dy, weight, s, x, scaleX, shift);
        }
    }

    private static void CheckLayerNorm(int outputLength, int inputLength, int meanLength, int rstdLength, int weightLength, int rows, int size)
    {
        CheckPositive(rows, nameof(rows));
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "size must be positive.");
        long total = (long)rows * size;
        CheckLength(inputLength, total, "input");
        CheckLength(outputLength, total, "output");
        CheckLength(meanLength, rows, "mean");
        CheckLength(rstdLength, rows, "rstd");
        if (weightLength != 0) CheckLength(weightLength, size, "weight");
    }
}
