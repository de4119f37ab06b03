using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace StaticNet;

/// <summary>
/// A convolution computed directly, without a patch matrix, for the small layers where building one costs more than the
/// product (LeNet's: 1 or 6 input channels, 28 x 28 or 10 x 10 outputs): stride 1, no dilation, one group, output rows
/// of at most 32. The sample is copied once into a zero-padded plane; then for each pair of output vectors (the two
/// halves of a row, or two rows of at most 16) and each block of 8 output channels, 16 accumulators stay in registers
/// over every input channel and kernel tap: per tap, 2 loads of the input and 8 broadcast weights feed 16 multiply-adds.
/// The input gradient of such a layer is the same computation on the padded output gradient with the kernel flipped and
/// its channels swapped. AVX-512 only (masked stores for the row ends); every sum is in one order whatever the batch.
/// </summary>
internal static class DirectConv
{
    private const int Block = 8;

    [ThreadStatic] private static float[]? s_padded, s_taps;

    /// <summary>Whether <see cref="Forward"/> takes this geometry.</summary>
    public static bool Applies(in Conv2dGeometry g) =>
        Avx512F.IsSupported && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1 && g.Groups == 1
        && g.OutWidth <= 32 && g.PadTop < g.KernelH && g.PadLeft < g.KernelW;

    /// <summary>Whether the input gradient of this geometry is a direct convolution too (its output rows are the input's).</summary>
    public static bool AppliesToInputGradient(in Conv2dGeometry g) => Applies(g) && g.InWidth <= 32;

    /// <summary>The geometry whose forward is the input gradient: output gradient in, input gradient out, kernel flipped.</summary>
    public static Conv2dGeometry Transposed(in Conv2dGeometry g) => new(g.OutChannels, g.OutHeight, g.OutWidth, g.InChannels, g.InHeight, g.InWidth,
        g.KernelH, g.KernelW, 1, 1, g.KernelH - 1 - g.PadTop, g.KernelW - 1 - g.PadLeft);

    /// <summary>
    /// The weight as taps: row (c, kh, kw) of the layer's input channels holds the 8-padded output channels' weights, so a
    /// tap's 8 weights are adjacent. With <paramref name="flip"/>, for the input gradient: channels swapped, kernel rotated.
    /// </summary>
    public static Span<float> Taps(ReadOnlySpan<float> weight, in Conv2dGeometry layer, bool flip)
    {
        int inChannels = flip ? layer.OutChannels : layer.InChannels, outChannels = flip ? layer.InChannels : layer.OutChannels;
        int padded = (outChannels + Block - 1) / Block * Block, kh = layer.KernelH, kw = layer.KernelW;
        Span<float> taps = Scratch(ref s_taps, inChannels * kh * kw * padded);
        taps.Clear();
        for (int co = 0; co < layer.OutChannels; co++)
        {
            for (int ci = 0; ci < layer.InChannels; ci++)
            {
                for (int h = 0; h < kh; h++)
                {
                    for (int w = 0; w < kw; w++)
                    {
                        float value = weight[((co * layer.InChannels + ci) * kh + h) * kw + w];
                        int row = flip ? (co * kh + (kh - 1 - h)) * kw + (kw - 1 - w) : (ci * kh + h) * kw + w;
                        taps[row * padded + (flip ? ci : co)] = value;
                    }
                }
            }
        }
        return taps;
    }

