using System;
using System.Collections.Generic;

namespace StaticNet;

/// <summary>
/// Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_: call between Backward and the optimizer's
/// Step (or pass as the trainer's beforeStep). Frozen parameters (RequiresGrad false) are left out, as PyTorch leaves out
/// parameters whose grad is None. Pass an array or list (such as <c>net.Parameters().ToArray()</c>, kept) to allocate nothing.
/// </summary>
public static class Gradients
{
    /// <summary>
    /// Scales the gradients so that their total norm (the <paramref name="normType"/>-norm of all of them as one vector;
    /// <see cref="float.PositiveInfinity"/> for the largest magnitude) is at most <paramref name="maxNorm"/>, and returns
    /// that total norm before clipping. As PyTorch: the factor is maxNorm / (norm + 1e-6), capped at 1, and always
    /// applied; a NaN or infinite norm scales every gradient to NaN, or throws when <paramref name="errorIfNonfinite"/>.
    /// </summary>
    public static float ClipGradNorm(IEnumerable<Parameter> parameters, float maxNorm, float normType = 2f, bool errorIfNonfinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!float.IsFinite(maxNorm) || maxNorm < 0) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, $"max_norm must be finite and not negative, but it is {maxNorm}.");
        if (!(normType > 0)) throw new ArgumentOutOfRangeException(nameof(normType), normType, $"norm_type must be positive (or infinity), but it is {normType}.");
        IReadOnlyList<Parameter> list = parameters as IReadOnlyList<Parameter> ?? [.. parameters];
        double total = 0;
        for (int i = 0; i < list.Count; i++)
        {
            if (!list[i].RequiresGrad) continue;
            ReadOnlySpan<float> grad = list[i].Grad;
            if (float.IsPositiveInfinity(normType))
            {
                for (int j = 0; j < grad.Length; j++)
                {
                    float magnitude = Math.Abs(grad[j]);
                    if (float.IsNaN(magnitude)) total = double.NaN;
                    else if (magnitude > total) total = magnitude; // false once total is NaN, so NaN stays
                }
            }
            else if (normType == 2f)
            {
                for (int j = 0; j < grad.Length; j++) total += (double)grad[j] * grad[j];
            }
            else
            {
                for (int j = 0; j < grad.Length; j++) total += Math.Pow(Math.Abs((double)grad[j]), normType);
            }
        }
        double norm = float.IsPositiveInfinity(normType) ? total : normType == 2f ? Math.Sqrt(total) : Math.Pow(total, 1.0 / normType);
        float totalNorm = (float)norm;
        if (errorIfNonfinite && !float.IsFinite(totalNorm))
        {
            throw new ArithmeticException($"The total norm of order {normType} of the gradients is {totalNorm}, so they cannot be clipped (errorIfNonfinite).");
        }
        float factor = MathF.Min(maxNorm / (totalNorm + 1e-6f), 1f); // in float, as torch's tensor arithmetic; NaN stays NaN
        for (int i = 0; i < list.Count; i++)
        {
            if (!list[i].RequiresGrad) continue;
            Span<float> grad = list[i].Grad;
            System.Numerics.Tensors.TensorPrimitives.Multiply(grad, factor, grad);
        }
        return totalNorm;
    }

    /// <summary>Clamps every gradient element into [-clipValue, clipValue] (torch.nn.utils.clip_grad_value_); NaN stays NaN.</summary>
    public static void ClipGradValue(IEnumerable<Parameter> parameters, float clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!float.IsFinite(clipValue) || clipValue < 0) throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, $"clip_value must be finite and not negative, but it is {clipValue}.");
        IReadOnlyList<Parameter> list = parameters as IReadOnlyList<Parameter> ?? [.. parameters];
        for (int i = 0; i < list.Count; i++)
        {
            if (!list[i].RequiresGrad) continue;
            Span<float> grad = list[i].Grad;
            System.Numerics.Tensors.TensorPrimitives.Clamp(grad, -clipValue, clipValue, grad);
        }
    }
}
