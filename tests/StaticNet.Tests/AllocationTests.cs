using System;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

public class AllocationTests
{
    [Fact]
    public void Forward_and_Backward_allocate_nothing_once_warm()
    {
        var net = new FashionMlp(16, 1); // in training mode, so dropout draws masks too
        float[] input = NetworkCases.RandomFloats(16 * 784, 1);
        var output = new float[160];
        float[] outputGrad = NetworkCases.RandomFloats(160, 2);
        var inputGrad = new float[16 * 784];
        void Step()
        {
            net.ZeroGrad();
            net.Forward(input, output);
            net.Backward(outputGrad);
            net.Backward(outputGrad, inputGrad);
            net.Forward(input.AsSpan(0, 784), output.AsSpan(0, 10));
        }
        for (int i = 0; i < 3; i++) Step();

        // The least over a few rounds: the JIT may still allocate while it recompiles hot methods in the background.
        long least = long.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++) Step();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, least);
    }
}
