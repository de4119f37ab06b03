using System;
using System.Linq;
using Xunit;

namespace StaticNet.Tests;

/// <summary>Network.Infer: Forward without the copy of the input and without anything kept for Backward (torch.inference_mode()).</summary>
public class InferTests
{
    /// <summary>Whether some Conv2d (Conv1d) is followed by a BatchNorm2d (BatchNorm1d) with running statistics, which Infer folds in eval mode.</summary>
    private static bool FoldsConvolutions(Network net)
    {
        Module[] layers = net.Modules().Where(m => !m.NamedChildren().Any()).ToArray();
        return layers.Zip(layers.Skip(1)).Any(pair => pair.First is ConvNd && pair.Second is BatchNorm { RunningMean: not null });
    }

    [Theory]
    [MemberData(nameof(NetworkCases.Names), MemberType = typeof(NetworkCases))]
    public void Infer_gives_Forwards_output_and_leaves_the_input_as_it_was(string name)
    {
        NetworkCases.Case c = NetworkCases.All[name];
        Network net = c.Create(8, 42);
        net.Eval();
        // Bit for bit, except where a Conv2d and the BatchNorm2d after it run as one folded convolution: within float rounding.
        bool folds = FoldsConvolutions(net);
        foreach (int batch in new[] { 1, 3, 8 })
        {
            float[] input = NetworkCases.RandomFloats(batch * net.SampleInputSize, seed: batch, scale: 2f);
            float[] original = (float[])input.Clone();
            var expected = new float[batch * net.SampleOutputSize];
            var actual = new float[expected.Length];
            net.Forward(input, expected);
            actual.AsSpan().Fill(float.NaN);
            net.Infer(input, actual);
            for (int i = 0; i < expected.Length; i++)
            {
                bool close = folds
                    ? Math.Abs(actual[i] - expected[i]) <= 1e-5f * (1 + Math.Abs(expected[i]))
                    : BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]);
                Assert.True(close, $"{name}, batch {batch}, output {i}: Infer gave {actual[i]}, Forward {expected[i]}");
            }
            for (int i = 0; i < input.Length; i++)
            {
                Assert.True(BitConverter.SingleToInt32Bits(original[i]) == BitConverter.SingleToInt32Bits(input[i]), $"{name}: Infer changed input {i}");
            }
        }
    }

    [Fact]
    public void Lenet_under_Infer_skips_the_sigmoid_derivative_and_gives_Forwards_bits()
    {
        // Infer runs d2l's LeNet's convolution, Sigmoid and pooling without the derivative Backward would read: the lane
        // kernel (a whole group of 16 samples and a partial one), the direct kernel with the Sigmoid and pooling from its
        // registers (the first layer) and the per-sample path (the second layer's short rows at a small batch).
        var net = new Networks.D2lLeNet(17, 5);
        foreach (int threads in new[] { 1, 2 })
        {
            foreach (int batch in new[] { 1, 3, 17 })
            {
                float[] input = NetworkCases.RandomFloats(batch * net.SampleInputSize, seed: batch, scale: 2f);
                var expected = new float[batch * net.SampleOutputSize];
                var actual = new float[expected.Length];
                NetworkCases.OnThreads(threads, () =>
                {
                    net.Forward(input, expected);
                    net.Infer(input, actual);
                });
                Assert.Equal(expected, actual);
                Assert.Contains(expected, v => v != 0);
            }
        }
    }

    [Fact]
    public void Some_test_networks_fold_and_none_does_in_training_mode()
    {
        // The folded path is exercised by the cases above (LeNet with batch norm, the ResNets), and training mode never folds.
        Assert.Contains(NetworkCases.All.Values, c => FoldsConvolutions(c.Create(2, 1)));
        var net = new Networks.TinyResNet(4, 3);
        NetworkCases.RandomizeNormalization(net, 3);
        float[] input = NetworkCases.RandomFloats(4 * net.SampleInputSize, 5);
        var expected = new float[4 * net.SampleOutputSize];
        var actual = new float[expected.Length];
        net.Forward(input, expected);
        net.Infer(input, actual);
        Assert.Equal(expected, actual); // batch statistics: both run the layers as they are
    }

    [Theory]
    [InlineData(true, true, false)]
    [InlineData(false, true, false)]
    [InlineData(true, false, false)]
    [InlineData(false, false, true)]
    public void The_folded_convolution_matches_the_convolution_then_the_normalisation(bool convBias, bool affine, bool relu)
    {
        const int batch = 3;
        var g = new Conv2dGeometry(3, 9, 7, 5, 9, 7, 3, 3, 1, 1, 1, 1);
        float[] x = NetworkCases.RandomFloats(batch * g.InputSize, 1), w = NetworkCases.RandomFloats(g.WeightSize, 2);
        float[] bias = convBias ? NetworkCases.RandomFloats(5, 3) : [];
        float[] gamma = affine ? NetworkCases.RandomFloats(5, 4, 2f) : [], beta = affine ? NetworkCases.RandomFloats(5, 5) : [];
        float[] mean = NetworkCases.RandomFloats(5, 6), variance = NetworkCases.RandomFloats(5, 7).Select(v => 0.05f + Math.Abs(v)).ToArray();
        var conv = new float[batch * g.OutputSize];
        var expected = new float[conv.Length];
        Kernels.Conv2dForward(conv, x, w, bias, batch, g);
        Kernels.BatchNormForward(expected, new float[5], new float[5], conv, gamma, beta, mean, variance, batch, 5, g.OutputPlane, 1e-5f, 0f, batchStatistics: false);
        if (relu) Kernels.ReluForward(expected, (float[])expected.Clone());
        var actual = new float[conv.Length];
        Kernels.Conv2dBatchNormInference(actual, x, w, bias, gamma, beta, mean, variance, 1e-5f, batch, g, relu);
        for (int i = 0; i < actual.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 2e-6f * (1 + Math.Abs(expected[i])), $"output {i}: folded {actual[i]}, separate {expected[i]}");
        }
    }

    [Fact]
    public void Infer_does_not_read_the_input_slot_a_previous_forward_left()
    {
        // Infer reads the caller's input, not the copy the last Forward saved: different inputs give different outputs.
        var net = new Networks.FashionMlp(4, 1);
        net.Eval();
        float[] first = NetworkCases.RandomFloats(2 * 784, 1), second = NetworkCases.RandomFloats(2 * 784, 2);
        var viaForward = new float[20];
        var viaInfer = new float[20];
        net.Forward(second, viaForward);
        net.Forward(first, new float[20]);
        net.Infer(second, viaInfer);
        Assert.Equal(viaForward, viaInfer);
    }

    [Fact]
    public void Backward_after_Infer_is_refused_until_the_next_Forward()
    {
        var net = new Networks.FashionMlp(4, 1);
        float[] input = NetworkCases.RandomFloats(2 * 784, 1);
        var output = new float[20];
        net.Forward(input, output);
        net.Infer(input, output);
        var e = Assert.Throws<InvalidOperationException>(() => net.Backward(new float[20]));
        Assert.Equal("Backward needs a preceding Forward: the last pass was Infer, which keeps nothing for Backward " +
            "(as under torch.inference_mode()). Call Forward instead.", e.Message);
        Assert.Equal(0, net.LastBatch);
        net.Forward(input, output);
        net.Backward(new float[20]);
        Assert.Equal(2, net.LastBatch);
        Assert.Throws<ArgumentException>(() => net.Infer([], []));
        e = Assert.Throws<InvalidOperationException>(() => net.Backward(new float[20]));
        Assert.Equal("Backward needs a preceding Forward: there are no saved activations.", e.Message);
    }

    [Fact]
    public void Infer_refuses_an_output_that_overlaps_the_input()
    {
        var net = new Networks.NoParameters(4, 1);
        var buffer = new float[4 * net.SampleInputSize];
        var e = Assert.Throws<ArgumentException>(() => net.Infer(buffer, buffer.AsSpan(0, net.SampleOutputSize)));
        Assert.Equal("output", e.ParamName);
    }
}
