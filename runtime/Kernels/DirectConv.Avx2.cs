using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace StaticNet;

/// <summary>
/// The direct convolution's forward (and so the input gradient of such a layer) in 256-bit vectors, for machines with
/// AVX2 and FMA but no AVX-512, where the convolution otherwise goes through patch matrices (LeNet's layers: a patch
/// matrix 25 or 150 values deep, copied per sample, then the product, the bias and the Sigmoid each a pass of their own).
/// Per output row, its U vectors of 8 (up to 4: rows of at most 32; rows of at most 8 two at a time) for a block of 2, 3
/// or 6 channels (U = 4, 3 or 2: the accumulators, the U input vectors and a broadcast weight within AVX2's 16 registers;
/// 3 x 4 accumulators spilled) stay in registers over every input channel and tap: per tap, U loads of the input and a
/// broadcast weight per channel. Rows go one by one through every block, so that the rows a row's taps read (the
/// kernel's height in every input channel) stay in L1 (block by block through all rows, the small ResNet's 16-16 layer
/// took 20 ms instead of 13). Every output sums its
/// taps in the order the AVX-512 kernel does (input channel, kernel row, kernel column, then the bias), so both give the
/// same bits. No fused Sigmoid and pooling, no weight gradient here: those stay on the patch matrices.
/// </summary>
internal static partial class DirectConv
{
    /// <summary>Whether <see cref="Forward"/> runs <see cref="Forward256"/>: FMA and 256-bit vectors, no AVX-512.</summary>
    private static bool In256 => !Avx512F.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Forward256(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> taps, ReadOnlySpan<float> bias, in Conv2dGeometry g, bool relu)
    {
        // Rows of at most 8 go two at a time (a vector each), so that each broadcast weight feeds two multiply-adds.
        bool pairs = g.OutWidth <= 8;
        int vectors = pairs ? 2 : (g.OutWidth + 7) / 8, rowsPerStep = pairs ? 2 : 1;
        // Rows on whole vectors (the last vector's loads read the kernel's overhang and zeros beyond it), planes one after
        // another; with pairs, one zero row more (the last pair may have only one row).
        int paddedWidth = (Math.Max((pairs ? 1 : vectors) * 8 + g.KernelW - 1, g.PadLeft + g.InWidth) + 7) & ~7;
        int paddedHeight = Math.Max(g.OutHeight + g.KernelH - 1 + (pairs ? 1 : 0), g.PadTop + g.InHeight);
        int plane = paddedHeight * paddedWidth, padded = (g.OutChannels + Block - 1) / Block * Block;
        Span<float> xp = PaddedPlanes(g, paddedWidth, plane);
        int block = vectors switch { 4 => 2, 3 => 3, _ => 6 };
        fixed (float* px = xp, pt = taps, py = y, pb = bias, source = x)
        {
            // The input rows into the planes' interiors, in vectors (a row's last few values one at a time).
            int whole = g.InWidth & ~7;
            for (int c = 0; c < g.InChannels; c++)
            {
                for (int h = 0; h < g.InHeight; h++)
                {
                    float* from = source + (c * g.InHeight + h) * g.InWidth, to = px + c * plane + (h + g.PadTop) * paddedWidth + g.PadLeft;
                    int i = 0;
                    for (; i < whole; i += 8) Vector256.Store(Vector256.Load(from + i), to + i);
                    for (; i < g.InWidth; i++) to[i] = from[i];
                }
            }
            float* b = bias.IsEmpty ? null : pb;
            // Row by row, every block of channels: the rows a row's taps read (the kernel's height in every input channel) stay in L1.
            for (int oh = 0; oh < g.OutHeight; oh += rowsPerStep)
            {
                for (int co0 = 0; co0 < g.OutChannels; co0 += block)
                {
                    int count = Math.Min(block, g.OutChannels - co0);
                    switch (vectors)
                    {
                        case 4: Block256<Four>(count, py, px, pt, b, g, co0, oh, plane, paddedWidth, padded, relu); break;
                        case 3: Block256<Three>(count, py, px, pt, b, g, co0, oh, plane, paddedWidth, padded, relu); break;
                        case 2 when pairs: Block256<Two>(count, py, px, pt, b, g, co0, oh, plane, paddedWidth, padded, relu, paddedWidth); break;
                        case 2: Block256<Two>(count, py, px, pt, b, g, co0, oh, plane, paddedWidth, padded, relu); break;
                        default: Block256<One>(count, py, px, pt, b, g, co0, oh, plane, paddedWidth, padded, relu); break;
                    }
                }
            }
        }
    }

