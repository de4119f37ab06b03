using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace StaticNet;

/// <summary>
/// The patch matrix of a convolution (one group of one sample): row (c, kh, kw), column (oh, ow) holds the input value
/// the kernel tap (kh, kw) of channel c sees at output position (oh, ow), or 0 in the padding. Forward and the weight
/// gradient multiply by it; the input gradient is its transpose scattered back (<see cref="AddColumns"/>). Rows of an
/// output plane are short (28 floats for LeNet), so the copies are written out here rather than called per row.
/// </summary>
internal static class Im2Col
{
    /// <summary>
    /// Writes the patch matrix of <paramref name="channels"/> channels of <paramref name="input"/> ([channels, H, W]) to
    /// <paramref name="columns"/>: row r's entries for this sample start at r * <paramref name="rowStride"/> + <paramref name="offset"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fill(Span<float> columns, int offset, int rowStride, ReadOnlySpan<float> input, int channels, in Conv2dGeometry g)
    {
        int plane = g.OutputPlane, inPlane = g.InHeight * g.InWidth;
        if ((long)((channels * g.KernelH * g.KernelW - 1) * rowStride) + offset + plane > columns.Length || (long)channels * inPlane > input.Length)
        {
            throw new ArgumentException("The patch matrix or the input is too small for the geometry.");
        }
        ref float x0 = ref MemoryMarshal.GetReference(input);
        ref float col0 = ref MemoryMarshal.GetReference(columns);
        for (int c = 0; c < channels; c++)
        {
            ref float x = ref Unsafe.Add(ref x0, c * inPlane);
            for (int kh = 0; kh < g.KernelH; kh++)
            {
                for (int kw = 0; kw < g.KernelW; kw++)
                {
                    ref float row = ref Unsafe.Add(ref col0, ((c * g.KernelH + kh) * g.KernelW + kw) * rowStride + offset);
                    (int first, int last) = ValidColumns(kw, g);
                    for (int oh = 0; oh < g.OutHeight; oh++)
                    {
                        ref float outRow = ref Unsafe.Add(ref row, oh * g.OutWidth);
                        int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH;
                        if ((uint)ih >= (uint)g.InHeight || first >= last)
                        {
                            Zero(ref outRow, g.OutWidth);
                            continue;
                        }
                        for (int ow = 0; ow < first; ow++) Unsafe.Add(ref outRow, ow) = 0f;
                        for (int ow = last; ow < g.OutWidth; ow++) Unsafe.Add(ref outRow, ow) = 0f;
                        int iw = first * g.StrideW - g.PadLeft + kw * g.DilationW;
                        ref float inRow = ref Unsafe.Add(ref x, ih * g.InWidth + iw);
                        if (g.StrideW == 1) Copy(ref Unsafe.Add(ref outRow, first), ref inRow, last - first);
                        else for (int ow = first; ow < last; ow++) Unsafe.Add(ref outRow, ow) = Unsafe.Add(ref inRow, (ow - first) * g.StrideW);
                    }
                }
            }
        }
    }

    /// <summary>The inverse scatter: gradient[c, ih, iw] += every column entry that read that input value (columns laid out as in <see cref="Fill"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddColumns(Span<float> gradient, ReadOnlySpan<float> columns, int offset, int rowStride, int channels, in Conv2dGeometry g)
    {
        int inPlane = g.InHeight * g.InWidth;
        if ((long)((channels * g.KernelH * g.KernelW - 1) * rowStride) + offset + g.OutputPlane > columns.Length || (long)channels * inPlane > gradient.Length)
        {
            throw new ArgumentException("The patch matrix or the gradient is too small for the geometry.");
        }
        ref float dx0 = ref MemoryMarshal.GetReference(gradient);
        ref float col0 = ref MemoryMarshal.GetReference(columns);
        for (int c = 0; c < channels; c++)
        {
            ref float dx = ref Unsafe.Add(ref dx0, c * inPlane);
            for (int kh = 0; kh < g.KernelH; kh++)
            {
                for (int kw = 0; kw < g.KernelW; kw++)
                {
                    ref float row = ref Unsafe.Add(ref col0, ((c * g.KernelH + kh) * g.KernelW + kw) * rowStride + offset);
                    (int first, int last) = ValidColumns(kw, g);
                    if (first >= last) continue;
                    for (int oh = 0; oh < g.OutHeight; oh++)
                    {
                        int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH;
                        if ((uint)ih >= (uint)g.InHeight) continue;
                        ref float outRow = ref Unsafe.Add(ref row, oh * g.OutWidth + first);
                        int iw = first * g.StrideW - g.PadLeft + kw * g.DilationW;
                        ref float inRow = ref Unsafe.Add(ref dx, ih * g.InWidth + iw);
                        if (g.StrideW == 1) Add(ref inRow, ref outRow, last - first);
                        else for (int ow = 0; ow < last - first; ow++) Unsafe.Add(ref inRow, ow * g.StrideW) += Unsafe.Add(ref outRow, ow);
                    }
                }
            }
        }
    }

    /// <summary>The output columns [first, last) whose tap kw falls inside the input row (the rest read padding).</summary>
    private static (int First, int Last) ValidColumns(int kw, in Conv2dGeometry g)
    {
        int shift = kw * g.DilationW - g.PadLeft; // iw = ow * stride + shift
        int first = shift >= 0 ? 0 : (-shift + g.StrideW - 1) / g.StrideW;
        int last = g.InWidth - 1 - shift < 0 ? 0 : Math.Min(g.OutWidth, (g.InWidth - 1 - shift) / g.StrideW + 1);
        return (Math.Min(first, g.OutWidth), last);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Zero(ref float destination, int count)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= count; i += 8) Vector256<float>.Zero.StoreUnsafe(ref destination, (nuint)i);
        }
        for (; i < count; i++) Unsafe.Add(ref destination, i) = 0f;
    }

    /// <summary>destination[0..count) = source[0..count), for short rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Copy(ref float destination, ref float source, int count)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= count; i += 8) Vector256.LoadUnsafe(ref source, (nuint)i).StoreUnsafe(ref destination, (nuint)i);
        }
        for (; i < count; i++) Unsafe.Add(ref destination, i) = Unsafe.Add(ref source, i);
    }

    /// <summary>destination[0..count) += source[0..count), for short rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Add(ref float destination, ref float source, int count)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= count; i += 8)
            {
                (Vector256.LoadUnsafe(ref destination, (nuint)i) + Vector256.LoadUnsafe(ref source, (nuint)i)).StoreUnsafe(ref destination, (nuint)i);
            }
        }
        for (; i < count; i++) Unsafe.Add(ref destination, i) += Unsafe.Add(ref source, i);
    }
}
