using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace StaticNet.Simd;

/// <summary>
/// The row passes of the normalisation kernels (BatchNorm, LayerNorm) that TensorPrimitives has no single call for:
/// sums of centred values, so that the mean is subtracted before products are summed (no cancellation between large
/// terms), and the affine combinations their backward passes write. Each runs the widest accelerated vector over
/// whole vectors, then one lane at a time; sums are in a fixed order, so results do not depend on anything but the row.
/// </summary>
internal static class CenteredRows
{
    /// <summary>sum((x - mean)^2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float SquaredDeviations(ReadOnlySpan<float> x, float mean)
    {
        if (Vector512.IsHardwareAccelerated) return SquaredDeviations<Vec512>(x, mean);
        if (Vector256.IsHardwareAccelerated) return SquaredDeviations<Vec256>(x, mean);
        if (Vector128.IsHardwareAccelerated) return SquaredDeviations<Vec128>(x, mean);
        double sum = 0; // one lane: a long row summed in float alone drifts
        foreach (float v in x) sum += ((double)v - mean) * ((double)v - mean);
        return (float)sum;
    }

    /// <summary>sum(x), as TensorPrimitives.Sum with vectors, in double with one lane.</summary>
    public static float Sum(ReadOnlySpan<float> x)
    {
        if (Vector128.IsHardwareAccelerated) return System.Numerics.Tensors.TensorPrimitives.Sum(x);
        double sum = 0;
        foreach (float v in x) sum += v;
        return (float)sum;
    }

    /// <summary>sum(a * (x - mean)), or sum(a * w * (x - mean)) when <paramref name="w"/> is not empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> w, ReadOnlySpan<float> x, float mean)
    {
        if (Vector512.IsHardwareAccelerated) return Dot<Vec512>(a, w, x, mean);
        if (Vector256.IsHardwareAccelerated) return Dot<Vec256>(a, w, x, mean);
        if (Vector128.IsHardwareAccelerated) return Dot<Vec128>(a, w, x, mean);
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += (double)a[i] * (w.IsEmpty ? 1f : w[i]) * ((double)x[i] - mean);
        return (float)sum;
    }

    /// <summary>destination = a * w * scaleA + x * scaleX + shift (w empty: a * scaleA + x * scaleX + shift).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Combine(Span<float> destination, ReadOnlySpan<float> a, ReadOnlySpan<float> w, float scaleA, ReadOnlySpan<float> x, float scaleX, float shift)
    {
        if (Vector512.IsHardwareAccelerated) Combine<Vec512>(destination, a, w, scaleA, x, scaleX, shift);
        else if (Vector256.IsHardwareAccelerated) Combine<Vec256>(destination, a, w, scaleA, x, scaleX, shift);
        else if (Vector128.IsHardwareAccelerated) Combine<Vec128>(destination, a, w, scaleA, x, scaleX, shift);
        else Combine<Scalar>(destination, a, w, scaleA, x, scaleX, shift);
    }

    /// <summary>accumulator += a * (x - mean) * scale, elementwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AccumulateProduct(Span<float> accumulator, ReadOnlySpan<float> a, ReadOnlySpan<float> x, float mean, float scale)
    {
        if (Vector512.IsHardwareAccelerated) AccumulateProduct<Vec512>(accumulator, a, x, mean, scale);
        else if (Vector256.IsHardwareAccelerated) AccumulateProduct<Vec256>(accumulator, a, x, mean, scale);
        else if (Vector128.IsHardwareAccelerated) AccumulateProduct<Vec128>(accumulator, a, x, mean, scale);
        else AccumulateProduct<Scalar>(accumulator, a, x, mean, scale);
    }