    private static unsafe void Block256<TU>(int count, float* py, float* px, float* pt, float* bias, in Conv2dGeometry g, int co0, int oh, int plane, int paddedWidth, int padded,
        bool relu, int pairOffset = 0) where TU : struct, ICount
    {
        switch (count)
        {
            case 6 when TU.N <= 2: Row256<TU, Six>(py, px, pt, bias, g, co0, oh, plane, paddedWidth, padded, relu, pairOffset); break;
            case 5 when TU.N <= 2: Row256<TU, Five>(py, px, pt, bias, g, co0, oh, plane, paddedWidth, padded, relu, pairOffset); break;
            case 4 when TU.N <= 2: Row256<TU, Four>(py, px, pt, bias, g, co0, oh, plane, paddedWidth, padded, relu, pairOffset); break;
            case 3 when TU.N <= 3: Row256<TU, Three>(py, px, pt, bias, g, co0, oh, plane, paddedWidth, padded, relu, pairOffset); break;
            case 2: Row256<TU, Two>(py, px, pt, bias, g, co0, oh, plane, paddedWidth, padded, relu, pairOffset); break;
            case 1: Row256<TU, One>(py, px, pt, bias, g, co0, oh, plane, paddedWidth, padded, relu, pairOffset); break;
            default: throw new InvalidOperationException($"A block of {count} channels with {TU.N} vectors per row has no 256-bit kernel.");
        }
    }

