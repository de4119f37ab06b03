using System;

namespace StaticNet;

/// <summary>
/// The patch matrix of one sample's convolution (one group): row (c, kh, kw), column (oh, ow) holds the input value the
/// kernel tap (kh, kw) of channel c sees at output position (oh, ow), or 0 in the padding. Forward and the weight
/// gradient multiply by it; the input gradient is its transpose scattered back (<see cref="AddColumns"/>).
/// </summary>
internal static class Im2Col
{
    /// <summary>Whether the patch matrix is the input itself: a 1 x 1 kernel with stride 1 and no padding.</summary>
    public static bool IsIdentity(in Conv2dGeometry g) =>
        g.KernelH == 1 && g.KernelW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadTop == 0 && g.PadLeft == 0
        && g.OutHeight == g.InHeight && g.OutWidth == g.InWidth;

    /// <summary>Writes the patch matrix of <paramref name="channels"/> channels of <paramref name="input"/> ([channels, H, W]) to <paramref name="columns"/>.</summary>
    public static void Fill(Span<float> columns, ReadOnlySpan<float> input, int channels, in Conv2dGeometry g)
    {
        int plane = g.OutputPlane, inPlane = g.InHeight * g.InWidth;
        for (int c = 0; c < channels; c++)
        {
            ReadOnlySpan<float> x = input.Slice(c * inPlane, inPlane);
            for (int kh = 0; kh < g.KernelH; kh++)
            {
                for (int kw = 0; kw < g.KernelW; kw++)
                {
                    Span<float> row = columns.Slice(((c * g.KernelH + kh) * g.KernelW + kw) * plane, plane);
                    (int first, int last) = ValidColumns(kw, g);
                    for (int oh = 0; oh < g.OutHeight; oh++)
                    {
                        Span<float> outRow = row.Slice(oh * g.OutWidth, g.OutWidth);
                        int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH;
                        if ((uint)ih >= (uint)g.InHeight || first >= last)
                        {
                            outRow.Clear();
                            continue;
                        }
                        outRow[..first].Clear();
                        outRow[last..].Clear();
                        int iw = first * g.StrideW - g.PadLeft + kw * g.DilationW;
                        ReadOnlySpan<float> inRow = x.Slice(ih * g.InWidth);
                        if (g.StrideW == 1)
                        {
                            inRow.Slice(iw, last - first).CopyTo(outRow[first..last]);
                        }
                        else
                        {
                            for (int ow = first; ow < last; ow++, iw += g.StrideW) outRow[ow] = inRow[iw];
                        }
                    }
                }
            }
        }
    }

    /// <summary>The inverse scatter: gradient[c, ih, iw] += every column entry that read that input value.</summary>
    public static void AddColumns(Span<float> gradient, ReadOnlySpan<float> columns, int channels, in Conv2dGeometry g)
    {
        int plane = g.OutputPlane, inPlane = g.InHeight * g.InWidth;
        for (int c = 0; c < channels; c++)
        {
            Span<float> dx = gradient.Slice(c * inPlane, inPlane);
            for (int kh = 0; kh < g.KernelH; kh++)
            {
                for (int kw = 0; kw < g.KernelW; kw++)
                {
                    ReadOnlySpan<float> row = columns.Slice(((c * g.KernelH + kh) * g.KernelW + kw) * plane, plane);
                    (int first, int last) = ValidColumns(kw, g);
                    if (first >= last) continue;
                    for (int oh = 0; oh < g.OutHeight; oh++)
                    {
                        int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH;
                        if ((uint)ih >= (uint)g.InHeight) continue;
                        Span<float> inRow = dx.Slice(ih * g.InWidth);
                        ReadOnlySpan<float> outRow = row.Slice(oh * g.OutWidth, g.OutWidth);
                        int iw = first * g.StrideW - g.PadLeft + kw * g.DilationW;
                        if (g.StrideW == 1)
                        {
                            System.Numerics.Tensors.TensorPrimitives.Add(inRow.Slice(iw, last - first), outRow[first..last], inRow.Slice(iw, last - first));
                        }
                        else
                        {
                            for (int ow = first; ow < last; ow++, iw += g.StrideW) inRow[iw] += outRow[ow];
                        }
                    }
                }
            }
        }
    }

    /// <summary>The output columns [first, last) whose tap kw falls inside the input row (the rest read padding).</summary>
    private static (int First, int Last) ValidColumns(int kw, in Conv2dGeometry g)
    {
        int offset = kw * g.DilationW - g.PadLeft; // iw = ow * stride + offset
        int first = offset >= 0 ? 0 : (-offset + g.StrideW - 1) / g.StrideW;
        int last = g.InWidth - 1 - offset < 0 ? 0 : Math.Min(g.OutWidth, (g.InWidth - 1 - offset) / g.StrideW + 1);
        return (Math.Min(first, g.OutWidth), last);
    }
}
