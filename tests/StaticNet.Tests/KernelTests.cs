using System;
using Xunit;

namespace StaticNet.Tests;

/// <summary>
/// The Linear kernels against naive loops for sizes around every vector width (1, 4, 8, 16 lanes) and the tiling
/// blocks, so that each remainder path runs. CI repeats these with AVX-512, AVX2 and all SIMD switched off.
/// </summary>
public class KernelTests
{
    public static TheoryData<int, int, int> Sizes => new()
    {
        { 1, 1, 1 }, { 3, 5, 7 }, { 4, 16, 4 }, { 5, 17, 33 }, { 2, 31, 9 }, { 7, 64, 65 }, { 3, 300, 70 }, { 9, 257, 130 },
        { 100, 784, 256 }, { 256, 256, 10 }, { 33, 520, 97 }, { 16, 1100, 40 }, { 17, 16, 16 }, { 33, 32, 1 }, { 24, 2, 16 }, { 9, 3, 13 }, { 13, 784, 10 }, { 6, 100, 7 }, { 6, 37, 5 }, { 21, 130, 15 }, { 2, 700, 100 },
        { 1, 784, 256 }, { 4, 784, 256 }, { 3, 1000, 70 }, { 5, 300, 250 }, { 7, 2050, 40 }, { 23, 300, 50 }, { 24, 300, 50 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Linear_forward_and_backward_match_naive_loops(int rows, int inFeatures, int outFeatures)
    {
        float[] x = NetworkCases.RandomFloats(rows * inFeatures, 1);
        float[] w = NetworkCases.RandomFloats(outFeatures * inFeatures, 2);
        float[] b = NetworkCases.RandomFloats(outFeatures, 3);
        float[] dy = NetworkCases.RandomFloats(rows * outFeatures, 4);

        var y = new float[rows * outFeatures];
        Kernels.LinearForward(y, x, w, b, rows, inFeatures, outFeatures);
        var dx = new float[rows * inFeatures];
        var dw = new float[w.Length];
        var db = new float[b.Length];
        dw.AsSpan().Fill(0.5f); // backward accumulates into parameter gradients
        db.AsSpan().Fill(-0.25f);
        Kernels.LinearBackward(dx, dw, db, dy, x, w, rows, inFeatures, outFeatures);

        for (int r = 0; r < rows; r++)
        {
            for (int o = 0; o < outFeatures; o++)
            {
                double s = b[o];
                for (int i = 0; i < inFeatures; i++) s += (double)x[r * inFeatures + i] * w[o * inFeatures + i];
                AssertNear(s, y[r * outFeatures + o], inFeatures);
            }
            for (int i = 0; i < inFeatures; i++)
            {
                double s = 0;
                for (int o = 0; o < outFeatures; o++) s += (double)dy[r * outFeatures + o] * w[o * inFeatures + i];
                AssertNear(s, dx[r * inFeatures + i], outFeatures);
            }
        }
        for (int o = 0; o < outFeatures; o++)
        {
            double sb = -0.25;
            for (int r = 0; r < rows; r++) sb += dy[r * outFeatures + o];
            AssertNear(sb, db[o], rows);
            for (int i = 0; i < inFeatures; i++)
            {
                double s = 0.5;
                for (int r = 0; r < rows; r++) s += (double)dy[r * outFeatures + o] * x[r * inFeatures + i];
                AssertNear(s, dw[o * inFeatures + i], rows);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Linear_with_relu_equals_the_two_separate_passes_bit_for_bit(int rows, int inFeatures, int outFeatures)
    {
        // The input is a ReLU's output (exact zeros included), as where the generator uses the backward kernel.
        float[] x = NetworkCases.RandomFloats(rows * inFeatures, 1);
        Kernels.ReluForward(x, (float[])x.Clone());
        float[] w = NetworkCases.RandomFloats(outFeatures * inFeatures, 2);
        float[] b = NetworkCases.RandomFloats(outFeatures, 3);
        float[] dy = NetworkCases.RandomFloats(rows * outFeatures, 4);
        foreach (bool withBias in new[] { true, false })
        {
            float[] bias = withBias ? b : [];
            var linear = new float[rows * outFeatures];
            var separate = new float[rows * outFeatures];
            Kernels.LinearForward(linear, x, w, bias, rows, inFeatures, outFeatures);
            Kernels.ReluForward(separate, linear);
            var fused = new float[rows * outFeatures];
            Kernels.LinearReluForward(fused, x, w, bias, rows, inFeatures, outFeatures);
            AssertBits(separate, fused);
            if (linear.Length >= 16) Assert.Contains(linear, v => v < 0); // the ReLU had work to do
        }

        var dxLinear = new float[rows * inFeatures];
        var dxSeparate = new float[rows * inFeatures];
        float[] dw = NetworkCases.RandomFloats(w.Length, 5), db = NetworkCases.RandomFloats(b.Length, 6);
        float[] dwFused = (float[])dw.Clone(), dbFused = (float[])db.Clone();
        Kernels.LinearBackward(dxLinear, dw, db, dy, x, w, rows, inFeatures, outFeatures);
        Kernels.ReluBackward(dxSeparate, dxLinear, x);
        var dxFused = new float[rows * inFeatures];
        Kernels.LinearBackwardThroughRelu(dxFused, dwFused, dbFused, dy, x, w, rows, inFeatures, outFeatures);
        AssertBits(dxSeparate, dxFused);
        AssertBits(dw, dwFused);
        AssertBits(db, dbFused);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(37)]
    [InlineData(1000)]
    public void Residual_sum_with_relu_equals_the_separate_passes_bit_for_bit(int length)
    {
        // Sums of either sign and exactly 0 (the ReLU's mask keeps gradients only above 0), and a NaN that must stay NaN.
        float[] block = NetworkCases.RandomFloats(length, 1), skip = NetworkCases.RandomFloats(length, 2), dy = NetworkCases.RandomFloats(length, 3);
        skip[0] = -block[0];
        block[length - 1] = float.NaN;
        float[] sum = new float[length], separate = new float[length], fused = new float[length];
        Kernels.ResidualForward(sum, block, skip);
        Kernels.ReluForward(separate, sum);
        Kernels.ResidualReluForward(fused, block, skip);
        AssertBits(separate, fused);
        Assert.Equal(0f, fused[0]);
        Assert.True(float.IsNaN(fused[length - 1]));
        Assert.Contains(sum, v => v < 0);

        float[] masked = new float[length], toBlock = new float[length], toSkip = new float[length];
        Kernels.ReluBackward(masked, dy, separate);
        Kernels.ResidualReluBackward(toBlock, toSkip, dy, fused);
        AssertBits(masked, toBlock);
        AssertBits(masked, toSkip);
        Assert.Contains(masked, v => v == 0f);
        Assert.Contains(masked, v => v != 0f);
    }

    private static void AssertBits(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"Element {i}: expected {expected[i]:R}, got {actual[i]:R}.");
            }
        }
    }

    [Theory]
    [InlineData(784, 256)]
    [InlineData(1000, 70)]
    [InlineData(300, 250)]
    [InlineData(2050, 40)]
    [InlineData(120, 84)]
    [InlineData(17, 33)]
    [InlineData(128, 20)]
    [InlineData(256, 40)]
    [InlineData(512, 100)]
    [InlineData(2048, 64)]
    public void Few_rows_each_get_the_bits_they_get_alone(int inFeatures, int outFeatures)
    {
        // Under Kernels.StreamedRows(inFeatures) rows (and over 16 outputs) the forward streams the weight through tiles of
        // three or two rows of x and four of W, an odd last row through one of four and the last columns one at a time;
        // every output is summed in the same order whichever it falls in. From there on, the packed GEMM (another order)
        // takes over.
        int most = Kernels.StreamedRows(inFeatures) - 1;
        float[] x = NetworkCases.RandomFloats(most * inFeatures, 1);
        float[] w = NetworkCases.RandomFloats(outFeatures * inFeatures, 2);
        float[] b = NetworkCases.RandomFloats(outFeatures, 3);
        var alone = new float[most * outFeatures];
        for (int r = 0; r < most; r++)
        {
            Kernels.LinearForward(alone.AsSpan(r * outFeatures, outFeatures), x.AsSpan(r * inFeatures, inFeatures), w, b, 1, inFeatures, outFeatures);
        }
        for (int rows = 2; rows <= most; rows++)
        {
            var together = new float[rows * outFeatures];
            Kernels.LinearForward(together, x.AsSpan(0, rows * inFeatures), w, b, rows, inFeatures, outFeatures);
            Assert.Equal(alone.AsSpan(0, rows * outFeatures).ToArray(), together);
        }
    }

    [Theory]
    [InlineData(784, 256)]
    [InlineData(256, 40)]
    public void Few_rows_get_the_same_bits_wherever_the_input_starts(int inFeatures, int outFeatures)
    {
        // With AVX-512, 4 or more streamed rows that start off a cache line are first copied to one (the per-thread buffer
        // grows and is reused: hence more rows after fewer and fewer after more). Every start gives each row the bits it
        // gets alone.
        float[] x = NetworkCases.RandomFloats(23 * inFeatures, 4);
        float[] w = NetworkCases.RandomFloats(outFeatures * inFeatures, 5);
        float[] b = NetworkCases.RandomFloats(outFeatures, 6);
        var alone = new float[23 * outFeatures];
        for (int r = 0; r < 23; r++)
        {
            Kernels.LinearForward(alone.AsSpan(r * outFeatures, outFeatures), x.AsSpan(r * inFeatures, inFeatures), w, b, 1, inFeatures, outFeatures);
        }
        foreach (int rows in new[] { 4, 23, 5, 16 })
        {
            for (int start = 0; start < 16; start++)
            {
                var placed = new float[rows * inFeatures + 16];
                x.AsSpan(0, rows * inFeatures).CopyTo(placed.AsSpan(start));
                var y = new float[rows * outFeatures];
                Kernels.LinearForward(y, placed.AsSpan(start, rows * inFeatures), w, b, rows, inFeatures, outFeatures);
                Assert.Equal(alone.AsSpan(0, rows * outFeatures).ToArray(), y);
            }
        }
    }

    [Fact]
    public void Linear_without_bias_and_without_input_gradient()
    {
        float[] x = NetworkCases.RandomFloats(6 * 20, 1);
        float[] w = NetworkCases.RandomFloats(3 * 20, 2);
        var y = new float[6 * 3];
        Kernels.LinearForward(y, x, w, default, 6, 20, 3);
        double s = 0;
        for (int i = 0; i < 20; i++) s += (double)x[20 + i] * w[40 + i];
        AssertNear(s, y[3 + 2], 20);

        var dw = new float[w.Length];
        Kernels.LinearBackward(default, dw, default, y, x, w, 6, 20, 3);
        Assert.Contains(dw, v => v != 0);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(37)]
    public void Elementwise_kernels_match_their_definitions_on_every_length(int length)
    {
        float[] x = NetworkCases.RandomFloats(length, 7, 4f);
        float[] dy = NetworkCases.RandomFloats(length, 8);
        var y = new float[length];
        var dx = new float[length];

        Kernels.ReluForward(y, x);
        Kernels.ReluBackward(dx, dy, y);
        for (int i = 0; i < length; i++)
        {
            Assert.Equal(MathF.Max(x[i], 0), y[i]);
            Assert.Equal(x[i] > 0 ? dy[i] : 0, dx[i]);
        }

        Kernels.LeakyReluForward(y, x, 0.1f);
        Kernels.LeakyReluBackward(dx, dy, x, 0.1f);
        for (int i = 0; i < length; i++)
        {
            Assert.Equal(x[i] > 0 ? x[i] : 0.1f * x[i], y[i]);
            Assert.Equal(x[i] > 0 ? dy[i] : 0.1f * dy[i], dx[i]);
        }

        Kernels.SigmoidForward(y, x);
        Kernels.SigmoidBackward(dx, dy, x);
        for (int i = 0; i < length; i++)
        {
            double s = 1 / (1 + Math.Exp(-x[i]));
            AssertNear(s, y[i], 1);
            AssertNear(dy[i] * s * (1 - s), dx[i], 1);
        }

        Kernels.TanhForward(y, x);
        Kernels.TanhBackward(dx, dy, x);
        for (int i = 0; i < length; i++)
        {
            double t = Math.Tanh(x[i]);
            AssertNear(t, y[i], 1);
            AssertNear(dy[i] * (1 - t * t), dx[i], 1);
        }

        Kernels.GeluForward(y, x);
        for (int i = 0; i < length; i++)
        {
            AssertNear(0.5 * x[i] * (1 + Reference.SpecialFunctions.Erf(x[i] / Math.Sqrt(2))), y[i], 1);
        }
    }

    [Fact]
    public void Gelu_keeps_its_relative_accuracy_far_in_the_negative_tail()
    {
        float[] x = [-5f, -7f, -9f];
        var y = new float[3];
        Kernels.GeluForward(y, x);
        for (int i = 0; i < 3; i++)
        {
            double expected = 0.5 * x[i] * Reference.SpecialFunctions.Erfc(-x[i] / Math.Sqrt(2));
            Assert.True(Math.Abs(y[i] - expected) <= 1e-5 * Math.Abs(expected), $"GELU({x[i]}) = {y[i]}, expected {expected}");
        }
    }

    [Fact]
    public void Softmax_does_not_overflow_and_sums_to_one()
    {
        float[] x = [1000f, 1001f, 1002f, -5f, 0f, 5f];
        var y = new float[6];
        Kernels.SoftmaxForward(y, x, 2, 3, 1);
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(1f, y[0] + y[1] + y[2], 1e-6f);
        Assert.Equal(1f, y[3] + y[4] + y[5], 1e-6f);
        Assert.Equal(Math.Exp(-2) / (1 + Math.Exp(-1) + Math.Exp(-2)), y[0], 1e-6);
    }

    [Fact]
    public void Kernels_reject_wrong_lengths_and_overlapping_buffers()
    {
        var buffer = new float[32];
        ArgumentException e = Assert.Throws<ArgumentException>(() => Kernels.LinearForward(new float[5], new float[6], new float[6], default, 2, 3, 2));
        Assert.Contains("output must hold 4 floats, but it holds 5", e.Message);
        e = Assert.Throws<ArgumentException>(() => Kernels.ReluForward(buffer.AsSpan(0, 16), buffer.AsSpan(8, 16)));
        Assert.Contains("overlaps", e.Message);
        e = Assert.Throws<ArgumentException>(() => Kernels.ReluBackward(new float[4], new float[4], new float[3]));
        Assert.Contains("holds 3 floats, but the destination holds 4", e.Message);
        e = Assert.Throws<ArgumentException>(() => Kernels.LinearReluForward(new float[5], new float[6], new float[6], default, 2, 3, 2));
        Assert.Contains("output must hold 4 floats, but it holds 5", e.Message);
        // The input is read after the input gradient is written (weight gradient, ReLU mask): they must not share memory.
        e = Assert.Throws<ArgumentException>(() => Kernels.LinearBackwardThroughRelu(buffer.AsSpan(0, 6), new float[6], default, new float[4],
            buffer.AsSpan(2, 6), new float[6], 2, 3, 2));
        Assert.Contains("inputGrad overlaps outputGrad, input or weight", e.Message);
        e = Assert.Throws<ArgumentException>(() => Kernels.LinearBackward(buffer.AsSpan(0, 6), new float[6], default, new float[4],
            buffer.AsSpan(2, 6), new float[6], 2, 3, 2));
        Assert.Contains("inputGrad overlaps outputGrad, input or weight", e.Message);
    }

    private static void AssertNear(double expected, float actual, int terms) =>
        Assert.True(Math.Abs(actual - expected) <= 1e-6 * Math.Sqrt(terms) * (1 + Math.Abs(expected)) + 2e-6,
            $"expected {expected}, got {actual}");
}
