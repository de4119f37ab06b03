using System;

namespace StaticNet;

/// <summary>
/// In-place initialisers for parameters, the counterparts of torch.nn.init. Each random one draws from its generator argument
/// when given, else from <see cref="RandomGenerator.Default"/>.
/// </summary>
public static class Init
{
    /// <summary>Fills with samples of U(a, b) (torch.nn.init.uniform_).</summary>
    public static void Uniform(Parameter parameter, float a = 0f, float b = 1f, RandomGenerator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (!(a <= b) || !float.IsFinite(a) || !float.IsFinite(b))
        {
            throw new ArgumentException($"Uniform needs finite bounds with a <= b, but a = {a} and b = {b}.");
        }
        RandomGenerator g = generator ?? RandomGenerator.Default;
        Span<float> data = parameter.Data;
        for (int i = 0; i < data.Length; i++) data[i] = a + (b - a) * g.NextFloat();
    }

    /// <summary>Fills with samples of N(mean, std^2) (torch.nn.init.normal_).</summary>
    public static void Normal(Parameter parameter, float mean = 0f, float std = 1f, RandomGenerator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (!(std >= 0) || !float.IsFinite(std) || !float.IsFinite(mean))
        {
            throw new ArgumentException($"Normal needs a finite mean and a finite std >= 0, but mean = {mean} and std = {std}.");
        }
        RandomGenerator g = generator ?? RandomGenerator.Default;
        Span<float> data = parameter.Data;
        for (int i = 0; i < data.Length; i++) data[i] = mean + std * g.NextNormal();
    }

    /// <summary>Fills with <paramref name="value"/> (torch.nn.init.constant_).</summary>
    public static void Constant(Parameter parameter, float value)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        parameter.Data.Fill(value);
    }

    /// <summary>Fills with zeros (torch.nn.init.zeros_).</summary>
    public static void Zeros(Parameter parameter) => Constant(parameter, 0f);

    /// <summary>Fills with ones (torch.nn.init.ones_).</summary>
    public static void Ones(Parameter parameter) => Constant(parameter, 1f);

    /// <summary>
    /// The recommended gain for a nonlinearity (torch.nn.init.calculate_gain): 1 for linear and sigmoid, 5/3 for tanh,
    /// sqrt(2) for ReLU, sqrt(2 / (1 + slope^2)) for leaky ReLU (slope 0.01 unless given), 3/4 for SELU.
    /// </summary>
    public static float CalculateGain(Nonlinearity nonlinearity, float? param = null) => nonlinearity switch
    {
        Nonlinearity.Linear or Nonlinearity.Sigmoid => 1f,
        Nonlinearity.Tanh => 5f / 3f,
        Nonlinearity.ReLU => MathF.Sqrt(2f),
        Nonlinearity.LeakyReLU => MathF.Sqrt(2f / (1f + (param ?? 0.01f) * (param ?? 0.01f))),
        Nonlinearity.SELU => 0.75f,
        _ => throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, "Unknown nonlinearity."),
    };

    /// <summary>U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out)) (torch.nn.init.xavier_uniform_).</summary>
    public static void XavierUniform(Parameter parameter, float gain = 1f, RandomGenerator? generator = null)
    {
        (int fanIn, int fanOut) = Fans(parameter);
        float bound = gain * MathF.Sqrt(6f / (fanIn + fanOut));
        Uniform(parameter, -bound, bound, generator);
    }

    /// <summary>N(0, std^2) with std = gain sqrt(2 / (fan_in + fan_out)) (torch.nn.init.xavier_normal_).</summary>
    public static void XavierNormal(Parameter parameter, float gain = 1f, RandomGenerator? generator = null)
    {
        (int fanIn, int fanOut) = Fans(parameter);
        Normal(parameter, 0f, gain * MathF.Sqrt(2f / (fanIn + fanOut)), generator);
    }

    /// <summary>
    /// U(-b, b) with b = gain sqrt(3 / fan), gain from <see cref="CalculateGain"/> with slope <paramref name="a"/>
    /// (torch.nn.init.kaiming_uniform_; its defaults: a = 0, fan_in, leaky_relu).
    /// </summary>
    public static void KaimingUniform(Parameter parameter, float a = 0f, FanMode mode = FanMode.FanIn,
        Nonlinearity nonlinearity = Nonlinearity.LeakyReLU, RandomGenerator? generator = null)
    {
        float bound = MathF.Sqrt(3f) * KaimingStd(parameter, a, mode, nonlinearity);
        Uniform(parameter, -bound, bound, generator);
    }

    /// <summary>N(0, std^2) with std = gain / sqrt(fan) (torch.nn.init.kaiming_normal_).</summary>
    public static void KaimingNormal(Parameter parameter, float a = 0f, FanMode mode = FanMode.FanIn,
        Nonlinearity nonlinearity = Nonlinearity.LeakyReLU, RandomGenerator? generator = null) =>
        Normal(parameter, 0f, KaimingStd(parameter, a, mode, nonlinearity), generator);

    /// <summary>fan_in and fan_out as torch computes them: shape[1] and shape[0], times the product of any further dimensions.</summary>
    public static (int FanIn, int FanOut) Fans(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (parameter.Shape.Count < 2)
        {
            throw new ArgumentException($"Fan in and fan out need a parameter of at least 2 dimensions, but {parameter} has {parameter.Shape.Count}.", nameof(parameter));
        }
        int receptive = 1;
        for (int i = 2; i < parameter.Shape.Count; i++) receptive *= parameter.Shape[i];
        return (parameter.Shape[1] * receptive, parameter.Shape[0] * receptive);
    }

    private static float KaimingStd(Parameter parameter, float a, FanMode mode, Nonlinearity nonlinearity)
    {
        (int fanIn, int fanOut) = Fans(parameter);
        int fan = mode switch
        {
            FanMode.FanIn => fanIn,
            FanMode.FanOut => fanOut,
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown fan mode."),
        };
        return CalculateGain(nonlinearity, a) / MathF.Sqrt(fan);
    }
}

/// <summary>The nonlinearities torch.nn.init.calculate_gain knows.</summary>
public enum Nonlinearity
{
    /// <summary>'linear' (and the convolutions).</summary>
    Linear,

    /// <summary>'sigmoid'.</summary>
    Sigmoid,

    /// <summary>'tanh'.</summary>
    Tanh,

    /// <summary>'relu'.</summary>
    ReLU,

    /// <summary>'leaky_relu'.</summary>
    LeakyReLU,

    /// <summary>'selu'.</summary>
    SELU,
}

/// <summary>Whether Kaiming initialisation keeps the forward ('fan_in') or the backward ('fan_out') variance.</summary>
public enum FanMode
{
    /// <summary>'fan_in'.</summary>
    FanIn,

    /// <summary>'fan_out'.</summary>
    FanOut,
}
