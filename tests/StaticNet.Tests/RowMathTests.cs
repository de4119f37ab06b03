using System;
using System.Linq;
using StaticNet.Simd;
using Xunit;

namespace StaticNet.Tests;

/// <summary>
/// The softmax's own maximum, exponentials and logarithms (<see cref="RowMath"/>, which the cross-entropy loss uses in
/// place of TensorPrimitives). CI repeats these with AVX-512, AVX2 and all SIMD switched off.
/// </summary>
public class RowMathTests
{
    [Fact]
    public void Log_is_within_an_ulp_of_Math_Log_and_passes_special_values_through_it()
    {
        var random = new Random(5);
        var values = new System.Collections.Generic.List<double>();
        for (int i = 0; i < 4000; i++) values.Add(Math.ScaleB(1 + random.NextDouble(), random.Next(-1022, 1024)));
        for (int i = 0; i < 4000; i++) values.Add(1 + random.NextDouble() * 15); // a sum of exponentials, the loss's case
        for (int k = 1; k <= 52; k++)
        {
            values.Add(1 + Math.ScaleB(1, -k));
            values.Add(1 - Math.ScaleB(1, -k - 1));
        }
        values.AddRange([Math.Sqrt(0.5), Math.BitIncrement(Math.Sqrt(0.5)), Math.Sqrt(2), Math.BitDecrement(Math.Sqrt(2)), 2, 0.5, 1,
            double.MaxValue, 2.2250738585072014E-308]);
        double[] logs = values.ToArray();
        RowMath.LogInPlace(logs);
        for (int i = 0; i < logs.Length; i++)
        {
            double exact = Math.Log(values[i]);
            double ulp = Math.BitIncrement(Math.Abs(exact)) - Math.Abs(exact);
            Assert.True(Math.Abs(logs[i] - exact) <= ulp, $"ln {values[i]:R}: {logs[i]:R}, Math.Log {exact:R}");
        }

        // Outside the positive normal doubles every lane goes through Math.Log, whichever lane of a pair it is in.
        double[] special = [0, -0.0, -1, double.Epsilon, 1e-310, double.PositiveInfinity, double.NegativeInfinity, double.NaN];
        for (int shift = 0; shift < 2; shift++)
        {
            double[] x = [.. Enumerable.Repeat(2.0, shift), .. special];
            RowMath.LogInPlace(x);
            for (int i = 0; i < special.Length; i++) Assert.Equal(Math.Log(special[i]), x[shift + i]);
            if (shift == 1) Assert.Equal(Math.Log(2.0), x[0]);
        }
    }

    [Fact]
    public void Max_is_ieee_maximum_at_every_length()
    {
        for (int length = 1; length <= 40; length++)
        {
            float[] x = NetworkCases.RandomFloats(length, length, 5f);
            Assert.Equal(x.Aggregate(MathF.Max), RowMath.Max(x));
            for (int at = 0; at < length; at++)
            {
                float[] withNaN = (float[])x.Clone();
                withNaN[at] = float.NaN;
                Assert.True(float.IsNaN(RowMath.Max(withNaN)), $"length {length}, NaN at {at}");
                float[] zeros = Enumerable.Repeat(-0f, length).ToArray();
                zeros[at] = 0f;
                Assert.False(float.IsNegative(RowMath.Max(zeros)), $"length {length}, +0 at {at}");
            }
            Assert.True(float.IsNegative(RowMath.Max(Enumerable.Repeat(-0f, length).ToArray())));
        }
        Assert.Throws<ArgumentException>(() => RowMath.Max([]));
    }

    [Fact]
    public void Exp_of_an_element_does_not_depend_on_where_it_sits_or_the_span_length()
    {
        float[] all = NetworkCases.RandomFloats(64, 3, 20f);
        float[] whole = (float[])all.Clone();
        RowMath.ExpInPlace(whole);
        for (int i = 0; i < all.Length; i++)
        {
            double exact = Math.Exp(all[i]);
            Assert.True(Math.Abs(whole[i] - exact) <= 2.5 * (MathF.BitIncrement(whole[i]) - whole[i]), $"e^{all[i]:R} = {whole[i]:R}, exact {exact:R}");
        }
        for (int start = 0; start < 20; start++)
            for (int length = 0; start + length <= all.Length; length += 7)
            {
                float[] part = all.AsSpan(start, length).ToArray();
                RowMath.ExpInPlace(part);
                for (int i = 0; i < length; i++) Assert.Equal(BitConverter.SingleToInt32Bits(whole[start + i]), BitConverter.SingleToInt32Bits(part[i]));
            }
    }

