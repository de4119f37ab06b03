using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace StaticNet.Simd;

/// <summary>
/// The maximum, exponentials, sums and logarithms a softmax over rows needs, in this assembly rather than through
/// TensorPrimitives: its generic methods, and CoreLib's Vector512.Exp and Vector512.Log under them, are not inlined into
/// fully optimised callers, so they start as unoptimised code and reach the JIT's last tier only once tiering has run out
/// of new methods to compile. In a softmax regression's training the loss then took 25-40 us a step instead of 5-6 for
/// the first 0.8 s (16 epochs of 235 steps; 250-350 us in the first two), and the Fashion-MNIST sample's ten epochs of
/// it 0.67 s instead of 0.40. These methods are compiled optimised at their first call (AggressiveOptimization), with
/// everything under them inlined.
/// </summary>
internal static class RowMath
{
    /// <summary>
    /// max(x) under IEEE 754's maximum, as TensorPrimitives.Max: NaN if any element is NaN, +0 above -0. Exact, so the
    /// vectors may overlap (a row of 10 is two overlapping vectors of 8).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Max(ReadOnlySpan<float> x)
    {
        if (x.IsEmpty) throw new ArgumentException("The maximum of no elements is undefined.", nameof(x));
        ref float p = ref MemoryMarshal.GetReference(x);
        int n = x.Length;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            Vector512<float> m = Vector512.LoadUnsafe(ref p, (nuint)(n - Vector512<float>.Count));
            for (int i = 0; i < n - Vector512<float>.Count; i += Vector512<float>.Count) m = Vector512.Max(m, Vector512.LoadUnsafe(ref p, (nuint)i));
            return Max(Vector256.Max(m.GetLower(), m.GetUpper()));
        }
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            Vector256<float> m = Vector256.LoadUnsafe(ref p, (nuint)(n - Vector256<float>.Count));
            for (int i = 0; i < n - Vector256<float>.Count; i += Vector256<float>.Count) m = Vector256.Max(m, Vector256.LoadUnsafe(ref p, (nuint)i));
            return Max(m);
        }
        if (Vector128.IsHardwareAccelerated && n >= Vector128<float>.Count)
        {
            Vector128<float> m = Vector128.LoadUnsafe(ref p, (nuint)(n - Vector128<float>.Count));
            for (int i = 0; i < n - Vector128<float>.Count; i += Vector128<float>.Count) m = Vector128.Max(m, Vector128.LoadUnsafe(ref p, (nuint)i));
            return Max(m);
        }
        float max = p;
        for (int i = 1; i < n; i++) max = MathF.Max(max, Unsafe.Add(ref p, i));
        return max;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Max(Vector256<float> m) => Max(Vector128.Max(m.GetLower(), m.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Max(Vector128<float> m)
    {
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        return MathF.Max(m.ToScalar(), m.GetElement(1));
    }

    /// <summary>shifted[i] = x[i] - max(x); returns max(x). shifted may be x itself.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float ShiftByMax(Span<float> shifted, ReadOnlySpan<float> x)
    {
        if (shifted.Length != x.Length) throw new ArgumentException($"x holds {x.Length} floats, but the destination holds {shifted.Length}.", nameof(x));
        float max = Max(x);
        ref float s = ref MemoryMarshal.GetReference(shifted);
        ref float p = ref MemoryMarshal.GetReference(x);
        int i = 0, n = x.Length;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> m = Vector256.Create(max);
            for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count) (Vector256.LoadUnsafe(ref p, (nuint)i) - m).StoreUnsafe(ref s, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref s, i) = Unsafe.Add(ref p, i) - max;
        return max;
    }

    /// <summary>The sum of x: one vector of partial sums over the whole vectors, its lanes, then the tail in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Sum(ReadOnlySpan<float> x)
    {
        if (Vector512.IsHardwareAccelerated && x.Length >= Vec512.Count) return Dot<Vec512>(x, default, products: false);
        if (Vector256.IsHardwareAccelerated && x.Length >= Vec256.Count) return Dot<Vec256>(x, default, products: false);
        if (Vector128.IsHardwareAccelerated && x.Length >= Vec128.Count) return Dot<Vec128>(x, default, products: false);
        return Dot<Scalar>(x, default, products: false);
    }

    /// <summary>The sum of x[i] y[i], in the order of <see cref="Sum"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (y.Length != x.Length) throw new ArgumentException($"y holds {y.Length} floats, but x holds {x.Length}.", nameof(y));
        if (Vector512.IsHardwareAccelerated && x.Length >= Vec512.Count) return Dot<Vec512>(x, y, products: true);
        if (Vector256.IsHardwareAccelerated && x.Length >= Vec256.Count) return Dot<Vec256>(x, y, products: true);
        if (Vector128.IsHardwareAccelerated && x.Length >= Vec128.Count) return Dot<Vec128>(x, y, products: true);
        return Dot<Scalar>(x, y, products: true);
    }

    /// <summary>The sum of x[i] y[i] when <paramref name="products"/> (a constant at each call), else of x[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot<TV>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, bool products) where TV : struct, IVector<TV>
    {
        ref float a = ref MemoryMarshal.GetReference(x);
        ref float b = ref MemoryMarshal.GetReference(y);
        TV sum = TV.Create(0f);
        int i = 0, n = x.Length;
        for (; i + TV.Count <= n; i += TV.Count)
        {
            TV v = TV.Load(ref Unsafe.Add(ref a, i));
            sum = products ? TV.MultiplyAdd(v, TV.Load(ref Unsafe.Add(ref b, i)), sum) : TV.Add(sum, v);
        }
        float total = TV.Sum(sum);
        for (; i < n; i++) total += products ? Unsafe.Add(ref a, i) * Unsafe.Add(ref b, i) : Unsafe.Add(ref a, i);
        return total;
    }

    /// <summary>values[i] /= divisor (one rounding each, as a scalar division).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DivideInPlace(Span<float> values, float divisor)
    {
        ref float v = ref MemoryMarshal.GetReference(values);
        int i = 0, n = values.Length;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> d = Vector256.Create(divisor);
            for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count) (Vector256.LoadUnsafe(ref v, (nuint)i) / d).StoreUnsafe(ref v, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref v, i) /= divisor;
    }

    /// <summary>result[i] = (x[i] - shift) * y[i], two roundings each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SubtractMultiply(Span<float> result, ReadOnlySpan<float> x, float shift, ReadOnlySpan<float> y)
    {
        if (x.Length != result.Length || y.Length != result.Length)
        {
            throw new ArgumentException($"x holds {x.Length} floats and y {y.Length}, but the result holds {result.Length}.", nameof(x));
        }
        ref float r = ref MemoryMarshal.GetReference(result);
        ref float a = ref MemoryMarshal.GetReference(x);
        ref float b = ref MemoryMarshal.GetReference(y);
        int i = 0, n = result.Length;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> s = Vector256.Create(shift);
            for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count)
            {
                ((Vector256.LoadUnsafe(ref a, (nuint)i) - s) * Vector256.LoadUnsafe(ref b, (nuint)i)).StoreUnsafe(ref r, (nuint)i);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref r, i) = (Unsafe.Add(ref a, i) - shift) * Unsafe.Add(ref b, i);
    }

    /// <summary>
    /// values[i] = e^values[i] through <see cref="IVector{TSelf}.Exp"/> of the widest accelerated vector, the tail in
    /// one padded vector, so an element's result depends only on its value, not on where it sits or how long the span is.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ExpInPlace(Span<float> values)
    {
        if (Vector512.IsHardwareAccelerated) ExpInPlace<Vec512>(values);
        else if (Vector256.IsHardwareAccelerated) ExpInPlace<Vec256>(values);
        else if (Vector128.IsHardwareAccelerated) ExpInPlace<Vec128>(values);
        else ExpInPlace<Scalar>(values);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [SkipLocalsInit]
    private static void ExpInPlace<TV>(Span<float> values) where TV : struct, IVector<TV>
    {
        ref float v = ref MemoryMarshal.GetReference(values);
        int i = 0, n = values.Length;
        for (; i + TV.Count <= n; i += TV.Count) TV.Store(TV.Exp(TV.Load(ref Unsafe.Add(ref v, i))), ref Unsafe.Add(ref v, i));
        if (i == n) return;
        Span<float> tail = stackalloc float[16];
        tail.Clear();
        values.Slice(i).CopyTo(tail);
        TV.Store(TV.Exp(TV.Load(ref MemoryMarshal.GetReference(tail))), ref MemoryMarshal.GetReference(tail));
        tail.Slice(0, n - i).CopyTo(values.Slice(i));
    }

    // ln 2 in two parts: the first with the low 21 bits of its significand zero, so that k ln2Hi is exact for every
    // exponent k of a double (|k| < 2^11).
    private const double Ln2Hi = 6.93147180369123816490e-01, Ln2Lo = 1.90821492927058770002e-10;

    /// <summary>
    /// values[i] = ln values[i], to within about an ulp. Two lanes at a time; lanes outside the positive normal doubles
    /// (0, subnormals, negatives, infinity, NaN) go through Math.Log. Vector128 of double is all SSE2, so every x64 runs
    /// the same operations and gets the same bits (without SIMD the runtime emulates the same operations).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LogInPlace(Span<double> values)
    {
        ref double v = ref MemoryMarshal.GetReference(values);
        int i = 0, n = values.Length;
        for (; i + 2 <= n; i += 2)
        {
            Vector128<double> x = Vector128.LoadUnsafe(ref v, (nuint)i);
            if (Vector128.GreaterThanOrEqualAll(x, Vector128.Create(2.2250738585072014E-308))
                && Vector128.LessThanAll(x, Vector128.Create(double.PositiveInfinity)))
            {
                Log(x).StoreUnsafe(ref v, (nuint)i);
            }
            else
            {
                Unsafe.Add(ref v, i) = Math.Log(Unsafe.Add(ref v, i));
                Unsafe.Add(ref v, i + 1) = Math.Log(Unsafe.Add(ref v, i + 1));
            }
        }
        if (i < n)
        {
            double last = Unsafe.Add(ref v, i);
            Unsafe.Add(ref v, i) = last >= 2.2250738585072014E-308 && last < double.PositiveInfinity ? Log(Vector128.Create(last)).ToScalar() : Math.Log(last);
        }
    }

    /// <summary>
    /// ln x for positive normal x: x = 2^k m with m in [sqrt(1/2), sqrt(2)), f = m - 1 (exact), s = f / (2 + f), and
    /// ln(1 + f) = 2 atanh(s) = f - f^2/2 + s (f^2/2 + R(s^2)) with R the series of 2 z^j / (2j + 1) to j = 9 (its
    /// remainder is below 2^-53 of the result for |s| at most 0.172); then k ln 2 added in two parts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> Log(Vector128<double> x)
    {
        // Subtracting sqrt(1/2)'s bits moves the exponent boundary to sqrt(1/2); 2^62 keeps the difference positive,
        // so a logical shift gives the exponent k + 1024.
        const ulong SqrtHalfBits = 0x3FE6A09E667F3BCD;
        Vector128<ulong> bits = x.AsUInt64(), shifted = bits - Vector128.Create(SqrtHalfBits) + Vector128.Create(1UL << 62);
        Vector128<ulong> biasedK = Vector128.ShiftRightLogical(shifted, 52);
        Vector128<double> m = ((shifted & Vector128.Create(0x000FFFFFFFFFFFFFUL)) + Vector128.Create(SqrtHalfBits)).AsDouble();
        // k as a double: the integer in the low bits of 2^52's significand, then 2^52 and the bias taken off (exact).
        Vector128<double> k = (biasedK | Vector128.Create(0x4330000000000000UL)).AsDouble() - Vector128.Create(4503599627370496.0 + 1024);
        Vector128<double> f = m - Vector128.Create(1.0);
        Vector128<double> s = f / (Vector128.Create(2.0) + f), z = s * s;
        Vector128<double> r = Vector128.Create(2.0 / 19);
        r = r * z + Vector128.Create(2.0 / 17);
        r = r * z + Vector128.Create(2.0 / 15);
        r = r * z + Vector128.Create(2.0 / 13);
        r = r * z + Vector128.Create(2.0 / 11);
        r = r * z + Vector128.Create(2.0 / 9);
        r = r * z + Vector128.Create(2.0 / 7);
        r = r * z + Vector128.Create(2.0 / 5);
        r = r * z + Vector128.Create(2.0 / 3);
        r *= z;
        Vector128<double> halfSquare = Vector128.Create(0.5) * f * f;
        return k * Vector128.Create(Ln2Hi) - ((halfSquare - (s * (halfSquare + r) + k * Vector128.Create(Ln2Lo))) - f);
    }
}
