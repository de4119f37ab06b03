using System;
using System.Linq;
using StaticNet.Tests.Reference;
using Xunit;

namespace StaticNet.Tests;

public class GradientTests
{
    [Theory]
    [MemberData(nameof(NetworkCases.Names), MemberType = typeof(NetworkCases))]
    public void Backward_matches_finite_differences(string name)
    {
        NetworkCases.Case c = NetworkCases.All[name];
        Network net = c.Create(3, 11);
        net.Eval();
        GradientCheck.Run(net, c.InputShape, batch: 3, name);
    }

    [Fact]
    public void Backward_accumulates_until_ZeroGrad()
    {
        var net = new Networks.TanhSigmoidNet(2, 1);
        float[] input = NetworkCases.RandomFloats(10, 1);
        var output = new float[6];
        float[] r = NetworkCases.RandomFloats(6, 2);
        net.Forward(input, output);
        net.ZeroGrad();
        net.Backward(r);
        float[] once = net.GradientArena.ToArray();
        Assert.Contains(once, g => g != 0);
        net.Backward(r);
        float[] twice = net.GradientArena.ToArray();
        for (int i = 0; i < once.Length; i++) Assert.Equal(2 * once[i], twice[i], 1e-6f);
        net.ZeroGrad();
        Assert.All(net.GradientArena.ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void Backward_without_input_gradient_gives_the_same_parameter_gradients()
    {
        var net = new Networks.ActivationFirst(4, 3);
        float[] input = NetworkCases.RandomFloats(16, 4);
        var output = new float[12];
        float[] r = NetworkCases.RandomFloats(12, 5);
        net.Forward(input, output);
        net.ZeroGrad();
        net.Backward(r, new float[16]);
        float[] withInput = net.GradientArena.ToArray();
        net.ZeroGrad();
        net.Backward(r);
        Assert.Equal(withInput, net.GradientArena.ToArray());
    }
}
