using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.Intrinsics;
using StaticNet.Tests.Reference;
using Xunit;

namespace StaticNet.Tests;

/// <summary>
/// Every activation's derivative against its float64 value over -100 to 100 (steps of 1/128, with +-1e-30, the
/// smallest floats, the kinks, the derivatives' roots and GELU's tanh tail at steps of 0.001). Allowed: 4 ulps of the
/// exact value; 4 ulps of the sum of the terms' magnitudes where the derivative is a sum of terms of opposite sign (near
/// a root no float sum does better); what 4 ulps of change in the input would change (|x f''(x)| 4 ulp(1), which lets
/// a float evaluation round its intermediate arguments, as exp(-2u) must); and nothing below the smallest normal float.
/// </summary>
public class ActivationAccuracyTests
{
    private static readonly float[] Points = Sweep();

    private static float[] Sweep()
    {
        var points = new List<float>();
        for (int i = -12800; i <= 12800; i++) points.Add(i / 128f);
        points.AddRange([1e-30f, -1e-30f, float.Epsilon, -float.Epsilon, 1e-38f, -1e-38f, 0f, -0.7517916f, -1.2784645f, 0.5f, -0.5f]);
        for (float x = -6f; x < -4f; x += 0.001f) points.Add(x); // GELU's tanh tail, where the old derivative was off
        return points.ToArray();
    }

    private static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    /// <summary>The exact derivative and the sum of its terms' magnitudes.</summary>
    public static TheoryData<string> Names => new("ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "GELU-tanh", "SiLU");

    private static (double Derivative, double Terms) Exact(string name, double x)
    {
        switch (name)
        {
            case "ReLU":
                return (x > 0 ? 1 : 0, 0);
            case "LeakyReLU":
                return (x > 0 ? 1 : 0.01f, 0);
            case "Sigmoid":
                return (Sigmoid(x) * Sigmoid(-x), 0);
            case "Tanh":
                {
                    double e = Math.Exp(-2 * Math.Abs(x));
                    return (4 * e / ((1 + e) * (1 + e)), 0);
                }
            case "GELU":
                {
                    double cdf = 0.5 * SpecialFunctions.Erfc(-x / Math.Sqrt(2)), density = Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);
                    return (cdf + x * density, cdf + Math.Abs(x * density));
                }
            case "GELU-tanh":
                {
                    double k = Math.Sqrt(2 / Math.PI), u = k * (x + 0.044715 * x * x * x), du = k * (1 + 3 * 0.044715 * x * x);
                    double e = Math.Exp(-2 * Math.Abs(u));
                    double left = Sigmoid(2 * u), right = 0.5 * x * (4 * e / ((1 + e) * (1 + e))) * du;
                    return (left + right, left + Math.Abs(right));
                }
            default: // SiLU
                {
                    double s = Sigmoid(x), right = x * s * Sigmoid(-x);
                    return (s + right, s + Math.Abs(right));
                }
        }
    }

    private static float[] Derivative(string name, float[] x)
    {
        var y = new float[x.Length];
        var dx = new float[x.Length];
        float[] ones = Enumerable.Repeat(1f, x.Length).ToArray();
        switch (name)
        {
            case "ReLU": Kernels.ReluForward(y, x); Kernels.ReluBackward(dx, ones, y); break;
            case "LeakyReLU": Kernels.LeakyReluBackward(dx, ones, x, 0.01f); break;
            case "Sigmoid": Kernels.SigmoidBackward(dx, ones, x); break;
            case "Tanh": Kernels.TanhBackward(dx, ones, x); break;
            case "GELU": Kernels.GeluBackward(dx, ones, x); break;
            case "GELU-tanh": Kernels.GeluTanhBackward(dx, ones, x); break;
            default: Kernels.SiluBackward(dx, ones, x); break;
        }
        return dx;
    }

    /// <summary>The spacing of floats at |value| (that of the smallest normal float below it).</summary>
    private static double Ulp(double value)
    {
        float f = Math.Max(Math.Abs((float)value), 1.17549435e-38f);
        return MathF.BitIncrement(f) - f;
    }

