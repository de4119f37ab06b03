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
}
