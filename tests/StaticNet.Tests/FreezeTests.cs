using System;
using System.IO;
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

/// <summary>
/// Step counts are per parameter, as torch's state[p]['step']: a parameter frozen for the first steps starts its own
/// count when unfrozen. Expected values from torch 1.13.
/// </summary>
public sealed class PerParameterStepTests : IDisposable
{
    // torch: lin = nn.Linear(3, 1), weight [[0.1, -0.2, 0.3]], bias [0.05]; for k in 1..4: weight.requires_grad_(k > 2),
    // weight.grad = [[0.5k, -0.25k, 0.125]] if k > 2 else None, bias.grad = [0.3 - 0.1k]; opt.step().
    private static readonly float[] AdamExpected = [-0.09973228722810745f, -0.000267714262008667f, 0.1000000461935997f, -0.24539345502853394f];
    private static readonly float[] SgdExpected = [-0.2849999964237213f, -0.007500003091990948f, 0.27000001072883606f, -0.027329998090863228f];

    private readonly string _dir = Directory.CreateTempSubdirectory("staticnet-steps-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static LinearRegression Net()
    {
        var net = new LinearRegression(1);
        var linear = (Linear)net.NamedChildren()[0].Module;
        new float[] { 0.1f, -0.2f, 0.3f }.CopyTo(linear.Weight.Data);
        linear.Bias!.Data[0] = 0.05f;
        return net;
    }

    /// <summary>Steps from..to (1-based) of the torch script: the weight frozen for steps 1 and 2.</summary>
    private static void Steps(LinearRegression net, Optimizer optimizer, int from, int to)
    {
        var linear = (Linear)net.NamedChildren()[0].Module;
        for (int k = from; k <= to; k++)
        {
            linear.Weight.RequiresGrad = k > 2;
            new float[] { 0.5f * k, -0.25f * k, 0.125f }.CopyTo(linear.Weight.Grad);
            linear.Bias!.Grad[0] = 0.3f - 0.1f * k;
            optimizer.Step();
        }
    }

    private static float[] Values(LinearRegression net) => [.. net.ParameterArena];

    public static TheoryData<string> Optimizers => new() { "Adam", "SGD" };

    private static Optimizer Create(string name, LinearRegression net) =>
        name == "Adam" ? new Adam(net.Parameters(), 0.1f) : new SGD(net.Parameters(), 0.1f, momentum: 0.9f, dampening: 0.5f);

    private static (LinearRegression Net, Optimizer Optimizer) Trained(string name, int steps)
    {
        LinearRegression net = Net();
        Optimizer optimizer = Create(name, net);
        Steps(net, optimizer, 1, steps);
        return (net, optimizer);
    }

    private static void AssertSteps(LinearRegression net, Optimizer optimizer, int weight, int bias)
    {
        var linear = (Linear)net.NamedChildren()[0].Module;
        Assert.Equal(weight, optimizer.StepCountOf(linear.Weight));
        Assert.Equal(bias, optimizer.StepCountOf(linear.Bias!));
    }

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void A_parameter_unfrozen_later_takes_its_own_first_step_as_in_torch(string name)
    {
        (LinearRegression net, Optimizer optimizer) = Trained(name, steps: 4);
        float[] expected = name == "Adam" ? AdamExpected : SgdExpected;
        float[] actual = Values(net);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-6f, $"{name}, value {i}: {actual[i]}, torch {expected[i]}");
        AssertSteps(net, optimizer, weight: 2, bias: 4);
        Assert.Equal(4, optimizer.StepCount);
    }

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void A_checkpoint_keeps_each_parameters_step_count(string name)
    {
        (LinearRegression net, Optimizer optimizer) = Trained(name, steps: 3);
        string path = Path.Combine(_dir, name + ".ckpt");
        Checkpoint.Save(path, net, optimizer, epoch: 1);

        LinearRegression resumed = Net();
        Optimizer resumedOptimizer = Create(name, resumed);
        Checkpoint.Load(path, resumed, resumedOptimizer);
        AssertSteps(resumed, resumedOptimizer, weight: 1, bias: 3);
        Steps(resumed, resumedOptimizer, 4, 4);
        Steps(net, optimizer, 4, 4);
        Assert.Equal(Values(net), Values(resumed));
    }
}