    /// <summary>
    /// Output row <paramref name="oh"/> of <typeparamref name="TC"/> channels from <paramref name="co0"/>, in
    /// <typeparamref name="TU"/> vectors: channel j's accumulators are aj0 .. aj3, at most 12 in use.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static unsafe void Row256<TU, TC>(float* py, float* px, float* pt, float* bias, in Conv2dGeometry g, int co0, int oh, int plane, int paddedWidth, int padded,
        bool relu, int pairOffset) where TU : struct, ICount where TC : struct, ICount
    {
        int outPlane = g.OutputPlane;
        // Vector 1: the row's next 8 outputs, or (pairOffset, rows of at most 8) the next row's.
        bool pair = pairOffset > 0;
        nint offset1 = pair ? pairOffset : 8;
        int left0 = g.OutWidth, left1 = pair ? (oh + 1 < g.OutHeight ? g.OutWidth : 0) : g.OutWidth - 8, next = pair ? g.OutWidth : 8;
        float* spare = stackalloc float[8]; // a row's last, partial vector on its way out
        {
            Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
            Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
            Vector256<float> a40 = default, a41 = default, a42 = default, a43 = default, a50 = default, a51 = default, a52 = default, a53 = default;
            // Kernel rows that read only padding rows add nothing: skipped, as the AVX-512 kernel does.
            int khFirst = Math.Max(0, g.PadTop - oh - (pair ? 1 : 0)), khEnd = Math.Min(g.KernelH, g.PadTop + g.InHeight - oh);
            for (int c = 0; c < g.InChannels; c++)
            {
                for (int kh = khFirst; kh < khEnd; kh++)
                {
                    float* row = px + c * plane + (oh + kh) * paddedWidth;
                    float* tap = pt + (nint)(c * g.KernelH + kh) * g.KernelW * padded + co0;
                    for (int kw = 0; kw < g.KernelW; kw++, tap += padded)
                    {
                        Vector256<float> u0 = Vector256.Load(row + kw);
                        Vector256<float> u1 = TU.N > 1 ? Vector256.Load(row + kw + offset1) : default;
                        Vector256<float> u2 = TU.N > 2 ? Vector256.Load(row + kw + 16) : default;
                        Vector256<float> u3 = TU.N > 3 ? Vector256.Load(row + kw + 24) : default;
                        Tap256<TU>(tap[0], u0, u1, u2, u3, ref a00, ref a01, ref a02, ref a03);
                        if (TC.N > 1) Tap256<TU>(tap[1], u0, u1, u2, u3, ref a10, ref a11, ref a12, ref a13);
                        if (TC.N > 2) Tap256<TU>(tap[2], u0, u1, u2, u3, ref a20, ref a21, ref a22, ref a23);
                        if (TC.N > 3) Tap256<TU>(tap[3], u0, u1, u2, u3, ref a30, ref a31, ref a32, ref a33);
                        if (TC.N > 4) Tap256<TU>(tap[4], u0, u1, u2, u3, ref a40, ref a41, ref a42, ref a43);
                        if (TC.N > 5) Tap256<TU>(tap[5], u0, u1, u2, u3, ref a50, ref a51, ref a52, ref a53);
                    }
                }
            }
            float* target = py + co0 * outPlane + oh * g.OutWidth;
            StoreRow256<TU>(target, a00, a01, a02, a03, bias, co0, relu, next, left0, left1, g.OutWidth, spare);
            if (TC.N > 1) StoreRow256<TU>(target + outPlane, a10, a11, a12, a13, bias, co0 + 1, relu, next, left0, left1, g.OutWidth, spare);
            if (TC.N > 2) StoreRow256<TU>(target + 2 * outPlane, a20, a21, a22, a23, bias, co0 + 2, relu, next, left0, left1, g.OutWidth, spare);
            if (TC.N > 3) StoreRow256<TU>(target + 3 * outPlane, a30, a31, a32, a33, bias, co0 + 3, relu, next, left0, left1, g.OutWidth, spare);
            if (TC.N > 4) StoreRow256<TU>(target + 4 * outPlane, a40, a41, a42, a43, bias, co0 + 4, relu, next, left0, left1, g.OutWidth, spare);
            if (TC.N > 5) StoreRow256<TU>(target + 5 * outPlane, a50, a51, a52, a53, bias, co0 + 5, relu, next, left0, left1, g.OutWidth, spare);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tap256<TU>(float weight, Vector256<float> u0, Vector256<float> u1, Vector256<float> u2, Vector256<float> u3,
        ref Vector256<float> a0, ref Vector256<float> a1, ref Vector256<float> a2, ref Vector256<float> a3) where TU : struct, ICount
    {
        Vector256<float> w = Vector256.Create(weight);
        a0 = Fma.MultiplyAdd(w, u0, a0);
        if (TU.N > 1) a1 = Fma.MultiplyAdd(w, u1, a1);
        if (TU.N > 2) a2 = Fma.MultiplyAdd(w, u2, a2);
        if (TU.N > 3) a3 = Fma.MultiplyAdd(w, u3, a3);
    }

    /// <summary>
    /// One channel's outputs: its sums plus the bias (then ReLU); vector 1 at <paramref name="next"/> (the row's second 8, or
    /// the next row's), <paramref name="left0"/> and <paramref name="left1"/> outputs of vectors 0 and 1 kept (lanes past
    /// the row are not stored), vectors 2 and 3 the row's third and fourth 8.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreRow256<TU>(float* row, Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3, float* bias, int channel,
        bool relu, nint next, int left0, int left1, int width, float* spare) where TU : struct, ICount
    {
        Vector256<float> shift = bias != null ? Vector256.Create(bias[channel]) : Vector256<float>.Zero;
        StoreVector(row, a0, shift, bias != null, relu, left0, spare);
        if (TU.N > 1) StoreVector(row + next, a1, shift, bias != null, relu, left1, spare);
        if (TU.N > 2) StoreVector(row + 16, a2, shift, bias != null, relu, width - 16, spare);
        if (TU.N > 3) StoreVector(row + 24, a3, shift, bias != null, relu, width - 24, spare);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreVector(float* target, Vector256<float> value, Vector256<float> shift, bool hasBias, bool relu, int left, float* spare)
    {
        if (hasBias) value += shift;
        if (relu) value = Vector256.Max(value, Vector256<float>.Zero);
        if (left >= 8)
        {
            Vector256.Store(value, target);
            return;
        }
        Vector256.Store(value, spare);
        for (int i = 0; i < left; i++) target[i] = spare[i];
    }
}
