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

    [Theory]
    [InlineData(2, 6, 41, 2, 2)]  // 20 outputs a row: a full vector and a partial one, an odd column left out
    [InlineData(3, 9, 10, 3, 2)]  // 5 outputs a row (one vector, its second half unused), windows 3 rows high
    [InlineData(1, 4, 28, 2, 2)]  // LeNet's first pooling: 14 outputs a row
    [InlineData(2, 4, 36, 2, 2)]  // exactly 16 outputs a row
    [InlineData(2, 6, 12, 3, 3)]  // not 2 wide: the general tiling path
    public void Tiling_average_pooling_matches_naive_loops(int channels, int height, int width, int kernelH, int kernelW)
    {
        const int batch = 3;
        var g = new Pool2dGeometry(channels, height, width, height / kernelH, width / kernelW, kernelH, kernelW, kernelH, kernelW);
        float[] x = NetworkCases.RandomFloats(batch * g.InputSize, 5), dy = NetworkCases.RandomFloats(batch * g.OutputSize, 6);
        var y = new float[batch * g.OutputSize];
        float[] dx = Enumerable.Repeat(float.NaN, batch * g.InputSize).ToArray(); // every element must be written
        Kernels.AvgPool2dForward(y, x, batch, g, countIncludePad: true, divisorOverride: 0);
        Kernels.AvgPool2dBackward(dx, dy, batch, g, countIncludePad: true, divisorOverride: 0);
        int area = kernelH * kernelW;
        for (int plane = 0; plane < batch * channels; plane++)
        {
            for (int h = 0; h < height; h++)
            {
                for (int w = 0; w < width; w++)
                {
                    int oh = h / kernelH, ow = w / kernelW;
                    bool covered = oh < g.OutHeight && ow < g.OutWidth;
                    float expected = covered ? dy[(plane * g.OutHeight + oh) * g.OutWidth + ow] / area : 0f;
                    Assert.Equal(expected, dx[(plane * height + h) * width + w], 1e-6);
                }
            }
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                for (int ow = 0; ow < g.OutWidth; ow++)
                {
                    double sum = 0;
                    for (int kh = 0; kh < kernelH; kh++)
                    {
                        for (int kw = 0; kw < kernelW; kw++) sum += x[(plane * height + oh * kernelH + kh) * width + ow * kernelW + kw];
                    }
                    Assert.Equal(sum / area, y[(plane * g.OutHeight + oh) * g.OutWidth + ow], 1e-6);
                }
            }
        }
    }
}
