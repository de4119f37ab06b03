using System;
using System.Collections.Generic;

namespace StaticNet;

/// <summary>The module of a [Conv2d] layer (torch.nn.Conv2d): weight [out, in / groups, kH, kW], bias [out].</summary>
public sealed class Conv2d : Module
{
    private readonly List<(string, Parameter)> _parameters;
    private readonly string _padding;

    /// <summary>Created by generated code over the network's arenas; <paramref name="padding"/> is how the declaration gave it, for <see cref="Module.ToString"/>.</summary>
    public Conv2d(Conv2dGeometry geometry, string padding, Parameter weight, Parameter? bias)
    {
        geometry.Validate();
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(padding);
        int[] shape = [geometry.OutChannels, geometry.GroupInChannels, geometry.KernelH, geometry.KernelW];
        if (!System.Linq.Enumerable.SequenceEqual(weight.Shape, shape))
        {
            throw new ArgumentException($"Conv2d weight must have shape [{string.Join(", ", shape)}], but it has {weight}.", nameof(weight));
        }
        if (bias is not null && (bias.Shape.Count != 1 || bias.Shape[0] != geometry.OutChannels))
        {
            throw new ArgumentException($"Conv2d bias must have shape [{geometry.OutChannels}], but it has {bias}.", nameof(bias));
        }
        Geometry = geometry;
        Weight = weight;
        Bias = bias;
        _padding = padding;
        _parameters = bias is null ? [("weight", weight)] : [("weight", weight), ("bias", bias)];
    }

    /// <summary>Channels, planes, kernel, stride, padding, dilation and groups.</summary>
    public Conv2dGeometry Geometry { get; }

    /// <summary>in_channels.</summary>
    public int InChannels => Geometry.InChannels;

    /// <summary>out_channels.</summary>
    public int OutChannels => Geometry.OutChannels;

    /// <summary>The weight, shape [out_channels, in_channels / groups, kH, kW].</summary>
    public Parameter Weight { get; }

    /// <summary>The bias, shape [out_channels], or null when the layer was declared with Bias = false.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    protected override IReadOnlyList<(string Name, Parameter Parameter)> LocalParameters() => _parameters;

    /// <summary>PyTorch's default: kaiming_uniform_(weight, a=sqrt(5)) and the bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).</summary>
    public override void ResetParameters(RandomGenerator generator)
    {
        Init.KaimingUniform(Weight, a: MathF.Sqrt(5f), generator: generator);
        float bound = 1f / MathF.Sqrt(Geometry.PatchSize);
        if (Bias is not null) Init.Uniform(Bias, -bound, bound, generator);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr()
    {
        Conv2dGeometry g = Geometry;
        string text = $"{g.InChannels}, {g.OutChannels}, kernel_size=({g.KernelH}, {g.KernelW}), stride=({g.StrideH}, {g.StrideW})";
        if (_padding != "(0, 0)") text += ", padding=" + _padding;
        if (g.DilationH != 1 || g.DilationW != 1) text += $", dilation=({g.DilationH}, {g.DilationW})";
        if (g.Groups != 1) text += $", groups={g.Groups}";
        return Bias is null ? text + ", bias=False" : text;
    }
}

/// <summary>The module of a [MaxPool2d] layer (torch.nn.MaxPool2d).</summary>
public sealed class MaxPool2d(Pool2dGeometry geometry, bool ceilMode) : Module
{
    /// <summary>Channels, planes, window, stride, padding and dilation.</summary>
    public Pool2dGeometry Geometry { get; } = geometry;

    /// <summary>Whether the output size was rounded up.</summary>
    public bool CeilMode { get; } = ceilMode;

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"kernel_size={Pair(Geometry.KernelH, Geometry.KernelW)}, stride={Pair(Geometry.StrideH, Geometry.StrideW)}, padding={Pair(Geometry.PadTop, Geometry.PadLeft)}, " +
        $"dilation={Pair(Geometry.DilationH, Geometry.DilationW)}, ceil_mode={PythonRepr.Bool(CeilMode)}";

    internal static string Pair(int a, int b) => a == b ? a.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"({a}, {b})";
}

/// <summary>The module of an [AvgPool2d] layer (torch.nn.AvgPool2d).</summary>
public sealed class AvgPool2d(Pool2dGeometry geometry, bool ceilMode, bool countIncludePad, int divisorOverride) : Module
{
    /// <summary>Channels, planes, window, stride and padding.</summary>
    public Pool2dGeometry Geometry { get; } = geometry;

    /// <summary>Whether the output size was rounded up.</summary>
    public bool CeilMode { get; } = ceilMode;

    /// <summary>Whether padded positions count in the divisor.</summary>
    public bool CountIncludePad { get; } = countIncludePad;

    /// <summary>The fixed divisor, or 0 for none.</summary>
    public int DivisorOverride { get; } = divisorOverride;

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"kernel_size={MaxPool2d.Pair(Geometry.KernelH, Geometry.KernelW)}, stride={MaxPool2d.Pair(Geometry.StrideH, Geometry.StrideW)}, padding={MaxPool2d.Pair(Geometry.PadTop, Geometry.PadLeft)}";
}

/// <summary>The module of an [AdaptiveAvgPool2d] layer (torch.nn.AdaptiveAvgPool2d).</summary>
public sealed class AdaptiveAvgPool2d(int outputH, int outputW) : Module
{
    /// <summary>The output's height.</summary>
    public int OutputH { get; } = outputH;

    /// <summary>The output's width.</summary>
    public int OutputW { get; } = outputW;

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size=({OutputH}, {OutputW})";
}

/// <summary>The module of an [AdaptiveMaxPool2d] layer (torch.nn.AdaptiveMaxPool2d).</summary>
public sealed class AdaptiveMaxPool2d(int outputH, int outputW) : Module
{
    /// <summary>The output's height.</summary>
    public int OutputH { get; } = outputH;

    /// <summary>The output's width.</summary>
    public int OutputW { get; } = outputW;

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size=({OutputH}, {OutputW})";
}