    /// <summary>
    /// One sample: y[co] = bias[co] + sum over taps of the weights times the shifted input (then ReLU with <paramref name="relu"/>);
    /// <paramref name="taps"/> from <see cref="Taps"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> taps, ReadOnlySpan<float> bias, in Conv2dGeometry g, bool relu)
    {
        bool wide = g.OutWidth > 16; // a pair is the two halves of one row, or two rows
        int rowsPerPair = wide ? 1 : 2;
        int paddedHeight = g.OutHeight + g.KernelH - 1 + (rowsPerPair - 1), paddedWidth = (wide ? 32 : 16) + g.KernelW - 1;
        int plane = paddedHeight * paddedWidth, outPlane = g.OutputPlane, blocks = (g.OutChannels + Block - 1) / Block, padded = blocks * Block;
        Span<float> xp = Scratch(ref s_padded, g.InChannels * plane);
        xp.Clear();
        for (int c = 0; c < g.InChannels; c++)
        {
            for (int h = 0; h < g.InHeight; h++)
            {
                x.Slice((c * g.InHeight + h) * g.InWidth, g.InWidth).CopyTo(xp.Slice(c * plane + (h + g.PadTop) * paddedWidth + g.PadLeft));
            }
        }
        int depth = g.InChannels * g.KernelH;
        Vector512<float> lanes = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        Vector512<float> first = Vector512.LessThan(lanes, Vector512.Create((float)Math.Min(g.OutWidth, 16)));
        Vector512<float> second = wide ? Vector512.LessThan(lanes, Vector512.Create((float)(g.OutWidth - 16))) : first;
        fixed (float* px = xp, pt = taps, py = y)
        {
            for (int block = 0; block < blocks; block++)
            {
                int co0 = block * Block, count = Math.Min(Block, g.OutChannels - co0);
                for (int oh = 0; oh < g.OutHeight; oh += rowsPerPair)
                {
                    // Accumulator pair j of channel co0 + j: a for the first vector, b for the second (the row's right half, or the next row).
                    Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                    Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
                    nint secondOffset = wide ? 16 : paddedWidth;
                    for (int d = 0; d < depth; d++)
                    {
                        int c = d / g.KernelH, kh = d - c * g.KernelH;
                        float* row = px + c * plane + (oh + kh) * paddedWidth;
                        float* tap = pt + (nint)d * g.KernelW * padded + co0;
                        for (int kw = 0; kw < g.KernelW; kw++, tap += padded)
                        {
                            Vector512<float> u = Vector512.Load(row + kw), v = Vector512.Load(row + kw + secondOffset);
                            Vector512<float> w = Vector512.Create(tap[0]);
                            a0 = Vector512.FusedMultiplyAdd(w, u, a0); b0 = Vector512.FusedMultiplyAdd(w, v, b0);
                            w = Vector512.Create(tap[1]);
                            a1 = Vector512.FusedMultiplyAdd(w, u, a1); b1 = Vector512.FusedMultiplyAdd(w, v, b1);
                            w = Vector512.Create(tap[2]);
                            a2 = Vector512.FusedMultiplyAdd(w, u, a2); b2 = Vector512.FusedMultiplyAdd(w, v, b2);
                            w = Vector512.Create(tap[3]);
                            a3 = Vector512.FusedMultiplyAdd(w, u, a3); b3 = Vector512.FusedMultiplyAdd(w, v, b3);
                            w = Vector512.Create(tap[4]);
                            a4 = Vector512.FusedMultiplyAdd(w, u, a4); b4 = Vector512.FusedMultiplyAdd(w, v, b4);
                            w = Vector512.Create(tap[5]);
                            a5 = Vector512.FusedMultiplyAdd(w, u, a5); b5 = Vector512.FusedMultiplyAdd(w, v, b5);
                            w = Vector512.Create(tap[6]);
                            a6 = Vector512.FusedMultiplyAdd(w, u, a6); b6 = Vector512.FusedMultiplyAdd(w, v, b6);
                            w = Vector512.Create(tap[7]);
                            a7 = Vector512.FusedMultiplyAdd(w, u, a7); b7 = Vector512.FusedMultiplyAdd(w, v, b7);
                        }
                    }
                    bool secondRow = !wide && oh + 1 < g.OutHeight;
                    float* target = py + co0 * outPlane + oh * g.OutWidth;
                    nint next = wide ? 16 : g.OutWidth;
                    Store(target, a0, b0, 0, count, bias, co0, relu, first, second, next, wide || secondRow, outPlane);
                    Store(target, a1, b1, 1, count, bias, co0, relu, first, second, next, wide || secondRow, outPlane);
                    Store(target, a2, b2, 2, count, bias, co0, relu, first, second, next, wide || secondRow, outPlane);
                    Store(target, a3, b3, 3, count, bias, co0, relu, first, second, next, wide || secondRow, outPlane);
                    Store(target, a4, b4, 4, count, bias, co0, relu, first, second, next, wide || secondRow, outPlane);
                    Store(target, a5, b5, 5, count, bias, co0, relu, first, second, next, wide || secondRow, outPlane);
                    Store(target, a6, b6, 6, count, bias, co0, relu, first, second, next, wide || secondRow, outPlane);
                    Store(target, a7, b7, 7, count, bias, co0, relu, first, second, next, wide || secondRow, outPlane);
                }
            }
        }
    }

    /// <summary>Stores channel j's pair of vectors (bias added, ReLU applied) with masks, if j is one of the block's channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(float* target, Vector512<float> a, Vector512<float> b, int j, int count, ReadOnlySpan<float> bias, int co0, bool relu,
        Vector512<float> first, Vector512<float> second, nint next, bool storeSecond, int outPlane)
    {
        if (j >= count) return;
        if (!bias.IsEmpty)
        {
            Vector512<float> shift = Vector512.Create(bias[co0 + j]);
            a += shift;
            b += shift;
        }
        if (relu)
        {
            a = Vector512.Max(a, Vector512<float>.Zero);
            b = Vector512.Max(b, Vector512<float>.Zero);
        }
        float* row = target + (nint)j * outPlane;
        Avx512F.MaskStore(row, first, a);
        if (storeSecond) Avx512F.MaskStore(row + next, second, b);
    }

    private static Span<float> Scratch(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length) buffer = new float[length];
        return buffer.AsSpan(0, length);
    }
}