    /// <summary>
    /// destination = x * scale + shift, the product rounded before the sum (as TensorPrimitives.Multiply then Add), and
    /// with <paramref name="relu"/> max(that, 0) as Kernels.ReluForward computes it: BatchNorm's output row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaleShift(Span<float> destination, ReadOnlySpan<float> x, float scale, float shift, bool relu)
    {
        ref float d = ref MemoryMarshal.GetReference(destination);
        ref float px = ref MemoryMarshal.GetReference(x);
        int n = destination.Length, i = 0;
        // Each call with a constant relu, so that the inlined loop has no test in it.
        if (relu)
        {
            if (Vector512.IsHardwareAccelerated) i = ScaleShift<Vec512>(ref d, ref px, 0, n, scale, shift, true);
            else if (Vector256.IsHardwareAccelerated) i = ScaleShift<Vec256>(ref d, ref px, 0, n, scale, shift, true);
            else if (Vector128.IsHardwareAccelerated) i = ScaleShift<Vec128>(ref d, ref px, 0, n, scale, shift, true);
            ScaleShift<Scalar>(ref d, ref px, i, n, scale, shift, true);
        }
        else
        {
            if (Vector512.IsHardwareAccelerated) i = ScaleShift<Vec512>(ref d, ref px, 0, n, scale, shift, false);
            else if (Vector256.IsHardwareAccelerated) i = ScaleShift<Vec256>(ref d, ref px, 0, n, scale, shift, false);
            else if (Vector128.IsHardwareAccelerated) i = ScaleShift<Vec128>(ref d, ref px, 0, n, scale, shift, false);
            ScaleShift<Scalar>(ref d, ref px, i, n, scale, shift, false);
        }
    }

