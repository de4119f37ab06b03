using System;
using System.Linq;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

/// <summary>Freezing parameters (torch's requires_grad_(False)): backward skips their gradients and optimizers leave them alone.</summary>
public class FreezeTests
{
    private static float[] Input(int floats, int seed) => NetworkCases.RandomFloats(floats, seed);

    [Fact]
    public void A_frozen_layer_gets_no_gradient_and_the_others_get_the_same_as_without_freezing()
    {
        const int batch = 5;
        float[] x = Input(batch * 6, 1), dy = Input(batch * 3, 2);
        var full = new FreezeNet(batch, 3);
        full.Forward(x, new float[batch * 3]);
        full.Backward(dy);

        var net = new FreezeNet(batch, 3);
        Module[] layers = net.Children().ToArray();
        layers[0].RequiresGrad(false);
        Assert.False(((Linear)layers[0]).Weight.RequiresGrad);
        Assert.False(((Linear)layers[0]).Bias!.RequiresGrad);
        Assert.Contains("requires_grad=False", ((Linear)layers[0]).Weight.ToString());
        // A sentinel in the frozen gradient: backward must neither write nor accumulate into it.
        ((Linear)layers[0]).Weight.Grad.Fill(7f);
        net.Forward(x, new float[batch * 3]);
        net.Backward(dy);
        Assert.All(((Linear)layers[0]).Weight.Grad.ToArray(), g => Assert.Equal(7f, g));
        Assert.All(((Linear)layers[0]).Bias!.Grad.ToArray(), g => Assert.Equal(0f, g));
        (string, Parameter)[] named = net.NamedParameters().ToArray(), fullNamed = full.NamedParameters().ToArray();
        for (int i = 2; i < named.Length; i++) Assert.Equal(fullNamed[i].Item2.Grad.ToArray(), named[i].Item2.Grad.ToArray());

        // The input gradient, when asked for, still flows through the frozen layer.
        var dxFull = new float[batch * 6];
        var dxFrozen = new float[batch * 6];
        full.Forward(x, new float[batch * 3]);
        full.Backward(dy, dxFull);
        net.Forward(x, new float[batch * 3]);
        net.Backward(dy, dxFrozen);
        Assert.Equal(dxFull, dxFrozen);
    }

    [Fact]
    public void Backward_skips_the_layers_below_the_last_trainable_one()
    {
        // Only the head trains: the Tanh, the second Linear's input gradient, the ReLU and the first Linear are not needed.
        const int batch = 4;
        var net = new FreezeNet(batch, 5);
        net.RequiresGrad(false);
        Module[] layers = net.Children().ToArray();
        layers[4].RequiresGrad(true);
        float[] x = Input(batch * 6, 3), dy = Input(batch * 3, 4);
        net.Forward(x, new float[batch * 3]);
        net.ActivationGradsForTests.Fill(float.NaN);
        net.Backward(dy);
        // Activation gradients: the input (6), then the outputs of the five layers (8, 8, 8, 8, 3) per sample.
        Span<float> grads = net.ActivationGradsForTests;
        int start = batch * (6 + 8 + 8 + 8 + 8);
        Assert.All(grads[..start].ToArray(), g => Assert.True(float.IsNaN(g))); // nothing below the head was written
        Assert.All(grads.Slice(start, batch * 3).ToArray(), g => Assert.False(float.IsNaN(g)));
        Assert.All(((Linear)layers[4]).Weight.Grad.ToArray(), g => Assert.False(float.IsNaN(g)));
        Assert.All(((Linear)layers[2]).Weight.Grad.ToArray(), g => Assert.Equal(0f, g));

        // Unfreezing the middle Linear brings the Tanh's gradient back, and only that far.
        layers[2].RequiresGrad(true);
        net.ActivationGradsForTests.Fill(float.NaN);
        net.Forward(x, new float[batch * 3]);
        net.Backward(dy);
        grads = net.ActivationGradsForTests;
        Assert.All(grads[..(batch * (6 + 8 + 8))].ToArray(), g => Assert.True(float.IsNaN(g)));
        Assert.All(grads.Slice(batch * (6 + 8 + 8 + 8), batch * 8).ToArray(), g => Assert.False(float.IsNaN(g)));
        Assert.Contains(((Linear)layers[2]).Weight.Grad.ToArray(), g => g != 0);
    }

