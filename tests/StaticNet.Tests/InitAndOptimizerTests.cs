using System;
using System.Linq;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

public class InitAndOptimizerTests
{
    private static Parameter Matrix(int rows, int columns) => new(new float[rows * columns], new float[rows * columns], 0, rows, columns);

    private static (double Mean, double Std, float Max) Moments(Parameter p)
    {
        float[] v = p.Data.ToArray();
        double mean = v.Average(x => (double)x);
        return (mean, Math.Sqrt(v.Average(x => (x - mean) * (x - mean))), v.Max(MathF.Abs));
    }

    [Fact]
    public void Gains_match_torch_calculate_gain()
    {
        Assert.Equal(1f, Init.CalculateGain(Nonlinearity.Linear));
        Assert.Equal(1f, Init.CalculateGain(Nonlinearity.Sigmoid));
        Assert.Equal(5f / 3f, Init.CalculateGain(Nonlinearity.Tanh));
        Assert.Equal(MathF.Sqrt(2), Init.CalculateGain(Nonlinearity.ReLU));
        Assert.Equal(1.4141428f, Init.CalculateGain(Nonlinearity.LeakyReLU), 1e-6f); // torch: sqrt(2 / (1 + 0.01^2))
        Assert.Equal(1.3867504f, Init.CalculateGain(Nonlinearity.LeakyReLU, 0.2f), 1e-6f);
        Assert.Equal(0.75f, Init.CalculateGain(Nonlinearity.SELU));
    }

    [Fact]
    public void Xavier_and_kaiming_have_torch_spreads()
    {
        Parameter p = Matrix(300, 500); // fan_in 500, fan_out 300
        var g = new RandomGenerator(1);

        Init.XavierUniform(p, gain: 2f, generator: g);
        float bound = 2f * MathF.Sqrt(6f / 800);
        Assert.InRange(Moments(p).Max, 0.99f * bound, bound);
        Assert.InRange(Moments(p).Std, 0.99 * bound / Math.Sqrt(3), 1.01 * bound / Math.Sqrt(3));

        Init.XavierNormal(p, generator: g);
        Assert.InRange(Moments(p).Std, 0.99 * Math.Sqrt(2.0 / 800), 1.01 * Math.Sqrt(2.0 / 800));

        Init.KaimingUniform(p, mode: FanMode.FanOut, nonlinearity: Nonlinearity.ReLU, generator: g);
        Assert.InRange(Moments(p).Max, 0.99f * MathF.Sqrt(6f / 300), MathF.Sqrt(6f / 300));

        Init.KaimingNormal(p, generator: g); // torch's defaults: a = 0, fan_in, leaky_relu
        Assert.InRange(Moments(p).Std, 0.99 * Init.CalculateGain(Nonlinearity.LeakyReLU, 0) / Math.Sqrt(500), 1.01 * Init.CalculateGain(Nonlinearity.LeakyReLU, 0) / Math.Sqrt(500));
        Assert.InRange(Moments(p).Mean, -1e-3, 1e-3);

        var bias = new Parameter(new float[4], new float[4], 0, 4);
        var e = Assert.Throws<ArgumentException>(() => Init.XavierUniform(bias));
        Assert.StartsWith("Fan in and fan out need a parameter of at least 2 dimensions, but Parameter([4]) has 1.", e.Message);
    }

    [Fact]
    public void Same_generator_seed_gives_the_same_values()
    {
        Parameter a = Matrix(10, 10), b = Matrix(10, 10);
        Init.Normal(a, 0, 1, new RandomGenerator(9));
        Init.Normal(b, 0, 1, new RandomGenerator(9));
        Assert.Equal(a.Data.ToArray(), b.Data.ToArray());
    }

    [Fact]
    public void Optimizers_reject_bad_arguments_with_the_value()
    {
        var net = new XorNet(1);
        var e = Assert.Throws<ArgumentException>(() => new SGD([], 0.1f));
        Assert.StartsWith("The optimizer got an empty parameter list", e.Message);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => new SGD(net.Parameters(), -0.1f));
        Assert.StartsWith("The learning rate lr must be finite and not negative, but it is -0.1.", range.Message);
        Assert.Equal("lr", range.ParamName); // the constructor's and PyTorch's name, not the setter's 'value'
        range = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(net.Parameters(), float.NaN));
        Assert.StartsWith("The learning rate lr must be finite and not negative, but it is NaN.", range.Message);
        range = Assert.Throws<ArgumentOutOfRangeException>(() => new SGD(net.Parameters(), 0.1f).LearningRate = -1);
        Assert.Equal("lr", range.ParamName);
        range = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(net.Parameters(), beta1: 1f));
        Assert.StartsWith("beta1 must be in [0, 1), but it is 1.", range.Message);
        e = Assert.Throws<ArgumentException>(() => new SGD(net.Parameters(), 0.1f, nesterov: true));
        Assert.StartsWith("Nesterov momentum requires a momentum above 0 and zero dampening", e.Message);
        Assert.Throws<ArgumentException>(() => new SGD(net.Parameters().Concat(net.Parameters()), 0.1f));
    }

    [Fact]
    public void Optimizer_step_allocates_nothing_and_ZeroGrad_clears_the_gradients()
    {
        var net = new FashionMlp(1);
        Optimizer[] optimizers =
        [
            new SGD(net.Parameters(), 0.1f, momentum: 0.9f, nesterov: true, weightDecay: 1e-4f),
            new Adam(net.Parameters(), amsgrad: true, weightDecay: 1e-4f),
            new AdamW(net.Parameters()),
            new RMSprop(net.Parameters(), momentum: 0.5f, centered: true),
        ];
        net.GradientArena.Fill(0.01f);
        foreach (Optimizer o in optimizers) o.Step();
        long least = long.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            foreach (Optimizer o in optimizers) o.Step();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, least);
        optimizers[0].ZeroGrad();
        Assert.All(net.GradientArena.ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void Schedules_follow_their_torch_formulas()
    {
        var net = new XorNet(1);
        var optimizer = new SGD(net.Parameters(), lr: 1f);
        var cosine = new CosineAnnealingLR(optimizer, tMax: 4, etaMin: 0.2f);
        Assert.Equal([1f, 0.88284f, 0.6f, 0.31716f, 0.2f], Enumerable.Range(0, 5).Select(e => MathF.Round(cosine.LearningRateAt(e), 5)));
        var lambda = new LambdaLR(optimizer, epoch => 1f / (epoch + 1));
        lambda.Step();
        lambda.Step();
        Assert.Equal(1f / 3, optimizer.LearningRate, 1e-7f);
        Assert.Equal(2, lambda.Epoch);
    }
}