    [Fact]
    public void Sum_and_dot_are_close_to_double_sums_and_the_elementwise_steps_match_scalar_arithmetic()
    {
        for (int length = 1; length <= 40; length++)
        {
            float[] x = NetworkCases.RandomFloats(length, 2 * length, 3f), y = NetworkCases.RandomFloats(length, 2 * length + 1, 2f);
            double sum = x.Sum(v => (double)v), dot = x.Zip(y, (a, b) => (double)a * b).Sum();
            double scale = x.Sum(v => Math.Abs((double)v)), dotScale = x.Zip(y, (a, b) => Math.Abs((double)a * b)).Sum();
            Assert.True(Math.Abs(RowMath.Sum(x) - sum) <= 1e-6 * scale, $"length {length}: sum {RowMath.Sum(x)}, exact {sum}");
            Assert.True(Math.Abs(RowMath.Dot(x, y) - dot) <= 1e-6 * dotScale, $"length {length}: dot {RowMath.Dot(x, y)}, exact {dot}");

            float[] divided = (float[])x.Clone(), shifted = new float[length];
            RowMath.DivideInPlace(divided, 3.7f);
            RowMath.SubtractMultiply(shifted, x, 0.3f, y);
            for (int i = 0; i < length; i++)
            {
                Assert.Equal(x[i] / 3.7f, divided[i]);
                Assert.Equal((x[i] - 0.3f) * y[i], shifted[i]);
            }
        }
        Assert.Throws<ArgumentException>(() => RowMath.Dot(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => RowMath.SubtractMultiply(new float[3], new float[3], 0f, new float[2]));
    }

    [Fact]
    public void ShiftByMax_subtracts_the_maximum_in_place_too()
    {
        float[] x = NetworkCases.RandomFloats(13, 9, 4f);
        float[] shifted = new float[13], inPlace = (float[])x.Clone();
        float max = RowMath.ShiftByMax(shifted, x);
        Assert.Equal(x.Max(), max);
        Assert.Equal(max, RowMath.ShiftByMax(inPlace, inPlace));
        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal(x[i] - max, shifted[i]);
            Assert.Equal(x[i] - max, inPlace[i]);
        }
        Assert.Throws<ArgumentException>(() => RowMath.ShiftByMax(new float[12], x));
    }

    [Fact]
    public void Cross_entropy_rows_get_the_bits_they_get_alone()
    {
        const int Rows = 7, Classes = 10;
        float[] logits = NetworkCases.RandomFloats(Rows * Classes, 11, 6f);
        int[] labels = [3, 0, 9, 4, 4, 1, 7];
        var loss = new CrossEntropyLoss(Reduction.None);
        float[] grad = new float[Rows * Classes], terms = new float[Rows];
        loss.Forward(logits, labels, grad, terms);
        for (int r = 0; r < Rows; r++)
        {
            float[] rowGrad = new float[Classes], rowTerm = new float[1];
            loss.Forward(logits.AsSpan(r * Classes, Classes), labels.AsSpan(r, 1), rowGrad, rowTerm);
            Assert.Equal(BitConverter.SingleToInt32Bits(terms[r]), BitConverter.SingleToInt32Bits(rowTerm[0]));
            for (int c = 0; c < Classes; c++) Assert.Equal(BitConverter.SingleToInt32Bits(grad[r * Classes + c]), BitConverter.SingleToInt32Bits(rowGrad[c]));
            double max = logits.Skip(r * Classes).Take(Classes).Max(), sum = logits.Skip(r * Classes).Take(Classes).Sum(v => Math.Exp(v - max));
            Assert.Equal(max + Math.Log(sum) - logits[r * Classes + labels[r]], terms[r], 5e-6);
        }
    }
}
