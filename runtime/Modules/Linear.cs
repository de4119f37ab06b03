using System;
using System.Collections.Generic;

namespace StaticNet;

/// <summary>The module of a [Linear] layer (torch.nn.Linear): y = x W^T + b over the last dimension.</summary>
public sealed class Linear : Module
{
    private readonly List<(string, Parameter)> _parameters;

    /// <summary>Created by generated code over the network's arenas.</summary>
    public Linear(int inFeatures, int outFeatures, Parameter weight, Parameter? bias)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Shape.Count != 2 || weight.Shape[0] != outFeatures || weight.Shape[1] != inFeatures)
        {
            throw new ArgumentException($"Linear weight must have shape [{outFeatures}, {inFeatures}], but it has {weight}.", nameof(weight));
        }
        if (bias is not null && (bias.Shape.Count != 1 || bias.Shape[0] != outFeatures))
        {
            throw new ArgumentException($"Linear bias must have shape [{outFeatures}], but it has {bias}.", nameof(bias));
        }
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = weight;
        Bias = bias;
        _parameters = bias is null ? [("weight", weight)] : [("weight", weight), ("bias", bias)];
    }

    /// <summary>in_features: the size of the last input dimension.</summary>
    public int InFeatures { get; }

    /// <summary>out_features: the size of the last output dimension.</summary>
    public int OutFeatures { get; }

    /// <summary>The weight, shape [out_features, in_features].</summary>
    public Parameter Weight { get; }

    /// <summary>The bias, shape [out_features], or null when the layer was declared with Bias = false.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    protected override IReadOnlyList<(string Name, Parameter Parameter)> LocalParameters() => _parameters;

    /// <summary>
    /// PyTorch's default: kaiming_uniform_(weight, a=sqrt(5)), which is U(-1/sqrt(in), 1/sqrt(in)),
    /// and the bias from the same range.
    /// </summary>
    public override void ResetParameters(RandomGenerator generator)
    {
        Init.KaimingUniform(Weight, a: MathF.Sqrt(5f), generator: generator);
        float bound = 1f / MathF.Sqrt(InFeatures);
        if (Bias is not null) Init.Uniform(Bias, -bound, bound, generator);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"in_features={InFeatures}, out_features={OutFeatures}, bias={(Bias is null ? "False" : "True")}";
}
