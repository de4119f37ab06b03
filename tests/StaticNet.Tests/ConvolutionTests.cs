using System;
using System.IO;
using System.Linq;
using StaticNet.Tests.Networks;
using StaticNet.Tests.Reference;
using Xunit;

namespace StaticNet.Tests;

/// <summary>Convolutions, pooling and residual shortcuts against PyTorch (fixtures from tests/fixtures/make_fixtures.py).</summary>
public class ConvolutionTests
{
    private static readonly Fixture Torch = new("convolution.safetensors");

    public static TheoryData<string> TorchNames => new(
        "small_lenet", "strided_groups", "same_padding", "rectangular", "adaptive", "depthwise", "tiny_resnet", "lenet", "lenet_bn");

    private static Network Create(string name) => name switch
    {
        "small_lenet" => new SmallLeNet(6),
        "strided_groups" => new StridedGroups(6),
        "same_padding" => new SamePadding(6),
        "rectangular" => new Rectangular(6),
        "adaptive" => new Adaptive(6),
        "depthwise" => new Depthwise(6),
        "tiny_resnet" => new TinyResNet(6),
        "lenet" => new D2lLeNet(6),
        "lenet_bn" => new D2lLeNetBatchNorm(6),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(TorchNames))]
    public void Training_steps_and_eval_match_pytorch(string name) => TrainedParity.Check(Torch, name, Create(name));

    [Fact]
    public void A_pytorch_resnet_state_dict_loads_strictly_and_reproduces_pytorch()
    {
        var net = new TinyResNet(5);
        Assert.True(Safetensors.Load(net, Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny_resnet_state_dict.safetensors")).IsExactMatch);
        net.Eval();
        var output = new float[15];
        net.Forward(Torch.Floats("tiny_resnet.eval.input"), output);
        TrainedParity.AssertClose(Torch.Floats("tiny_resnet.eval.output"), output, "tiny_resnet loaded from PyTorch's state_dict");
        Assert.Equal(
        [
            "0.block.0.weight", "0.block.1.weight", "0.block.1.bias", "0.block.1.running_mean", "0.block.1.running_var", "0.block.1.num_batches_tracked",
            "0.block.3.weight", "0.block.4.weight", "0.block.4.bias", "0.block.4.running_mean", "0.block.4.running_var", "0.block.4.num_batches_tracked",
            "0.shortcut.0.weight", "0.shortcut.1.weight", "0.shortcut.1.bias", "0.shortcut.1.running_mean", "0.shortcut.1.running_var", "0.shortcut.1.num_batches_tracked",
            "2.block.0.weight", "2.block.0.bias", "2.block.2.weight", "2.block.2.bias", "5.weight", "5.bias",
        ], net.StateDict().Select(t => t.Name));
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        // Batches large enough that the convolutions split their chunks of samples across threads.
        (float[], float[], float[], float[]) Run(int threads)
        {
            int saved = Threading.NumThreads;
            Threading.NumThreads = threads;
            try
            {
                var lenet = new D2lLeNetBatchNorm(96, 3);
                float[] input = NetworkCases.RandomFloats(96 * 784, 1);
                var output = new float[960];
                var inputGrad = new float[input.Length];
                lenet.Forward(input, output);
                lenet.Backward(NetworkCases.RandomFloats(960, 2), inputGrad);
                var resnet = new TinyResNet(200, 4);
                float[] x = NetworkCases.RandomFloats(200 * 72, 5);
                var y = new float[600];
                resnet.Forward(x, y);
                resnet.Backward(NetworkCases.RandomFloats(600, 6));
                return (output, lenet.GradientArena.ToArray().Concat(inputGrad).ToArray(), y, resnet.GradientArena.ToArray());
            }
            finally
            {
                Threading.NumThreads = saved;
            }
        }
        var one = Run(1);
        foreach (int threads in new[] { 2, 3 })
        {
            var many = Run(threads);
            Assert.Equal(one.Item1, many.Item1);
            Assert.Equal(one.Item2, many.Item2);
            Assert.Equal(one.Item3, many.Item3);
            Assert.Equal(one.Item4, many.Item4);
        }
    }

    [Fact]
    public void Convolution_networks_allocate_nothing_once_warm()
    {
        foreach (Network net in new Network[] { new D2lLeNetBatchNorm(32, 1), new TinyResNet(32, 1), new SamePadding(32, 1), new Adaptive(32, 1) })
        {
            float[] input = NetworkCases.RandomFloats(32 * net.SampleInputSize, 1);
            var output = new float[32 * net.SampleOutputSize];
            float[] outputGrad = NetworkCases.RandomFloats(output.Length, 2);
            var inputGrad = new float[input.Length];
            void Step()
            {
                net.ZeroGrad();
                net.Forward(input, output);
                net.Backward(outputGrad, inputGrad);
            }
            for (int i = 0; i < 3; i++) Step();
            long least = long.MaxValue;
            for (int round = 0; round < 5; round++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 10; i++) Step();
                least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            Assert.Equal(0, least);
        }
    }
}
