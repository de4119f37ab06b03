using System;
using System.Collections.Generic;

namespace StaticNet;

/// <summary>
/// What <see cref="Conv1d"/> and <see cref="Conv2d"/> share (PyTorch's _ConvNd): the geometry (a Conv1d's has height 1),
/// the weight and bias, and PyTorch's default initialisation.
/// </summary>
public abstract class ConvNd : Module
{
    private readonly List<(string, Parameter)> _parameters;

    private protected ConvNd(Conv2dGeometry geometry, string padding, Parameter weight, Parameter? bias, int[] weightShape)
    {
        geometry.Validate();
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(padding);
        string kind = GetType().Name;
        if (!System.Linq.Enumerable.SequenceEqual(weight.Shape, weightShape))
        {
            throw new ArgumentException($"{kind} weight must have shape [{string.Join(", ", weightShape)}], but it has {weight}.", nameof(weight));
        }
        if (bias is not null && (bias.Shape.Count != 1 || bias.Shape[0] != geometry.OutChannels))
        {
            throw new ArgumentException($"{kind} bias must have shape [{geometry.OutChannels}], but it has {bias}.", nameof(bias));
        }
        Geometry = geometry;
        Weight = weight;
        Bias = bias;
        Padding = padding;
        _parameters = bias is null ? [("weight", weight)] : [("weight", weight), ("bias", bias)];
    }

    /// <summary>Channels, planes, kernel, stride, padding, dilation and groups (for a Conv1d: height 1, the length as the width).</summary>
    public Conv2dGeometry Geometry { get; }

    /// <summary>in_channels.</summary>
    public int InChannels => Geometry.InChannels;

    /// <summary>out_channels.</summary>
    public int OutChannels => Geometry.OutChannels;

    /// <summary>The weight, shape [out_channels, in_channels / groups, kernel...].</summary>
    public Parameter Weight { get; }

    /// <summary>The bias, shape [out_channels], or null when the layer was declared with Bias = false.</summary>
    public Parameter? Bias { get; }

    /// <summary>The padding as the declaration gave it and PyTorch's repr shows it: <c>(2, 2)</c>, <c>(1,)</c> or <c>same</c>.</summary>
    private protected string Padding { get; }

    /// <inheritdoc/>
    protected override IReadOnlyList<(string Name, Parameter Parameter)> LocalParameters() => _parameters;

    /// <summary>PyTorch's default: kaiming_uniform_(weight, a=sqrt(5)) and the bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).</summary>
    public override void ResetParameters(RandomGenerator generator)
    {
        Init.KaimingUniform(Weight, a: MathF.Sqrt(5f), generator: generator);
        float bound = 1f / MathF.Sqrt(Geometry.PatchSize);
        if (Bias is not null) Init.Uniform(Bias, -bound, bound, generator);
    }

    /// <summary>PyTorch's repr after the channels, given the per-axis values as it prints them (<c>(3, 3)</c> or <c>(3,)</c>).</summary>
    private protected string Repr(string kernel, string stride, string dilation, string noPadding, string noDilation)
    {
        string text = $"{InChannels}, {OutChannels}, kernel_size={kernel}, stride={stride}";
        if (Padding != noPadding) text += ", padding=" + Padding;
        if (dilation != noDilation) text += ", dilation=" + dilation;
        if (Geometry.Groups != 1) text += $", groups={Geometry.Groups}";
        return Bias is null ? text + ", bias=False" : text;
    }
}

/// <summary>The module of a [Conv2d] layer (torch.nn.Conv2d): weight [out, in / groups, kH, kW], bias [out].</summary>
public sealed class Conv2d : ConvNd
{
    /// <summary>Created by generated code over the network's arenas; <paramref name="padding"/> is how the declaration gave it, for <see cref="Module.ToString"/>.</summary>
    public Conv2d(Conv2dGeometry geometry, string padding, Parameter weight, Parameter? bias)
        : base(geometry, padding, weight, bias, [geometry.OutChannels, geometry.GroupInChannels, geometry.KernelH, geometry.KernelW])
    {
    }

    /// <inheritdoc/>
    protected override string ExtraRepr()
    {
        Conv2dGeometry g = Geometry;
        return Repr($"({g.KernelH}, {g.KernelW})", $"({g.StrideH}, {g.StrideW})", $"({g.DilationH}, {g.DilationW})", "(0, 0)", "(1, 1)");
    }
}