    [Fact]
    public void Convolution_and_batch_norm_honour_freezing_per_parameter()
    {
        const int batch = 3;
        float[] x = Input(batch * 72, 5), dy = Input(batch * 4, 6);
        var full = new FreezeConvNet(batch, 7);
        var net = new FreezeConvNet(batch, 7);
        var conv = (Conv2d)net.Children().First();
        var norm = (BatchNorm2d)net.Children().ElementAt(1);
        conv.Weight.RequiresGrad = false;
        norm.Weight!.RequiresGrad = false; // the bias alone trains
        foreach (FreezeConvNet n in new[] { full, net })
        {
            n.Forward(x, new float[batch * 4]);
            n.Backward(dy);
        }
        Assert.All(conv.Weight.Grad.ToArray(), g => Assert.Equal(0f, g));
        Assert.All(norm.Weight.Grad.ToArray(), g => Assert.Equal(0f, g));
        (string Name, Parameter P)[] a = full.NamedParameters().ToArray(), b = net.NamedParameters().ToArray();
        foreach (string name in new[] { "0.bias", "1.bias", "4.weight", "4.bias" })
        {
            float[] expected = a.Single(p => p.Name == name).P.Grad.ToArray(), actual = b.Single(p => p.Name == name).P.Grad.ToArray();
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-6f);
            Assert.Contains(actual, g => g != 0);
        }
    }

    [Fact]
    public void Optimizers_leave_frozen_parameters_and_their_state_alone()
    {
        const int batch = 4;
        float[] x = Input(batch * 6, 7), dy = Input(batch * 3, 8);
        foreach (Func<FreezeNet, Optimizer> make in new Func<FreezeNet, Optimizer>[]
        {
            n => new SGD(n.Parameters(), 0.1f, momentum: 0.9f, weightDecay: 0.01f),
            n => new Adam(n.Parameters(), 0.01f, weightDecay: 0.01f),
            n => new RMSprop(n.Parameters(), 0.01f, momentum: 0.5f),
        })
        {
            // One network with its first layer frozen, against one whose optimizer only ever saw the trainable parameters.
            var frozen = new FreezeNet(batch, 9);
            var reference = new FreezeNet(batch, 9);
            Optimizer optimizer = make(frozen);
            frozen.Children().First().RequiresGrad(false);
            Parameter[] trainable = reference.Parameters().Skip(2).ToArray();
            Optimizer referenceOptimizer = make(reference) switch
            {
                SGD => new SGD(trainable, 0.1f, momentum: 0.9f, weightDecay: 0.01f),
                Adam => new Adam(trainable, 0.01f, weightDecay: 0.01f),
                _ => new RMSprop(trainable, 0.01f, momentum: 0.5f),
            };
            float[] before = frozen.Parameters().First().Data.ToArray();
            for (int step = 0; step < 3; step++)
            {
                foreach ((FreezeNet n, Optimizer o) in new[] { (frozen, optimizer), (reference, referenceOptimizer) })
                {
                    o.ZeroGrad();
                    n.Forward(x, new float[batch * 3]);
                    n.Backward(dy);
                    o.Step();
                }
            }
            Assert.Equal(before, frozen.Parameters().First().Data.ToArray());
            Assert.Equal(reference.ParameterArena.ToArray(), frozen.ParameterArena.ToArray());
            Assert.NotEqual(before, frozen.Parameters().ElementAt(2).Data.ToArray().Take(before.Length).ToArray());
        }
    }
}
