using System;
using Xunit;

namespace StaticNet.Tests;

/// <summary>Network.Infer: Forward without the copy of the input and without anything kept for Backward (torch.inference_mode()).</summary>
public class InferTests
{
    [Theory]
    [MemberData(nameof(NetworkCases.Names), MemberType = typeof(NetworkCases))]
    public void Infer_gives_Forwards_bits_and_leaves_the_input_as_it_was(string name)
    {
        NetworkCases.Case c = NetworkCases.All[name];
        Network net = c.Create(8, 42);
        net.Eval();
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
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                    $"{name}, batch {batch}, output {i}: Infer gave {actual[i]}, Forward {expected[i]}");
            }
            for (int i = 0; i < input.Length; i++)
            {
                Assert.True(BitConverter.SingleToInt32Bits(original[i]) == BitConverter.SingleToInt32Bits(input[i]), $"{name}: Infer changed input {i}");
            }
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
