namespace StaticNet;

/// <summary>
/// What [Conv1d] and [Conv2d] share: out_channels positional (in_channels inferred from the shape that arrives, or
/// stated first and checked), the rest named as in PyTorch.
/// </summary>
public abstract class ConvNdAttribute : LayerAttribute
{
    private protected ConvNdAttribute(int inChannels, int outChannels) => (InChannels, OutChannels) = (inChannels, outChannels);

    /// <summary>The stated in_channels, or 0 when it is inferred.</summary>
    public int InChannels { get; }

    /// <summary>out_channels.</summary>
    public int OutChannels { get; }

    /// <summary>kernel_size (square for Conv2d). Required, unless a Conv2d gives KernelH and KernelW.</summary>
    public int KernelSize { get; set; }

    /// <summary>stride (1 by default).</summary>
    public int Stride { get; set; } = 1;

    /// <summary>padding: an int (0 by default), or "same" (stride 1 only) or "valid", as in PyTorch.</summary>
    public object? Padding { get; set; } = 0;

    /// <summary>dilation (1 by default).</summary>
    public int Dilation { get; set; } = 1;

    /// <summary>groups: in_channels and out_channels must both be divisible by it (1 by default).</summary>
    public int Groups { get; set; } = 1;

    /// <summary>Whether the layer has a bias (true by default).</summary>
    public bool Bias { get; set; } = true;
}

/// <summary>
/// torch.nn.Conv2d over [C, H, W] per sample (the arguments of <see cref="ConvNdAttribute"/>, and per-axis ones where
/// height and width differ). Weight [out, in / groups, kH, kW]; padding with zeros.
/// </summary>
public sealed class Conv2dAttribute : ConvNdAttribute
{
    /// <summary>A convolution whose in_channels is the channel count of the shape that arrives.</summary>
    public Conv2dAttribute(int outChannels) : base(0, outChannels)
    {
    }

    /// <summary>A convolution whose in_channels is stated, and checked against the shape that arrives at compile time.</summary>
    public Conv2dAttribute(int inChannels, int outChannels) : base(inChannels, outChannels)
    {
    }

    /// <summary>The kernel's height, when it differs from its width.</summary>
    public int KernelH { get; set; }

    /// <summary>The kernel's width, when it differs from its height.</summary>
    public int KernelW { get; set; }

    /// <summary>The vertical stride, when it differs from the horizontal one.</summary>
    public int StrideH { get; set; }

    /// <summary>The horizontal stride, when it differs from the vertical one.</summary>
    public int StrideW { get; set; }

    /// <summary>The vertical padding, when it differs from the horizontal one.</summary>
    public int PaddingH { get; set; }

    /// <summary>The horizontal padding, when it differs from the vertical one.</summary>
    public int PaddingW { get; set; }

    /// <summary>The vertical dilation, when it differs from the horizontal one.</summary>
    public int DilationH { get; set; }

    /// <summary>The horizontal dilation, when it differs from the vertical one.</summary>
    public int DilationW { get; set; }
}

/// <summary>
/// torch.nn.Conv1d over [C, L] per sample (the arguments of <see cref="ConvNdAttribute"/>). Weight [out, in / groups, k];
/// padding with zeros.
/// </summary>
public sealed class Conv1dAttribute : ConvNdAttribute
{
    /// <summary>A convolution whose in_channels is the channel count of the shape that arrives.</summary>
    public Conv1dAttribute(int outChannels) : base(0, outChannels)
    {
    }

    /// <summary>A convolution whose in_channels is stated, and checked against the shape that arrives at compile time.</summary>
    public Conv1dAttribute(int inChannels, int outChannels) : base(inChannels, outChannels)
    {
    }
}

/// <summary>torch.nn.MaxPool2d over [C, H, W] per sample: the largest value of each window (the first, on ties; NaN wins).</summary>
public sealed class MaxPool2dAttribute : LayerAttribute
{
    /// <summary>A square window.</summary>
    public MaxPool2dAttribute(int kernelSize) => (KernelH, KernelW) = (kernelSize, kernelSize);

    /// <summary>A window of <paramref name="kernelH"/> rows and <paramref name="kernelW"/> columns.</summary>
    public MaxPool2dAttribute(int kernelH, int kernelW) => (KernelH, KernelW) = (kernelH, kernelW);

    /// <summary>The window's height.</summary>
    public int KernelH { get; }

    /// <summary>The window's width.</summary>
    public int KernelW { get; }

    /// <summary>stride; the kernel size by default.</summary>
    public int Stride { get; set; }

    /// <summary>Implicit -infinity padding on each side, at most half the (dilated) window (0 by default).</summary>
    public int Padding { get; set; }

    /// <summary>dilation (1 by default).</summary>
    public int Dilation { get; set; } = 1;

    /// <summary>Whether the output size rounds up (a last window starting in the right padding is still dropped).</summary>
    public bool CeilMode { get; set; }
}