    /// <summary>
    /// (sum(dy), sum(dy * (x - mean))) in one pass: BatchNorm's backward sums over a row. With a non-empty
    /// <paramref name="reluOutput"/> (a ReLU after the BatchNorm), dy is first replaced in place by dy where reluOutput
    /// is above 0, else 0, as Kernels.ReluBackward computes it, and the sums are of that.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (float Sum, float Dot) SumAndDot(Span<float> dy, ReadOnlySpan<float> reluOutput, ReadOnlySpan<float> x, float mean)
    {
        if (Vector512.IsHardwareAccelerated) return SumAndDot<Vec512>(dy, reluOutput, x, mean);
        if (Vector256.IsHardwareAccelerated) return SumAndDot<Vec256>(dy, reluOutput, x, mean);
        if (Vector128.IsHardwareAccelerated) return SumAndDot<Vec128>(dy, reluOutput, x, mean);
        double sum = 0, dot = 0; // one lane: a long row summed in float alone drifts
        for (int i = 0; i < dy.Length; i++)
        {
            if (!reluOutput.IsEmpty && !(reluOutput[i] > 0f)) dy[i] = 0f;
            sum += dy[i];
            dot += (double)dy[i] * ((double)x[i] - mean);
        }
        return ((float)sum, (float)dot);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ScaleShift<TV>(ref float d, ref float px, int i, int n, float scale, float shift, bool relu) where TV : struct, IVector<TV>
    {
        TV s = TV.Create(scale), sh = TV.Create(shift), zero = TV.Create(0f);
        for (; i + 4 * TV.Count <= n; i += 4 * TV.Count)
        {
            TV v0 = TV.Add(TV.Multiply(TV.Load(ref Unsafe.Add(ref px, i)), s), sh);
            TV v1 = TV.Add(TV.Multiply(TV.Load(ref Unsafe.Add(ref px, i + TV.Count)), s), sh);
            TV v2 = TV.Add(TV.Multiply(TV.Load(ref Unsafe.Add(ref px, i + 2 * TV.Count)), s), sh);
            TV v3 = TV.Add(TV.Multiply(TV.Load(ref Unsafe.Add(ref px, i + 3 * TV.Count)), s), sh);
            TV.Store(relu ? TV.Max(v0, zero) : v0, ref Unsafe.Add(ref d, i));
            TV.Store(relu ? TV.Max(v1, zero) : v1, ref Unsafe.Add(ref d, i + TV.Count));
            TV.Store(relu ? TV.Max(v2, zero) : v2, ref Unsafe.Add(ref d, i + 2 * TV.Count));
            TV.Store(relu ? TV.Max(v3, zero) : v3, ref Unsafe.Add(ref d, i + 3 * TV.Count));
        }
        for (; i + TV.Count <= n; i += TV.Count)
        {
            TV v = TV.Add(TV.Multiply(TV.Load(ref Unsafe.Add(ref px, i)), s), sh);
            TV.Store(relu ? TV.Max(v, zero) : v, ref Unsafe.Add(ref d, i));
        }
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float Sum, float Dot) SumAndDot<TV>(Span<float> dy, ReadOnlySpan<float> reluOutput, ReadOnlySpan<float> x, float mean) where TV : struct, IVector<TV>
    {
        ref float pd = ref MemoryMarshal.GetReference(dy);
        ref float py = ref MemoryMarshal.GetReference(reluOutput);
        ref float px = ref MemoryMarshal.GetReference(x);
        bool masked = !reluOutput.IsEmpty;
        TV m = TV.Create(mean), zero = TV.Create(0f), s0 = zero, s1 = zero, d0 = zero, d1 = zero;
        int i = 0, n = dy.Length;
        for (; i + 2 * TV.Count <= n; i += 2 * TV.Count)
        {
            TV g0 = TV.Load(ref Unsafe.Add(ref pd, i)), g1 = TV.Load(ref Unsafe.Add(ref pd, i + TV.Count));
            if (masked)
            {
                g0 = TV.SelectWhereGreater(TV.Load(ref Unsafe.Add(ref py, i)), zero, g0, zero);
                g1 = TV.SelectWhereGreater(TV.Load(ref Unsafe.Add(ref py, i + TV.Count)), zero, g1, zero);
                TV.Store(g0, ref Unsafe.Add(ref pd, i));
                TV.Store(g1, ref Unsafe.Add(ref pd, i + TV.Count));
            }
            s0 = TV.Add(s0, g0);
            s1 = TV.Add(s1, g1);
            d0 = TV.MultiplyAdd(g0, TV.Subtract(TV.Load(ref Unsafe.Add(ref px, i)), m), d0);
            d1 = TV.MultiplyAdd(g1, TV.Subtract(TV.Load(ref Unsafe.Add(ref px, i + TV.Count)), m), d1);
        }
        for (; i + TV.Count <= n; i += TV.Count)
        {
            TV g0 = TV.Load(ref Unsafe.Add(ref pd, i));
            if (masked)
            {
                g0 = TV.SelectWhereGreater(TV.Load(ref Unsafe.Add(ref py, i)), zero, g0, zero);
                TV.Store(g0, ref Unsafe.Add(ref pd, i));
            }
            s0 = TV.Add(s0, g0);
            d0 = TV.MultiplyAdd(g0, TV.Subtract(TV.Load(ref Unsafe.Add(ref px, i)), m), d0);
        }
        float sum = TV.Sum(TV.Add(s0, s1)), dot = TV.Sum(TV.Add(d0, d1));
        for (; i < n; i++)
        {
            float g = Unsafe.Add(ref pd, i);
            if (masked)
            {
                g = Unsafe.Add(ref py, i) > 0f ? g : 0f;
                Unsafe.Add(ref pd, i) = g;
            }
            sum += g;
            dot = float.MultiplyAddEstimate(g, Unsafe.Add(ref px, i) - mean, dot);
        }
        return (sum, dot);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SquaredDeviations<TV>(ReadOnlySpan<float> x, float mean) where TV : struct, IVector<TV>
    {
        ref float s = ref MemoryMarshal.GetReference(x);
        TV m = TV.Create(mean), a0 = TV.Create(0f), a1 = TV.Create(0f);
        int i = 0, n = x.Length;
        for (; i + 2 * TV.Count <= n; i += 2 * TV.Count)
        {
            TV d0 = TV.Subtract(TV.Load(ref Unsafe.Add(ref s, i)), m), d1 = TV.Subtract(TV.Load(ref Unsafe.Add(ref s, i + TV.Count)), m);
            a0 = TV.MultiplyAdd(d0, d0, a0);
            a1 = TV.MultiplyAdd(d1, d1, a1);
        }
        for (; i + TV.Count <= n; i += TV.Count)
        {
            TV d = TV.Subtract(TV.Load(ref Unsafe.Add(ref s, i)), m);
            a0 = TV.MultiplyAdd(d, d, a0);
        }
        float sum = TV.Sum(TV.Add(a0, a1));
        for (; i < n; i++)
        {
            float d = Unsafe.Add(ref s, i) - mean;
            sum += d * d;
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot<TV>(ReadOnlySpan<float> a, ReadOnlySpan<float> w, ReadOnlySpan<float> x, float mean) where TV : struct, IVector<TV>
    {
        ref float pa = ref MemoryMarshal.GetReference(a);
        ref float pw = ref MemoryMarshal.GetReference(w);
        ref float px = ref MemoryMarshal.GetReference(x);
        bool weighted = !w.IsEmpty;
        TV m = TV.Create(mean), acc = TV.Create(0f);
        int i = 0, n = x.Length;
        for (; i + TV.Count <= n; i += TV.Count)
        {
            TV va = TV.Load(ref Unsafe.Add(ref pa, i));
            if (weighted) va = TV.Multiply(va, TV.Load(ref Unsafe.Add(ref pw, i)));
            acc = TV.MultiplyAdd(va, TV.Subtract(TV.Load(ref Unsafe.Add(ref px, i)), m), acc);
        }
        float sum = TV.Sum(acc);
        for (; i < n; i++)
        {
            float va = weighted ? Unsafe.Add(ref pa, i) * Unsafe.Add(ref pw, i) : Unsafe.Add(ref pa, i);
            sum += va * (Unsafe.Add(ref px, i) - mean);
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Combine<TV>(Span<float> destination, ReadOnlySpan<float> a, ReadOnlySpan<float> w, float scaleA, ReadOnlySpan<float> x, float scaleX, float shift)
        where TV : struct, IVector<TV>
    {
        ref float d = ref MemoryMarshal.GetReference(destination);
        ref float pa = ref MemoryMarshal.GetReference(a);
        ref float pw = ref MemoryMarshal.GetReference(w);
        ref float px = ref MemoryMarshal.GetReference(x);
        bool weighted = !w.IsEmpty;
        TV sa = TV.Create(scaleA), sx = TV.Create(scaleX), sh = TV.Create(shift);
        int i = 0, n = destination.Length;
        for (; i + TV.Count <= n; i += TV.Count)
        {
            TV va = TV.Load(ref Unsafe.Add(ref pa, i));
            if (weighted) va = TV.Multiply(va, TV.Load(ref Unsafe.Add(ref pw, i)));
            TV.Store(TV.MultiplyAdd(va, sa, TV.MultiplyAdd(TV.Load(ref Unsafe.Add(ref px, i)), sx, sh)), ref Unsafe.Add(ref d, i));
        }
        for (; i < n; i++)
        {
            float va = weighted ? Unsafe.Add(ref pa, i) * Unsafe.Add(ref pw, i) : Unsafe.Add(ref pa, i);
            Unsafe.Add(ref d, i) = float.MultiplyAddEstimate(va, scaleA, float.MultiplyAddEstimate(Unsafe.Add(ref px, i), scaleX, shift));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateProduct<TV>(Span<float> accumulator, ReadOnlySpan<float> a, ReadOnlySpan<float> x, float mean, float scale) where TV : struct, IVector<TV>
    {
        ref float acc = ref MemoryMarshal.GetReference(accumulator);
        ref float pa = ref MemoryMarshal.GetReference(a);
        ref float px = ref MemoryMarshal.GetReference(x);
        TV m = TV.Create(mean), s = TV.Create(scale);
        int i = 0, n = accumulator.Length;
        for (; i + TV.Count <= n; i += TV.Count)
        {
            TV centred = TV.Multiply(TV.Subtract(TV.Load(ref Unsafe.Add(ref px, i)), m), s);
            TV.Store(TV.MultiplyAdd(TV.Load(ref Unsafe.Add(ref pa, i)), centred, TV.Load(ref Unsafe.Add(ref acc, i))), ref Unsafe.Add(ref acc, i));
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref acc, i) = float.MultiplyAddEstimate(Unsafe.Add(ref pa, i), (Unsafe.Add(ref px, i) - mean) * scale, Unsafe.Add(ref acc, i));
        }
    }
}