    /// <summary>|x f''(x)|, the change in the derivative per relative change in x, by a central difference.</summary>
    private static double Sensitivity(string name, double x)
    {
        double h = 1e-6 * Math.Max(1, Math.Abs(x));
        return Math.Abs(x * (Exact(name, x + h).Derivative - Exact(name, x - h).Derivative) / (2 * h));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Derivatives_are_within_a_few_ulps_of_float64_everywhere(string name)
    {
        float[] got = Derivative(name, Points);
        var failures = new List<string>();
        for (int i = 0; i < Points.Length; i++)
        {
            (double exact, double terms) = Exact(name, Points[i]);
            double tolerance = 4 * Ulp(exact) + 4 * Ulp(terms) + 4 * Math.Pow(2, -24) * Sensitivity(name, Points[i]) + Math.Pow(2, -126);
            if (!(Math.Abs(got[i] - exact) <= tolerance)) failures.Add($"x = {Points[i]:R}: {got[i]:R}, exact {exact:R} ({Math.Abs(got[i] - exact) / Ulp(exact):F1} ulps)");
        }
        Assert.True(failures.Count == 0, $"{name}: {failures.Count} of {Points.Length} points off, the worst first:\n" + string.Join("\n", failures.Take(12)));
    }

    [Fact]
    public void Tanh_is_within_two_ulps_of_float64_everywhere()
    {
        // The sweep, every float step near 0.625 (where the polynomial hands over to the exponential), dense small
        // values where tanh(x) ~ x, and the special values.
        var points = new List<float>(Points);
        for (float v = -1.5f; v < 1.5f; v += 1f / 8192) points.Add(v);
        for (float v = 0.62f; v < 0.63f; v = MathF.BitIncrement(v)) { points.Add(v); points.Add(-v); }
        for (float v = 1e-30f; v < 1e-2f; v *= 1.01f) { points.Add(v); points.Add(-v); }
        points.AddRange([float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, -float.MaxValue, -0f]);
        float[] x = points.ToArray(), y = new float[x.Length];
        Kernels.TanhForward(y, x);
        double worst = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double exact = Math.Tanh(x[i]);
            if (double.IsNaN(exact))
            {
                Assert.True(float.IsNaN(y[i]), $"tanh(NaN) gave {y[i]}");
                continue;
            }
            if (exact == 0) Assert.Equal(BitConverter.SingleToInt32Bits(x[i]), BitConverter.SingleToInt32Bits(y[i])); // the sign of zero kept
            double ulps = Math.Abs(y[i] - exact) / Math.Max(Ulp(exact), Math.Pow(2, -149));
            worst = Math.Max(worst, ulps);
            Assert.True(ulps <= 2, $"tanh({x[i]:R}) = {exact:R}, but {y[i]:R} came ({ulps:F2} ulps)");
        }
        Assert.True(worst > 0.4, $"the worst error, {worst:F2} ulps, is suspiciously small: is float64 being compared with itself?");
    }