/// <summary>torch.nn.AvgPool2d over [C, H, W] per sample: the mean of each window, with PyTorch's divisor rules.</summary>
public sealed class AvgPool2dAttribute : LayerAttribute
{
    /// <summary>A square window.</summary>
    public AvgPool2dAttribute(int kernelSize) => (KernelH, KernelW) = (kernelSize, kernelSize);

    /// <summary>A window of <paramref name="kernelH"/> rows and <paramref name="kernelW"/> columns.</summary>
    public AvgPool2dAttribute(int kernelH, int kernelW) => (KernelH, KernelW) = (kernelH, kernelW);

    /// <summary>The window's height.</summary>
    public int KernelH { get; }

    /// <summary>The window's width.</summary>
    public int KernelW { get; }

    /// <summary>stride; the kernel size by default.</summary>
    public int Stride { get; set; }

    /// <summary>Implicit zero padding on each side, at most half the window (0 by default).</summary>
    public int Padding { get; set; }

    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; set; }

    /// <summary>Whether padded positions count in the divisor (true by default, as PyTorch).</summary>
    public bool CountIncludePad { get; set; } = true;

    /// <summary>A fixed divisor instead of the window's size; 0 (the default) for none.</summary>
    public int DivisorOverride { get; set; }
}

/// <summary>torch.nn.MaxPool1d over [C, L] per sample: the largest value of each window (the first, on ties; NaN wins).</summary>
public sealed class MaxPool1dAttribute(int kernelSize) : LayerAttribute
{
    /// <summary>The window's length.</summary>
    public int KernelSize { get; } = kernelSize;

    /// <summary>stride; the kernel size by default.</summary>
    public int Stride { get; set; }

    /// <summary>Implicit -infinity padding on each side, at most half the (dilated) window (0 by default).</summary>
    public int Padding { get; set; }

    /// <summary>dilation (1 by default).</summary>
    public int Dilation { get; set; } = 1;

    /// <summary>Whether the output size rounds up (a last window starting in the right padding is still dropped).</summary>
    public bool CeilMode { get; set; }
}

/// <summary>torch.nn.AvgPool1d over [C, L] per sample: the mean of each window, with PyTorch's divisor rules (it has no divisor_override).</summary>
public sealed class AvgPool1dAttribute(int kernelSize) : LayerAttribute
{
    /// <summary>The window's length.</summary>
    public int KernelSize { get; } = kernelSize;

    /// <summary>stride; the kernel size by default.</summary>
    public int Stride { get; set; }

    /// <summary>Implicit zero padding on each side, at most half the window (0 by default).</summary>
    public int Padding { get; set; }

    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; set; }

    /// <summary>Whether padded positions count in the divisor (true by default, as PyTorch).</summary>
    public bool CountIncludePad { get; set; } = true;
}

/// <summary>torch.nn.AdaptiveAvgPool1d over [C, L] per sample: the mean over PyTorch's bins so that the output is [C, outputSize]; 1 is global average pooling.</summary>
public sealed class AdaptiveAvgPool1dAttribute(int outputSize) : LayerAttribute
{
    /// <summary>The output's length.</summary>
    public int OutputSize { get; } = outputSize;
}

/// <summary>torch.nn.AdaptiveMaxPool1d over [C, L] per sample: the largest value over PyTorch's bins, so that the output is [C, outputSize].</summary>
public sealed class AdaptiveMaxPool1dAttribute(int outputSize) : LayerAttribute
{
    /// <summary>The output's length.</summary>
    public int OutputSize { get; } = outputSize;
}

/// <summary>torch.nn.AdaptiveAvgPool2d: the mean over PyTorch's bins so that the output is [C, outH, outW]; (1, 1) is global average pooling.</summary>
public sealed class AdaptiveAvgPool2dAttribute : LayerAttribute
{
    /// <summary>A square output.</summary>
    public AdaptiveAvgPool2dAttribute(int outputSize) => (OutputH, OutputW) = (outputSize, outputSize);

    /// <summary>An output of <paramref name="outputH"/> x <paramref name="outputW"/>.</summary>
    public AdaptiveAvgPool2dAttribute(int outputH, int outputW) => (OutputH, OutputW) = (outputH, outputW);

    /// <summary>The output's height.</summary>
    public int OutputH { get; }

    /// <summary>The output's width.</summary>
    public int OutputW { get; }
}

/// <summary>torch.nn.AdaptiveMaxPool2d: the largest value over PyTorch's bins, so that the output is [C, outH, outW].</summary>
public sealed class AdaptiveMaxPool2dAttribute : LayerAttribute
{
    /// <summary>A square output.</summary>
    public AdaptiveMaxPool2dAttribute(int outputSize) => (OutputH, OutputW) = (outputSize, outputSize);

    /// <summary>An output of <paramref name="outputH"/> x <paramref name="outputW"/>.</summary>
    public AdaptiveMaxPool2dAttribute(int outputH, int outputW) => (OutputH, OutputW) = (outputH, outputW);

    /// <summary>The output's height.</summary>
    public int OutputH { get; }

    /// <summary>The output's width.</summary>
    public int OutputW { get; }
}
