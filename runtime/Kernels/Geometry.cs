using System;

namespace StaticNet;

/// <summary>
/// The sizes of a 2-D convolution over [C, H, W] per sample (torch.nn.Conv2d; a Conv1d is one with height 1): in and out
/// channels and planes, kernel, stride, the padding before the first row and column (the padding after them follows
/// from the output size), dilation and groups. Generated code keeps one per layer as a static field.
/// </summary>
public readonly record struct Conv2dGeometry(
    int InChannels, int InHeight, int InWidth,
    int OutChannels, int OutHeight, int OutWidth,
    int KernelH, int KernelW,
    int StrideH = 1, int StrideW = 1,
    int PadTop = 0, int PadLeft = 0,
    int DilationH = 1, int DilationW = 1,
    int Groups = 1)
{
    /// <summary>Floats in one input sample.</summary>
    public int InputSize => InChannels * InHeight * InWidth;

    /// <summary>Floats in one output sample.</summary>
    public int OutputSize => OutChannels * OutHeight * OutWidth;

    /// <summary>Input channels each group sees.</summary>
    public int GroupInChannels => InChannels / Groups;

    /// <summary>Output channels each group makes.</summary>
    public int GroupOutChannels => OutChannels / Groups;

    /// <summary>The depth of each output's sum: in_channels / groups * kH * kW (PyTorch's fan_in).</summary>
    public int PatchSize => GroupInChannels * KernelH * KernelW;

    /// <summary>Output positions per plane.</summary>
    public int OutputPlane => OutHeight * OutWidth;

    /// <summary>Floats in the weight [out, in / groups, kH, kW].</summary>
    public int WeightSize => OutChannels * PatchSize;

    /// <summary>Throws unless every size is positive, the paddings are not negative and the channels divide into the groups.</summary>
    public void Validate()
    {
        Positive(InChannels, nameof(InChannels));
        Positive(InHeight, nameof(InHeight));
        Positive(InWidth, nameof(InWidth));
        Positive(OutChannels, nameof(OutChannels));
        Positive(OutHeight, nameof(OutHeight));
        Positive(OutWidth, nameof(OutWidth));
        Positive(KernelH, nameof(KernelH));
        Positive(KernelW, nameof(KernelW));
        Positive(StrideH, nameof(StrideH));
        Positive(StrideW, nameof(StrideW));
        Positive(DilationH, nameof(DilationH));
        Positive(DilationW, nameof(DilationW));
        Positive(Groups, nameof(Groups));
        if (PadTop < 0 || PadLeft < 0) throw new ArgumentException($"Padding must not be negative, but it is ({PadTop}, {PadLeft}).");
        if (InChannels % Groups != 0 || OutChannels % Groups != 0)
        {
            throw new ArgumentException($"in_channels {InChannels} and out_channels {OutChannels} must both be divisible by groups {Groups}.");
        }
        if ((long)OutChannels * PatchSize > Array.MaxLength || (long)InChannels * InHeight * InWidth > Array.MaxLength)
        {
            throw new ArgumentException("The convolution's tensors are larger than an array can hold.");
        }
    }

    private static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentException($"{name} must be positive, but it is {value}.");
    }
}

/// <summary>
/// The sizes of a 2-D pooling over [C, H, W] per sample (torch.nn.MaxPool2d / AvgPool2d): channels, planes, window,
/// stride, padding before the first row and column, and dilation (1 for average pooling).
/// </summary>
public readonly record struct Pool2dGeometry(
    int Channels, int InHeight, int InWidth,
    int OutHeight, int OutWidth,
    int KernelH, int KernelW,
    int StrideH, int StrideW,
    int PadTop = 0, int PadLeft = 0,
    int DilationH = 1, int DilationW = 1)
{
    /// <summary>Floats in one input sample.</summary>
    public int InputSize => Channels * InHeight * InWidth;

    /// <summary>Floats in one output sample.</summary>
    public int OutputSize => Channels * OutHeight * OutWidth;

    /// <summary>Throws unless every size is positive and the paddings are not negative.</summary>
    public void Validate()
    {
        if (Channels <= 0 || InHeight <= 0 || InWidth <= 0 || OutHeight <= 0 || OutWidth <= 0 || KernelH <= 0 || KernelW <= 0
            || StrideH <= 0 || StrideW <= 0 || DilationH <= 0 || DilationW <= 0)
        {
            throw new ArgumentException($"Every size of a pooling must be positive, but the geometry is {this}.");
        }
        if (PadTop < 0 || PadLeft < 0) throw new ArgumentException($"Padding must not be negative, but it is ({PadTop}, {PadLeft}).");
        if ((long)Channels * InHeight * InWidth > Array.MaxLength) throw new ArgumentException("The pooling's input is larger than an array can hold.");
    }
}
