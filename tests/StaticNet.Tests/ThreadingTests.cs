using System;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

/// <summary>Splitting the products across threads changes nothing: outputs and gradients are identical bit for bit.</summary>
public class ThreadingTests
{
    private static (float[] Output, float[] Gradients, float[] InputGrad) Run(int threads)
    {
        int saved = Threading.NumThreads;
        Threading.NumThreads = threads;
        try
        {
            var net = new FashionMlpPlain(256, 5);
            float[] input = NetworkCases.RandomFloats(256 * 784, 1);
            var output = new float[2560];
            var inputGrad = new float[input.Length];
            net.Forward(input, output);
            net.Backward(NetworkCases.RandomFloats(2560, 2), inputGrad);
            return (output, net.GradientArena.ToArray(), inputGrad);
        }
        finally
        {
            Threading.NumThreads = saved;
        }
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        var one = Run(1);
        foreach (int threads in new[] { 2, 3, 4 })
        {
            var many = Run(threads);
            Assert.Equal(one.Output, many.Output);
            Assert.Equal(one.Gradients, many.Gradients);
            Assert.Equal(one.InputGrad, many.InputGrad);
        }
    }

    [Fact]
    public void Thread_count_is_validated()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Threading.NumThreads = 0);
        Assert.StartsWith("The thread count must be from 1 to 256.", e.Message);
    }
}
