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
}
