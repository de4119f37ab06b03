using System;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

/// <summary>Bad calls at run time: a clear exception with expected and actual numbers, never an out-of-range access.</summary>
public class RuntimeValidationTests
{
    [Fact]
    public void Input_length_must_be_a_multiple_of_the_input_size()
    {
        var net = new FashionMlp(4);
        var e = Assert.Throws<ArgumentException>(() => net.Forward(new float[785], new float[10]));
        Assert.Equal("input", e.ParamName);
        Assert.StartsWith("input holds 785 floats, which is not a multiple of the input size 784.", e.Message);
    }

    [Fact]
    public void Batch_may_not_exceed_the_largest_batch()
    {
        var net = new FashionMlp(4);
        var e = Assert.Throws<ArgumentException>(() => net.Forward(new float[5 * 784], new float[50]));
        Assert.StartsWith("input holds a batch of 5 samples, but this network was created for at most 4.", e.Message);
    }

    [Fact]
    public void Output_must_match_the_batch()
    {
        var net = new FashionMlp(4);
        var e = Assert.Throws<ArgumentException>(() => net.Forward(new float[2 * 784], new float[10]));
        Assert.StartsWith("output must hold 20 floats (2 samples of 10), but it holds 10.", e.Message);
    }

    [Fact]
    public void Empty_input_is_rejected()
    {
        var net = new FashionMlp(4);
        var e = Assert.Throws<ArgumentException>(() => net.Forward([], []));
        Assert.StartsWith("input is empty: expected a multiple of the input size 784, from 1 to 4 samples.", e.Message);
    }

    [Fact]
    public void Backward_needs_a_forward_first()
    {
        var net = new FashionMlp(4);
        var e = Assert.Throws<InvalidOperationException>(() => net.Backward(new float[10]));
        Assert.Equal("Backward needs a preceding Forward: there are no saved activations.", e.Message);

        // A Forward that failed its checks leaves nothing to differentiate either.
        Assert.Throws<ArgumentException>(() => net.Forward(new float[784], new float[3]));
        Assert.Throws<InvalidOperationException>(() => net.Backward(new float[10]));
    }

    [Fact]
    public void Gradient_lengths_must_match_the_last_forward()
    {
        var net = new FashionMlp(4);
        net.Forward(new float[3 * 784], new float[30]);
        var e = Assert.Throws<ArgumentException>(() => net.Backward(new float[10]));
        Assert.StartsWith("outputGrad must hold 30 floats (3 samples of 10, as the last Forward), but it holds 10.", e.Message);
        e = Assert.Throws<ArgumentException>(() => net.Backward(new float[30], new float[784]));
        Assert.StartsWith("inputGrad must hold 2352 floats (3 samples of 784), but it holds 784.", e.Message);
    }

    [Fact]
    public void Largest_batch_must_be_positive_and_fit_in_memory()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new FashionMlp(0));
        Assert.StartsWith("The largest batch must be at least 1.", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => new FashionMlp(int.MaxValue));
        Assert.Contains("more than an array can hold", e.Message);
    }
}
