using System;
using System.Linq;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

/// <summary>Gradient clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_ (PyTorch 1.13).</summary>
public class ClipTests
{
    // Two parameters, [3, 4] and [5], with gradients sin(0.7 i) * 3 and cos(1.3 i) * 2; max_norm 1.5.
    private static Parameter[] Make()
    {
        var a = new Parameter(new float[12], new float[12], 0, 3, 4);
        var b = new Parameter(new float[5], new float[5], 0, 5);
        for (int i = 0; i < 12; i++) a.Grad[i] = (float)Math.Sin(i * 0.7f) * 3;
        for (int i = 0; i < 5; i++) b.Grad[i] = (float)Math.Cos(i * 1.3f) * 2;
        return [a, b];
    }

    [Theory]
    [InlineData(2f, 7.955729007720947, 0.36438885f, 0.55739999f, 0.3770867f, 0.10087027f)]
    [InlineData(1f, 28.61540985107422, 0.10130832f, 0.15496977f, 0.10483861f, 0.02804421f)]
    [InlineData(3f, 5.356106758117676, 0.54124743f, 0.82793778f, 0.56010824f, 0.14982833f)]
    [InlineData(float.PositiveInfinity, 2.9645044803619385, 0.97789645f, 1.49587297f, 1.01197314f, 0.27070168f)]
    public void Clip_grad_norm_matches_pytorch(float normType, double norm, float a1, float a2, float b0, float b1)
    {
        Parameter[] ps = Make();
        float total = Gradients.ClipGradNorm(ps, 1.5f, normType);
        Assert.Equal(norm, total, norm * 1e-6);
        Assert.Equal(0f, ps[0].Grad[0]);
        Assert.Equal(a1, ps[0].Grad[1], 1e-6f);
        Assert.Equal(a2, ps[0].Grad[2], 1e-6f);
        Assert.Equal(b0, ps[1].Grad[0], 1e-6f);
        Assert.Equal(b1, ps[1].Grad[1], 1e-6f);
    }

    [Fact]
    public void Clip_grad_norm_leaves_small_gradients_and_frozen_parameters_alone()
    {
        Parameter[] ps = Make();
        float[] before = ps[0].Grad.ToArray();
        Assert.Equal(7.955729f, Gradients.ClipGradNorm(ps, 100f), 1e-5f);
        Assert.Equal(before, ps[0].Grad.ToArray()); // factor capped at 1 (1 x g is g)

        ps = Make();
        ps[1].RequiresGrad = false;
        float[] frozen = ps[1].Grad.ToArray();
        float onlyA = Gradients.ClipGradNorm(ps, 1f);
        Assert.Equal(Math.Sqrt(Make()[0].Grad.ToArray().Sum(g => (double)g * g)), onlyA, 1e-5);
        Assert.Equal(frozen, ps[1].Grad.ToArray());
        double clipped = Math.Sqrt(ps[0].Grad.ToArray().Sum(g => (double)g * g));
        Assert.Equal(1.0, clipped, 1e-5);
    }

    [Fact]
    public void Clip_grad_norm_with_a_nan_gradient_gives_nan_or_throws_when_asked()
    {
        Parameter[] ps = Make();
        ps[1].Grad[3] = float.NaN;
        Assert.True(float.IsNaN(Gradients.ClipGradNorm(ps, 1f)));
        Assert.True(float.IsNaN(ps[0].Grad[1]));
        ps = Make();
        ps[0].Grad[3] = float.PositiveInfinity;
        var e = Assert.Throws<ArithmeticException>(() => Gradients.ClipGradNorm(ps, 1f, errorIfNonfinite: true));
        Assert.Contains("Infinity", e.Message);
        Assert.Equal((float)Math.Sin(2 * 0.7f) * 3, ps[0].Grad[2]); // nothing scaled before the error
        Assert.Throws<ArgumentOutOfRangeException>(() => Gradients.ClipGradNorm(ps, -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gradients.ClipGradNorm(ps, 1f, 0f));
    }

    [Fact]
    public void Clip_grad_value_matches_pytorch()
    {
        Parameter[] ps = Make();
        Gradients.ClipGradValue(ps, 1f);
        float[] expected = [0f, 1f, 1f, 1f, 1f, -1f, -1f, -1f, -1f, 0.050440847873687744f, 1f, 1f];
        for (int i = 0; i < 12; i++) Assert.Equal(expected[i], ps[0].Grad[i], 1e-6f);
        ps[1].Grad[0] = float.NaN;
        Gradients.ClipGradValue(ps, 0.5f);
        Assert.True(float.IsNaN(ps[1].Grad[0]));
        Assert.All(ps[1].Grad[1..].ToArray(), g => Assert.InRange(g, -0.5f, 0.5f));
    }

    [Fact]
    public void The_trainer_clips_before_each_step()
    {
        // With beforeStep clipping to a tiny norm, one SGD step moves the parameters by at most lr x maxNorm in total.
        var net = new XorNet(4, 1);
        Parameter[] parameters = net.Parameters().ToArray();
        float[] before = net.ParameterArena.ToArray();
        var loader = new DataLoader<int>(new Dataset<int>([0, 0, 0, 1, 1, 0, 1, 1], [0, 1, 1, 0], 2), 4);
        float norm = float.NaN;
        Trainer.TrainEpoch(net, loader, new CrossEntropyLoss(), new SGD(parameters, lr: 1f), beforeStep: () => norm = Gradients.ClipGradNorm(parameters, 1e-3f));
        Assert.True(norm > 1e-2f, $"the gradient norm {norm} should exceed the clip");
        double moved = Math.Sqrt(before.Zip(net.ParameterArena.ToArray(), (x, y) => (double)(x - y) * (x - y)).Sum());
        Assert.Equal(1e-3, moved, 1e-6);
    }
}
