using System;
using System.Linq;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

public class DropoutTests
{
    [Fact]
    public void Training_zeroes_about_p_of_the_elements_and_scales_the_rest()
    {
        var net = new DropoutOnly(4, 3);
        float[] input = NetworkCases.RandomFloats(4000, 1).Select(v => v + 2f).ToArray(); // never zero
        var output = new float[4000];
        net.Forward(input, output);

        int zeros = output.Count(v => v == 0);
        Assert.InRange(zeros, 1100, 1300); // p = 0.3 of 4000, within about four standard deviations
        for (int i = 0; i < output.Length; i++)
        {
            if (output[i] != 0) Assert.Equal(input[i] / 0.7f, output[i], 1e-5f);
        }

        // The gradient goes through the same mask: d output / d input is 0 or 1 / (1 - p).
        var inputGrad = new float[4000];
        net.Backward(Enumerable.Repeat(1f, 4000).ToArray(), inputGrad);
        for (int i = 0; i < output.Length; i++) Assert.Equal(output[i] == 0 ? 0f : 1f / 0.7f, inputGrad[i], 1e-6f);
    }

    [Fact]
    public void P_of_one_zeroes_everything_in_training_and_nothing_in_eval()
    {
        // PyTorch allows p = 1 (input times zero: NaN stays NaN); it was once refused here.
        var net = new DropoutAll(2, 5);
        float[] input = [1, -2, 3, float.NaN, 5, 6, 7, 8, 9, 10, 11, 12];
        var output = new float[12];
        net.Forward(input, output);
        for (int i = 0; i < 12; i++) Assert.Equal(i == 3 ? float.NaN : 0f, output[i]);
        var inputGrad = new float[12];
        net.Backward(Enumerable.Repeat(1f, 12).ToArray(), inputGrad);
        Assert.All(inputGrad, g => Assert.Equal(0f, g));
        net.Eval();
        net.Forward(input, output);
        Assert.Equal(input, output);
        Assert.Equal(1f, new Dropout(1).P);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1.01f));
    }

    [Fact]
    public void Eval_passes_the_input_through()
    {
        var net = new DropoutOnly(1);
        net.Eval();
        float[] input = NetworkCases.RandomFloats(1000, 2);
        var output = new float[1000];
        net.Forward(input, output);
        Assert.Equal(input, output);
        var inputGrad = new float[1000];
        net.Backward(input, inputGrad);
        Assert.Equal(input, inputGrad);
    }

    [Fact]
    public void An_inactive_dropout_between_layers_changes_nothing_forward_or_backward()
    {
        // In eval mode the generated code reads the dropout's input in place of its output (no copy either way); the
        // same network without the dropout must give the same bits.
        var plain = new MlpRelu(5, 3);
        var withDropout = new MlpDropout(5, 3);
        Parameter[] from = plain.Parameters().ToArray(), to = withDropout.Parameters().ToArray();
        Assert.Equal(from.Length, to.Length);
        for (int i = 0; i < from.Length; i++) from[i].Data.CopyTo(to[i].Data);
        withDropout.Eval();
        float[] input = NetworkCases.RandomFloats(5 * 6, 21), outputGrad = NetworkCases.RandomFloats(5 * 4, 22);
        (float[] Output, float[] InputGrad, float[] Grads) Run(Network net)
        {
            var output = new float[5 * 4];
            var inputGrad = new float[5 * 6];
            net.Forward(input, output);
            net.ZeroGrad();
            net.Backward(outputGrad, inputGrad);
            return (output, inputGrad, net.GradientArena.ToArray());
        }
        var expected = Run(plain);
        var actual = Run(withDropout);
        Assert.Equal(expected.Output, actual.Output);
        Assert.Equal(expected.InputGrad, actual.InputGrad);
        Assert.Equal(expected.Grads, actual.Grads);
        Assert.Contains(expected.Grads, v => v != 0);
    }

    [Fact]
    public void Masks_follow_the_seed_and_change_from_call_to_call()
    {
        float[] input = Enumerable.Repeat(1f, 1000).ToArray();
        float[] Run(DropoutOnly net)
        {
            var output = new float[1000];
            net.Forward(input, output);
            return output;
        }
        DropoutOnly a = new(1, 7), b = new(1, 7), c = new(1, 8);
        float[] first = Run(a);
        Assert.Equal(first, Run(b));
        Assert.NotEqual(first, Run(c));
        Assert.NotEqual(first, Run(a));
    }

    [Fact]
    public void Backward_uses_the_mode_of_the_last_forward()
    {
        var net = new DropoutOnly(1, 4);
        float[] input = Enumerable.Repeat(1f, 1000).ToArray();
        var output = new float[1000];
        net.Forward(input, output);
        net.Eval(); // switching mode after Forward must not change what Backward does
        var inputGrad = new float[1000];
        net.Backward(input, inputGrad);
        Assert.Equal(output, inputGrad);
    }
}
