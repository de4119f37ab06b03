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
        AssertNoAllocation(net, batchOfOne: true);
    }

    [Fact]
    public void Normalisation_layers_allocate_nothing_in_training_or_eval_mode()
    {
        AssertNoAllocation(new NormComposite(16, 1), batchOfOne: false);
        AssertNoAllocation(new Bn2d(16, 1), batchOfOne: true);
        var eval = new NormComposite(16, 1);
        eval.Eval();
        AssertNoAllocation(eval, batchOfOne: true);
    }

    private static void AssertNoAllocation(Network net, bool batchOfOne)
    {
        int inputSize = net.SampleInputSize, outputSize = net.SampleOutputSize;
        float[] input = NetworkCases.RandomFloats(16 * inputSize, 1);
        var output = new float[16 * outputSize];
        float[] outputGrad = NetworkCases.RandomFloats(16 * outputSize, 2);
        var inputGrad = new float[16 * inputSize];
        void Step()
        {
            net.ZeroGrad();
            net.Forward(input, output);
            net.Backward(outputGrad);
            net.Backward(outputGrad, inputGrad);
            if (batchOfOne) net.Forward(input.AsSpan(0, inputSize), output.AsSpan(0, outputSize));
            net.Infer(input, output);
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