/// <summary>
/// The module of a [Conv1d] layer (torch.nn.Conv1d): weight [out, in / groups, k], bias [out]. It runs as a Conv2d of
/// height 1: <see cref="ConvNd.Geometry"/> has InHeight, OutHeight and KernelH 1, and the length as the width.
/// </summary>
public sealed class Conv1d : ConvNd
{
    /// <summary>Created by generated code over the network's arenas; <paramref name="padding"/> is how the declaration gave it, for <see cref="Module.ToString"/>.</summary>
    public Conv1d(Conv2dGeometry geometry, string padding, Parameter weight, Parameter? bias)
        : base(OneDimensional(geometry), padding, weight, bias, [geometry.OutChannels, geometry.GroupInChannels, geometry.KernelW])
    {
    }

    /// <summary>kernel_size.</summary>
    public int KernelSize => Geometry.KernelW;

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        Repr($"({Geometry.KernelW},)", $"({Geometry.StrideW},)", $"({Geometry.DilationW},)", "(0,)", "(1,)");

    private static Conv2dGeometry OneDimensional(Conv2dGeometry g) =>
        g.InHeight == 1 && g.OutHeight == 1 && g.KernelH == 1 && g.StrideH == 1 && g.PadTop == 0 && g.DilationH == 1
            ? g
            : throw new ArgumentException($"A Conv1d's geometry must have height 1 (input, output and kernel), stride, dilation 1 and no padding in height, but it is {g}.", "geometry");
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

/// <summary>
/// The module of a [MaxPool1d] layer (torch.nn.MaxPool1d). It runs as a MaxPool2d of height 1: <see cref="Geometry"/>
/// has height 1 and the length as the width.
/// </summary>
public sealed class MaxPool1d(Pool2dGeometry geometry, bool ceilMode) : Module
{
    /// <summary>Channels, length (as the width), window, stride, padding and dilation.</summary>
    public Pool2dGeometry Geometry { get; } = Pool1d.Check(geometry);

    /// <summary>Whether the output size was rounded up.</summary>
    public bool CeilMode { get; } = ceilMode;

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"kernel_size={Geometry.KernelW}, stride={Geometry.StrideW}, padding={Geometry.PadLeft}, dilation={Geometry.DilationW}, ceil_mode={PythonRepr.Bool(CeilMode)}";
}

/// <summary>
/// The module of an [AvgPool1d] layer (torch.nn.AvgPool1d). It runs as an AvgPool2d of height 1: <see cref="Geometry"/>
/// has height 1 and the length as the width.
/// </summary>
public sealed class AvgPool1d(Pool2dGeometry geometry, bool ceilMode, bool countIncludePad) : Module
{
    /// <summary>Channels, length (as the width), window, stride and padding.</summary>
    public Pool2dGeometry Geometry { get; } = Pool1d.Check(geometry);

    /// <summary>Whether the output size was rounded up.</summary>
    public bool CeilMode { get; } = ceilMode;

    /// <summary>Whether padded positions count in the divisor.</summary>
    public bool CountIncludePad { get; } = countIncludePad;

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size=({Geometry.KernelW},), stride=({Geometry.StrideW},), padding=({Geometry.PadLeft},)";
}

internal static class Pool1d
{
    /// <summary>The geometry, if it is one of height 1 (input, output, window, stride and dilation 1, no padding in height).</summary>
    public static Pool2dGeometry Check(Pool2dGeometry g)
    {
        g.Validate();
        return g.InHeight == 1 && g.OutHeight == 1 && g.KernelH == 1 && g.StrideH == 1 && g.PadTop == 0 && g.DilationH == 1
            ? g
            : throw new ArgumentException($"A 1-d pooling's geometry must have height 1 (input, output and window), stride, dilation 1 and no padding in height, but it is {g}.", "geometry");
    }
}

/// <summary>The module of an [AdaptiveAvgPool1d] layer (torch.nn.AdaptiveAvgPool1d); it runs as an AdaptiveAvgPool2d of height 1.</summary>
public sealed class AdaptiveAvgPool1d(int outputSize) : Module
{
    /// <summary>The output's length.</summary>
    public int OutputSize { get; } = outputSize;

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size={OutputSize}";
}

/// <summary>The module of an [AdaptiveMaxPool1d] layer (torch.nn.AdaptiveMaxPool1d); it runs as an AdaptiveMaxPool2d of height 1.</summary>
public sealed class AdaptiveMaxPool1d(int outputSize) : Module
{
    /// <summary>The output's length.</summary>
    public int OutputSize { get; } = outputSize;

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size={OutputSize}";
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