    [Fact]
    public void The_avx512_exp_gives_the_portable_one_s_bits_wherever_the_result_is_finite()
    {
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported) return;
        int checkedPoints = 0;
        for (float v = -103.97f; v < 88.72f; v += 0.00048828125f)
        {
            var x = System.Runtime.Intrinsics.Vector512.Create(v) + System.Runtime.Intrinsics.Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) * 1.9073486e-6f;
            var fast = StaticNet.Simd.VectorMath.Exp512(x);
            var portable = System.Runtime.CompilerServices.Unsafe.BitCast<StaticNet.Simd.Vec512, System.Runtime.Intrinsics.Vector512<float>>(
                StaticNet.Simd.VectorMath.Exp(System.Runtime.CompilerServices.Unsafe.BitCast<System.Runtime.Intrinsics.Vector512<float>, StaticNet.Simd.Vec512>(x)));
            if (System.Runtime.Intrinsics.Vector512.AsInt32(fast) != System.Runtime.Intrinsics.Vector512.AsInt32(portable)) Assert.Fail($"exp near {v:R}: {fast} against {portable}");
            checkedPoints += 16;
        }
        Assert.True(checkedPoints > 6_000_000);
    }

    [Fact]
    public void The_256_and_128_bit_exps_give_the_portable_one_s_bits_everywhere()
    {
        // Clamped with min/max and no selects at the ends (over- and underflow come out of the scaling): checked on every
        // float once; here a dense sweep across both ends, the special values and a million random bit patterns.
        if (!System.Runtime.Intrinsics.X86.Avx.IsSupported) return;
        var points = new List<float>();
        for (float v = -110f; v < 95f; v += 0.00048828125f) points.Add(v);
        for (float v = -104.5f; v < -103.5f; v += 1.52587890625e-5f) points.Add(v);
        for (float v = 88.5f; v < 89.5f; v += 7.62939453125e-6f) points.Add(v);
        points.AddRange([float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, float.MinValue, float.Epsilon, 0f, -0f]);
        var random = new Random(7);
        for (int i = 0; i < 1_000_000; i++) points.Add(BitConverter.Int32BitsToSingle(random.Next() ^ (random.Next(2) << 31)));
        while (points.Count % 8 != 0) points.Add(0f);
        static int Bits(float f) => float.IsNaN(f) ? -1 : BitConverter.SingleToInt32Bits(f);
        for (int i = 0; i < points.Count; i += 8)
        {
            var x = System.Runtime.Intrinsics.Vector256.Create(points.GetRange(i, 8).ToArray());
            var portable = StaticNet.Simd.VectorMath.Exp(new StaticNet.Simd.Vec256(x)).Value;
            var wide = StaticNet.Simd.VectorMath.Exp256(x);
            var narrow = System.Runtime.Intrinsics.Vector256.Create(StaticNet.Simd.VectorMath.Exp128(x.GetLower()), StaticNet.Simd.VectorMath.Exp128(x.GetUpper()));
            for (int j = 0; j < 8; j++)
            {
                if (Bits(wide[j]) != Bits(portable[j]) || Bits(narrow[j]) != Bits(portable[j]))
                {
                    Assert.Fail($"exp({x[j]:R}): 256-bit {wide[j]:R}, 128-bit {narrow[j]:R}, portable {portable[j]:R}");
                }
            }
        }
        Assert.Equal(0f, StaticNet.Simd.VectorMath.Exp256(System.Runtime.Intrinsics.Vector256.Create(-104f))[0]);
        Assert.Equal(float.PositiveInfinity, StaticNet.Simd.VectorMath.Exp256(System.Runtime.Intrinsics.Vector256.Create(88.8f))[0]);
        Assert.True(float.IsNaN(StaticNet.Simd.VectorMath.Exp128(System.Runtime.Intrinsics.Vector128.Create(float.NaN))[0]));
    }

    [Fact]
    public void Vector_exp_is_within_two_ulps_subnormals_included_at_every_width()
    {
        static float[] Run<TV>(float[] x) where TV : struct, StaticNet.Simd.IVector<TV>
        {
            var y = new float[x.Length];
            for (int i = 0; i + TV.Count <= x.Length; i += TV.Count) TV.Store(TV.Exp(TV.Load(ref x[i])), ref y[i]);
            return y;
        }
        var points = new List<float>();
        for (float v = -110f; v < 90f; v += 0.0009765625f) points.Add(v);
        points.AddRange([float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1e-30f, -1e-30f]);
        while (points.Count % 16 != 0) points.Add(0f);
        float[] x = points.ToArray();
        var widths = new List<(string, float[])> { ("scalar", Run<StaticNet.Simd.Scalar>(x)) };
        if (System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated) widths.Add(("128", Run<StaticNet.Simd.Vec128>(x)));
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated) widths.Add(("256", Run<StaticNet.Simd.Vec256>(x)));
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) widths.Add(("512", Run<StaticNet.Simd.Vec512>(x)));
        foreach ((string width, float[] y) in widths)
        {
            for (int i = 0; i < x.Length; i++)
            {
                double exact = Math.Exp(x[i]);
                if (double.IsNaN(exact)) { Assert.True(float.IsNaN(y[i]), $"{width}: exp(NaN) = {y[i]}"); continue; }
                float rounded = (float)exact;
                double ulp = rounded == 0 ? float.Epsilon : MathF.BitIncrement(MathF.Abs(rounded)) - MathF.Abs(rounded);
                Assert.True(Math.Abs(y[i] - exact) <= 2 * ulp || (float.IsPositiveInfinity(rounded) && float.IsPositiveInfinity(y[i])),
                    $"{width}: exp({x[i]:R}) = {y[i]:R}, exact {exact:R}");
            }
        }
    }
}
