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
/// halves of a row, or two rows of at most 16) and each block of up to 8 output channels, 2 accumulators per channel stay in
/// registers over every input channel and kernel tap: per tap, 2 loads of the input and a broadcast weight per channel
/// feed 2 multiply-adds per channel (a block of 6, LeNet's first layer, does only its own 12).
/// The input gradient of such a layer is the same computation on the padded output gradient with the kernel flipped and
/// its channels swapped. AVX-512 (masked stores for the row ends); without it, with AVX2 and FMA, the forward and the
/// input gradient run in 256-bit vectors (DirectConv.Avx2.cs) with the same bits, the weight gradient in 256-bit vectors
/// with its own bits (its lane sums are over 8 lanes), and the fused Sigmoid and pooling taken from each row's registers
/// with an even row parked until the row below it is summed (the same bits).
/// Every sum is in one order whatever the batch.
/// </summary>
internal static partial class DirectConv
{
    private const int Block = 8;

    [ThreadStatic] private static float[]? s_padded, s_taps;

    /// <summary>What <see cref="s_padded"/>'s zeros were last laid out for: its array, the input's shape and padding, the row and plane length.</summary>
    [ThreadStatic] private static (float[]?, int, int, int, int, int, int, int) s_paddedFor;

    /// <summary>
    /// A sample's channels into the interior of zero-padded planes (<paramref name="plane"/> floats apart, rows
    /// <paramref name="paddedWidth"/> apart), a row at a time in vectors, the last one masked: nothing else of the planes is written.
    /// </summary>
    private static unsafe void CopyIntoPadded(float* padded, float* x, in Conv2dGeometry g, int paddedWidth, int plane)
    {
        if (!Avx512F.IsSupported)
        {
            CopyIntoPadded256(padded, x, g, paddedWidth, plane);
            return;
        }
        Vector512<float> tail = Vector512.LessThan(Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            Vector512.Create((float)(g.InWidth - (g.InWidth - 1) / 16 * 16)));
        int whole = (g.InWidth - 1) / 16 * 16;
        for (int c = 0; c < g.InChannels; c++)
        {
            for (int h = 0; h < g.InHeight; h++)
            {
                float* source = x + (c * g.InHeight + h) * g.InWidth, target = padded + c * plane + (h + g.PadTop) * paddedWidth + g.PadLeft;
                for (int i = 0; i < whole; i += 16) Vector512.Store(Vector512.Load(source + i), target + i);
                Avx512F.MaskStore(target + whole, tail, Avx512F.MaskLoad(source + whole, tail, Vector512<float>.Zero));
            }
        }
    }

    /// <summary>
    /// This thread's zero-padded planes for a sample's input channels (<paramref name="plane"/> floats each, rows
    /// <paramref name="paddedWidth"/> apart). The zeros around the input stay from the sample before, as long as the same
    /// layout was padded here (only the interiors are written): a sample at a time, clearing the plane cost a tenth of
    /// LeNet's first layer.
    /// </summary>
    private static Span<float> PaddedPlanes(in Conv2dGeometry g, int paddedWidth, int plane)
    {
        if (s_padded is null || s_padded.Length < g.InChannels * plane + 16) s_padded = Simd.AlignedArray.Allocate(g.InChannels * plane);
        Span<float> xp = s_padded.AsSpan(Simd.AlignedArray.Start(s_padded), g.InChannels * plane);
        var layout = (s_padded, g.InChannels, g.InHeight, g.InWidth, g.PadTop, g.PadLeft, paddedWidth, plane);
        if (layout != s_paddedFor)
        {
            xp.Clear();
            s_paddedFor = layout;
        }
        return xp;
    }

    /// <summary>
    /// Floats per row of a sample's zero-padded plane: the row's one or two vectors and the kernel's overhang, rounded up
    /// to whole cache lines, so that every row starts on one (planes start on one too) and its first tap's loads do not
    /// straddle two.
    /// </summary>
    private static int PaddedWidth(in Conv2dGeometry g) => ((g.OutWidth > 16 ? 32 : 16) + g.KernelW - 1 + 15) & ~15;

    /// <summary>Whether <see cref="Forward"/> takes this geometry.</summary>
    public static bool Applies(in Conv2dGeometry g) =>
        (Avx512F.IsSupported || In256) && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1 && g.Groups == 1
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
        int padded = (outChannels + Block - 1) / Block * Block;
        Span<float> taps = Scratch(ref s_taps, inChannels * layer.KernelH * layer.KernelW * padded);
        FillTaps(taps, weight, layer, flip, padded);
        return taps;
    }

    /// <summary>
    /// Writes the taps layout into <paramref name="taps"/> (cleared first): row (c, kh, kw) over the layer's input channels
    /// (its output channels when flipped) holds the other channels' weights, <paramref name="padded"/> per row.
    /// </summary>
    internal static void FillTaps(Span<float> taps, ReadOnlySpan<float> weight, in Conv2dGeometry layer, bool flip, int padded)
    {
        int kh = layer.KernelH, kw = layer.KernelW;
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
    }

    /// <summary>
    /// Whether <see cref="Forward"/> can take a Sigmoid and then <paramref name="pool"/> on the layer's output as it stores
    /// it: windows 2 x 2 that tile it (stride 2, no padding), and rows wide enough that every block of channels (one, of at
    /// most 6) computes two rows at a time, a row of windows.
    /// </summary>
    public static bool FusesSigmoidPool(in Conv2dGeometry g, in Pool2dGeometry pool) =>
        Applies(g) && (Vector512.IsHardwareAccelerated || In256) && g.OutWidth > 16 && g.OutChannels <= 6
        && pool.KernelH == 2 && pool.KernelW == 2 && pool.StrideH == 2 && pool.StrideW == 2 && pool.PadTop == 0 && pool.PadLeft == 0
        && pool.DilationH == 1 && pool.DilationW == 1 && pool.Channels == g.OutChannels && pool.InHeight == g.OutHeight && pool.InWidth == g.OutWidth
        && pool.OutHeight == g.OutHeight / 2 && pool.OutWidth == g.OutWidth / 2;

    /// <summary>
    /// One sample: y[co] = bias[co] + sum over taps of the weights times the shifted input (then ReLU with <paramref name="relu"/>);
    /// <paramref name="taps"/> from <see cref="Taps"/>. With <paramref name="pooled"/> (not empty; where
    /// <see cref="FusesSigmoidPool"/> holds, without ReLU), y is the Sigmoid's derivative there instead, and
    /// <paramref name="pooled"/> the average of the Sigmoid over each window of <paramref name="pool"/> times
    /// <paramref name="poolScale"/>: the bits of the convolution, Kernels.SigmoidAndDerivative and the pooling's 2-wide
    /// kernel in turn (rows first, then the pair), computed from the registers a row pair is summed in. Without
    /// <paramref name="keepDerivative"/> (inference) only the pooled Sigmoid is computed, the same bits, and y is not written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> taps, ReadOnlySpan<float> bias, in Conv2dGeometry g, bool relu,
        Span<float> pooled = default, in Pool2dGeometry pool = default, float poolScale = 0, bool keepDerivative = true)
    {
        if (!pooled.IsEmpty && (relu || !FusesSigmoidPool(g, pool) || pooled.Length != pool.OutputSize))
        {
            throw new ArgumentException($"The Sigmoid and pooling are fused only for 2 x 2 windows tiling rows of 17 to 32, up to 6 channels, no ReLU, " +
                $"and a pooled sample of {pool.OutputSize} floats; {pooled.Length} came.", nameof(pooled));
        }
        if (!Avx512F.IsSupported)
        {
            Forward256(y, x, taps, bias, g, relu, pooled, pool, poolScale, keepDerivative);
            return;
        }
        bool wide = g.OutWidth > 16; // a pair is the two halves of one row, or two rows
        // One zero row more than the kernel needs: the last pair of rows may have only one.
        int paddedHeight = g.OutHeight + g.KernelH, paddedWidth = PaddedWidth(g);
        int plane = paddedHeight * paddedWidth, blocks = (g.OutChannels + Block - 1) / Block, padded = blocks * Block;
        Span<float> xp = PaddedPlanes(g, paddedWidth, plane);
        Vector512<float> lanes = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        Vector512<float> first = Vector512.LessThan(lanes, Vector512.Create((float)Math.Min(g.OutWidth, 16)));
        Vector512<float> second = wide ? Vector512.LessThan(lanes, Vector512.Create((float)(g.OutWidth - 16))) : first;
        fixed (float* px = xp, pt = taps, py = y, pb = bias, source = x, pp = pooled)
        {
            var fuse = new SigmoidPool(pooled.IsEmpty ? null : pp, pool, poolScale, keepDerivative);
            bool fused = !pooled.IsEmpty;
            CopyIntoPadded(px, source, g, paddedWidth, plane);
            for (int block = 0; block < blocks; block++)
            {
                // A block of fewer than 8 channels (LeNet's first layer has 6) runs only its own multiply-adds; blocks of up
                // to 6 channels of wide rows take two rows at a time, so that each broadcast weight feeds 4 multiply-adds.
                int co0 = block * Block;
                int count = Math.Min(Block, g.OutChannels - co0);
                if (fused) RowsOfBlock<Fused, Four>(count, py, px, pt, pb, g, co0, plane, paddedWidth, padded, relu, first, second, fuse);
                else if (wide && count <= 6) RowsOfBlock<Plain, Four>(count, py, px, pt, pb, g, co0, plane, paddedWidth, padded, relu, first, second, fuse);
                else RowsOfBlock<Plain, Two>(count, py, px, pt, pb, g, co0, plane, paddedWidth, padded, relu, first, second, fuse);
            }
        }
    }

    /// <summary><see cref="Rows"/> for a block of <paramref name="count"/> channels (at most 6 with 4 vectors per channel, 8 with 2).</summary>
    private static unsafe void RowsOfBlock<TF, TV>(int count, float* py, float* px, float* pt, float* pb, in Conv2dGeometry g, int co0, int plane, int paddedWidth, int padded,
        bool relu, Vector512<float> first, Vector512<float> second, in SigmoidPool fuse) where TF : struct, IFusion where TV : struct, ICount
    {
        switch (count)
        {
            case 8 when TV.N == 2: Rows<Eight, TV, TF>(py, px, pt, pb, g, co0, plane, paddedWidth, padded, relu, first, second, fuse); break;
            case 7 when TV.N == 2: Rows<Seven, TV, TF>(py, px, pt, pb, g, co0, plane, paddedWidth, padded, relu, first, second, fuse); break;
            case 6: Rows<Six, TV, TF>(py, px, pt, pb, g, co0, plane, paddedWidth, padded, relu, first, second, fuse); break;
            case 5: Rows<Five, TV, TF>(py, px, pt, pb, g, co0, plane, paddedWidth, padded, relu, first, second, fuse); break;
            case 4: Rows<Four, TV, TF>(py, px, pt, pb, g, co0, plane, paddedWidth, padded, relu, first, second, fuse); break;
            case 3: Rows<Three, TV, TF>(py, px, pt, pb, g, co0, plane, paddedWidth, padded, relu, first, second, fuse); break;
            case 2: Rows<Two, TV, TF>(py, px, pt, pb, g, co0, plane, paddedWidth, padded, relu, first, second, fuse); break;
            case 1: Rows<One, TV, TF>(py, px, pt, pb, g, co0, plane, paddedWidth, padded, relu, first, second, fuse); break;
            default: throw new InvalidOperationException($"A block of {count} channels with {TV.N} vectors per channel has no kernel.");
        }
    }

    /// <summary>
    /// Every output row of one block of <typeparamref name="TC"/> channels from <paramref name="co0"/>, with
    /// <typeparamref name="TV"/> vectors per channel: 2 for the halves of one wide row or two short rows, 4 for the halves
    /// of two wide rows. Per tap, TV loads of the input and a broadcast weight per channel feed TV multiply-adds per
    /// channel; each output sums its taps in the same order whichever form computes it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static unsafe void Rows<TC, TV, TF>(float* py, float* px, float* pt, float* bias, in Conv2dGeometry g, int co0, int plane, int paddedWidth, int padded, bool relu,
        Vector512<float> first, Vector512<float> second, in SigmoidPool fuse) where TC : struct, ICount where TV : struct, ICount where TF : struct, IFusion
    {
        // With the Sigmoid and pooling fused: a row pair's sums parked here (in L1) for SigmoidPoolRows.
        Vector512<float>* sums = stackalloc Vector512<float>[TF.On ? 24 : 1];
        bool wide = g.OutWidth > 16;
        int rows = wide && TV.N == 2 ? 1 : 2, depth = g.InChannels * g.KernelH, outPlane = g.OutputPlane;
        // The input offsets of vectors 1, 2 and 3 from vector 0: the row's right half or the next row, then the next row's halves.
        nint offset1 = wide ? 16 : paddedWidth, offset2 = paddedWidth, offset3 = paddedWidth + 16;
        for (int oh = 0; oh < g.OutHeight; oh += rows)
        {
            // Channel j's accumulators: a, b (vectors 0 and 1), c, e (vectors 2 and 3, with 4 vectors).
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
            Vector512<float> e0 = default, e1 = default, e2 = default, e3 = default, e4 = default, e5 = default;
            // Kernel rows that read only padding rows (for every output row of the step) add nothing: skipped. The
            // input gradient, a convolution of the output gradient padded by kernel - 1, skips about a quarter.
            int khFirst = Math.Max(0, g.PadTop - oh - (rows - 1)), khEnd = Math.Min(g.KernelH, g.PadTop + g.InHeight - oh);
            for (int d = 0; d < depth; d++)
            {
                int c = d / g.KernelH, kh = d - c * g.KernelH;
                if (kh < khFirst || kh >= khEnd) continue;
                float* row = px + c * plane + (oh + kh) * paddedWidth;
                float* tap = pt + (nint)d * g.KernelW * padded + co0;
                for (int kw = 0; kw < g.KernelW; kw++, tap += padded)
                {
                    Vector512<float> u = Vector512.Load(row + kw), v = Vector512.Load(row + kw + offset1);
                    Vector512<float> s = TV.N > 2 ? Vector512.Load(row + kw + offset2) : default, t = TV.N > 2 ? Vector512.Load(row + kw + offset3) : default;
                    Tap<TV>(tap[0], u, v, s, t, ref a0, ref b0, ref c0, ref e0);
                    if (TC.N > 1) Tap<TV>(tap[1], u, v, s, t, ref a1, ref b1, ref c1, ref e1);
                    if (TC.N > 2) Tap<TV>(tap[2], u, v, s, t, ref a2, ref b2, ref c2, ref e2);
                    if (TC.N > 3) Tap<TV>(tap[3], u, v, s, t, ref a3, ref b3, ref c3, ref e3);
                    if (TC.N > 4) Tap<TV>(tap[4], u, v, s, t, ref a4, ref b4, ref c4, ref e4);
                    if (TC.N > 5) Tap<TV>(tap[5], u, v, s, t, ref a5, ref b5, ref c5, ref e5);
                    if (TC.N > 6) Tap<Two>(tap[6], u, v, s, t, ref a6, ref b6, ref c0, ref e0);
                    if (TC.N > 7) Tap<Two>(tap[7], u, v, s, t, ref a7, ref b7, ref c0, ref e0);
                }
            }
            bool nextRow = oh + 1 < g.OutHeight;
            float* target = py + co0 * outPlane + oh * g.OutWidth;
            if (TF.On)
            {
                sums[0] = a0; sums[1] = b0; sums[2] = c0; sums[3] = e0;
                if (TC.N > 1) { sums[4] = a1; sums[5] = b1; sums[6] = c1; sums[7] = e1; }
                if (TC.N > 2) { sums[8] = a2; sums[9] = b2; sums[10] = c2; sums[11] = e2; }
                if (TC.N > 3) { sums[12] = a3; sums[13] = b3; sums[14] = c3; sums[15] = e3; }
                if (TC.N > 4) { sums[16] = a4; sums[17] = b4; sums[18] = c4; sums[19] = e4; }
                if (TC.N > 5) { sums[20] = a5; sums[21] = b5; sums[22] = c5; sums[23] = e5; }
                SigmoidPoolRows(sums, TC.N, target, outPlane, bias, co0, first, second, nextRow, g.OutWidth, oh, fuse);
                continue;
            }
            Store<TV>(target, a0, b0, c0, e0, bias, co0, relu, first, second, wide, nextRow, g.OutWidth);
            if (TC.N > 1) Store<TV>(target + outPlane, a1, b1, c1, e1, bias, co0 + 1, relu, first, second, wide, nextRow, g.OutWidth);
            if (TC.N > 2) Store<TV>(target + 2 * outPlane, a2, b2, c2, e2, bias, co0 + 2, relu, first, second, wide, nextRow, g.OutWidth);
            if (TC.N > 3) Store<TV>(target + 3 * outPlane, a3, b3, c3, e3, bias, co0 + 3, relu, first, second, wide, nextRow, g.OutWidth);
            if (TC.N > 4) Store<TV>(target + 4 * outPlane, a4, b4, c4, e4, bias, co0 + 4, relu, first, second, wide, nextRow, g.OutWidth);
            if (TC.N > 5) Store<TV>(target + 5 * outPlane, a5, b5, c5, e5, bias, co0 + 5, relu, first, second, wide, nextRow, g.OutWidth);
            if (TC.N > 6) Store<Two>(target + 6 * outPlane, a6, b6, default, default, bias, co0 + 6, relu, first, second, wide, nextRow, g.OutWidth);
            if (TC.N > 7) Store<Two>(target + 7 * outPlane, a7, b7, default, default, bias, co0 + 7, relu, first, second, wide, nextRow, g.OutWidth);
        }
    }

    /// <summary>One tap of one channel: its weight times each of the TV input vectors, added to that vector's accumulator.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tap<TV>(float weight, Vector512<float> u, Vector512<float> v, Vector512<float> s, Vector512<float> t,
        ref Vector512<float> a, ref Vector512<float> b, ref Vector512<float> c, ref Vector512<float> e) where TV : struct, ICount
    {
        Vector512<float> w = Vector512.Create(weight);
        a = Vector512.FusedMultiplyAdd(w, u, a);
        b = Vector512.FusedMultiplyAdd(w, v, b);
        if (TV.N > 2)
        {
            c = Vector512.FusedMultiplyAdd(w, s, c);
            e = Vector512.FusedMultiplyAdd(w, t, e);
        }
    }

    /// <summary>
    /// Channel <paramref name="channel"/>'s TV vectors: with 2, the halves of one wide row or two short rows (the second
    /// if it exists); with 4, the halves of two wide rows (the second row if it exists).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store<TV>(float* row, Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> e, float* bias, int channel, bool relu,
        Vector512<float> first, Vector512<float> second, bool wide, bool nextRow, int width) where TV : struct, ICount
    {
        if (TV.N > 2)
        {
            Store(row, a, b, bias, channel, relu, first, second, 16, storeSecond: true);
            if (nextRow) Store(row + width, c, e, bias, channel, relu, first, second, 16, storeSecond: true);
        }
        else if (wide) Store(row, a, b, bias, channel, relu, first, second, 16, storeSecond: true);
        else Store(row, a, b, bias, channel, relu, first, second, width, storeSecond: nextRow);
    }

    /// <summary>Whether <see cref="Rows"/> takes a Sigmoid and pooling on its sums (a separate compilation of it for each).</summary>
    private interface IFusion { static abstract bool On { get; } }
    private struct Fused : IFusion { public static bool On => true; }
    private struct Plain : IFusion { public static bool On => false; }

    /// <summary>
    /// Where <see cref="Forward"/> puts a fused Sigmoid and 2 x 2 pooling: the pooled sample (null: no fusing), its planes,
    /// 1 / divisor, and whether the Sigmoid's derivative is computed and stored too (not for inference).
    /// </summary>
    private readonly unsafe struct SigmoidPool(float* pooled, in Pool2dGeometry pool, float scale, bool keepDerivative)
    {
        public readonly float* Pooled = pooled;
        public readonly bool KeepDerivative = keepDerivative;
        public readonly int Plane = pool.OutHeight * pool.OutWidth, Width = pool.OutWidth, Height = pool.OutHeight;
        public readonly Vector512<float> Scale = Vector512.Create(scale);
        public readonly Vector512<float> Mask = Vector512.LessThan(Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create((float)pool.OutWidth));
    }

    /// <summary>
    /// A row pair's <paramref name="channels"/> channels (a, b, c, e each, from <paramref name="sums"/>) through
    /// <see cref="SigmoidPoolStore"/>: rows oh and oh + 1 are a row of windows (oh is even) unless oh + 1 is the last
    /// row of an odd height. A call of its own, so that the summing loop keeps its registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void SigmoidPoolRows(Vector512<float>* sums, int channels, float* target, int outPlane, float* bias, int co0,
        Vector512<float> first, Vector512<float> second, bool nextRow, int width, int oh, in SigmoidPool fuse)
    {
        bool windows = oh / 2 < fuse.Height;
        float* pooledRow = fuse.Pooled + (long)co0 * fuse.Plane + oh / 2 * fuse.Width;
        for (int j = 0; j < channels; j++, sums += 4)
        {
            SigmoidPoolStore(target + (long)j * outPlane, sums[0], sums[1], sums[2], sums[3], bias, co0 + j, first, second, nextRow, width, windows,
                pooledRow + (long)j * fuse.Plane, fuse);
        }
    }

    /// <summary>
    /// Channel <paramref name="channel"/>'s two wide rows (halves a, b and c, e), bias added: the Sigmoid's derivative
    /// stored at <paramref name="row"/> (the second row if it exists) and, where they are a row of windows, the
    /// Sigmoid's 2 x 2 averages at <paramref name="pooled"/>: each column's two rows summed, then each pair of columns
    /// (vpermt2ps gathers the even and the odd), as the pooling kernel sums them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void SigmoidPoolStore(float* row, Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> e, float* bias, int channel,
        Vector512<float> first, Vector512<float> second, bool nextRow, int width, bool windows, float* pooled, in SigmoidPool fuse)
    {
        if (bias != null)
        {
            Vector512<float> shift = Vector512.Create(bias[channel]);
            a += shift;
            b += shift;
            c += shift;
            e += shift;
        }
        Vector512<float> sa, sb, sc, se;
        if (fuse.KeepDerivative)
        {
            (sa, Vector512<float> da) = Kernels.SigmoidAndDerivative(a);
            (sb, Vector512<float> db) = Kernels.SigmoidAndDerivative(b);
            Avx512F.MaskStore(row, first, da);
            Avx512F.MaskStore(row + 16, second, db);
            if (!nextRow) return;
            (sc, Vector512<float> dc) = Kernels.SigmoidAndDerivative(c);
            (se, Vector512<float> de) = Kernels.SigmoidAndDerivative(e);
            Avx512F.MaskStore(row + width, first, dc);
            Avx512F.MaskStore(row + width + 16, second, de);
        }
        else
        {
            // A row with no row below it is in no window (the windows tile the rows in pairs): nothing to compute.
            if (!nextRow) return;
            sa = Kernels.Sigmoid(a);
            sb = Kernels.Sigmoid(b);
            sc = Kernels.Sigmoid(c);
            se = Kernels.Sigmoid(e);
        }
        if (!windows) return;
        Vector512<float> left = sa + sc, right = sb + se;
        Vector512<int> even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        Vector512<float> sum = Avx512F.PermuteVar16x32x2(left, even, right) + Avx512F.PermuteVar16x32x2(left, even + Vector512<int>.One, right);
        Avx512F.MaskStore(pooled, fuse.Mask, sum * fuse.Scale);
    }

    /// <summary>Stores channel <paramref name="channel"/>'s pair of vectors at <paramref name="row"/> with masks (bias added, ReLU applied).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(float* row, Vector512<float> a, Vector512<float> b, float* bias, int channel, bool relu,
        Vector512<float> first, Vector512<float> second, nint next, bool storeSecond)
    {
        if (bias != null)
        {
            Vector512<float> shift = Vector512.Create(bias[channel]);
            a += shift;
            b += shift;
        }
        if (relu)
        {
            a = Vector512.Max(a, Vector512<float>.Zero);
            b = Vector512.Max(b, Vector512<float>.Zero);
        }
        Avx512F.MaskStore(row, first, a);
        if (storeSecond) Avx512F.MaskStore(row + next, second, b);
    }

    /// <summary>
    /// Whether <see cref="WeightGradient"/> takes this geometry: a direct layer with kernels 3 to 5 wide (LeNet's 5 x 5, the
    /// small ResNet's 3 x 3 at 28 x 28: 1.6-2x the speed of its patch matrices, one AMD core).
    /// </summary>
    /// <remarks>
    /// In 256-bit vectors (no AVX-512) only for rows of more than 8: with rows of 7 (the small ResNet's 64-64 layers), each
    /// task parks and reloads its accumulators per sample for a single vector a row, and the patch matrices were faster
    /// (batch 256, one AMD core, AVX-512 off: 29-30 against 34-35 ms; LeNet's first layer 2.5-2.7 -> 0.95-0.98 ms, its
    /// second 4.3 -> 3.5-3.6, the ResNet's 16-16 at 28 x 28 24-29 -> 15-16).
    /// </remarks>
    public static bool AppliesToWeightGradient(in Conv2dGeometry g) => Applies(g) && g.KernelW is >= 3 and <= 5 && (Avx512F.IsSupported || g.OutWidth > 8);

    /// <summary>
    /// weightGrad[co, ci, kh, kw] += sum over samples and output positions of dY[co, oh, ow] x[ci, oh + kh, ow + kw] (in
    /// the padded plane). For each block of 3 output channels, input channel and kernel row, up to 15 accumulators (3
    /// channels x the kernel's 3 to 5 taps) stay in registers over a sample's rows: per output row, the 3 gradient rows
    /// and the shifted input rows (each one or two vectors, masked at the row end) feed up to 15 or 30 multiply-adds. Each (channel block, input channel,
    /// kernel row) task sums its samples in order and writes weights of its own, so tasks split across threads give the
    /// same bits as on one; tasks are numbered channel block first, so that two parts read the output gradient of
    /// different channels. With <paramref name="biasGrad"/> (else empty), the first task of each channel block (input
    /// channel 0, kernel row 0) also sums its channels' output gradient into it, from the rows it loads anyway: the
    /// output gradient is not read a second time for the bias.
    /// </summary>
    /// <remarks>
    /// With <paramref name="sigmoidDerivative"/> (not empty: the derivative of a Sigmoid on the layer's output, which an
    /// average pooling with <paramref name="pool"/> takes next), <paramref name="outputGrad"/> is the pooling's output
    /// gradient, and the layer's is formed a sample at a time, for the channels of the part's tasks, into a per-thread
    /// buffer that stays in L1 while the tasks read it: the pooling's input gradient times the derivative, never written whole.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void WeightGradient(Span<float> weightGrad, Span<float> biasGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> input, int batch, in Conv2dGeometry g,
        ReadOnlySpan<float> sigmoidDerivative = default, in Pool2dGeometry pool = default, bool countIncludePad = true, int divisorOverride = 0)
    {
        int tasks = g.InChannels * g.KernelH * ((g.OutChannels + 2) / 3);
        long work = (long)batch * g.OutputSize * g.InChannels * g.KernelH * g.KernelW;
        fixed (float* px = input, pdy = outputGrad, pw = weightGrad, pb = biasGrad, ph = sigmoidDerivative)
        {
            WeightGradientJob job = s_weightJob ??= new WeightGradientJob();
            job.BiasGrad = pb;
            job.Input = px;
            job.OutputGrad = pdy;
            job.WeightGrad = pw;
            job.Derivative = sigmoidDerivative.IsEmpty ? null : ph;
            (job.Pool, job.CountIncludePad, job.DivisorOverride) = (pool, countIncludePad, divisorOverride);
            (job.Batch, job.Geometry, job.Tasks) = (batch, g, tasks);
            // Split across threads where that measured faster for this layer on this machine (SplitCalibration).
            StaticNet.Simd.SplitCalibration.Trial trial = StaticNet.Simd.SplitCalibration.Begin(StaticNet.Simd.SplitCalibration.DirectWeightGradient, batch * 2L + (sigmoidDerivative.IsEmpty ? 0 : 1),
                g.GetHashCode(), ((long)g.InputSize << 32) | (uint)g.OutputSize, work >= 1L << 20 ? Math.Clamp(Threading.NumThreads, 1, tasks) : 1);
            job.Parts = trial.Parts;
            StaticNet.Simd.WorkerPool.Run(job, job.Parts);
            trial.End();
        }
    }

    [ThreadStatic] private static WeightGradientJob? s_weightJob;

    /// <summary>The weight gradient's tasks, a range per part.</summary>
    private sealed unsafe class WeightGradientJob : StaticNet.Simd.IPartitionedJob
    {
        public float* Input, OutputGrad, WeightGrad, BiasGrad, Derivative;
        public int Batch, Tasks, Parts, DivisorOverride;
        public Conv2dGeometry Geometry;
        public Pool2dGeometry Pool;
        public bool CountIncludePad;

        [ThreadStatic] private static float[]? s_accumulators, s_sample, s_spread, s_formed;

        /// <summary>
        /// Sample by sample: the sample's input is padded into a per-thread plane (zero borders written once), then every
        /// task of the part runs on it in turn, each task's 15 accumulators parked in a per-thread buffer between samples.
        /// A sample's output gradient and padded input (under 25 KB for LeNet's first layer) stay in L1 across the tasks
        /// that read them, and the batch is never copied whole. Each accumulator sums its samples and rows in the same
        /// order whatever the split.
        /// </summary>
        public void Execute(int part)
        {
            int first = (int)((long)Tasks * part / Parts), last = (int)((long)Tasks * (part + 1) / Parts);
            if (first >= last) return;
            Conv2dGeometry g = Geometry;
            int paddedWidth = PaddedWidth(g), plane = (g.OutHeight + g.KernelH - 1) * paddedWidth;
            Span<float> parked = Scratch(ref s_accumulators, (last - first) * AccumulatorFloats + 16);
            parked.Clear();
            Span<float> padded = Scratch(ref s_sample, g.InChannels * plane + 16);
            padded.Clear();
            // Through a Sigmoid and pooling: the output gradient of the channels [formedFirst, formedEnd) that the part's tasks
            // read, formed per sample (the tasks' channel blocks are consecutive: tasks are numbered channel block first).
            bool forming = Derivative != null;
            int formedFirst = TaskOf(first, g).Co0, formedEnd = Math.Min(g.OutChannels, TaskOf(last - 1, g).Co0 + 3);
            int formedLength = forming ? (formedEnd - formedFirst) * g.OutputPlane : 0;
            Span<float> spread = forming ? Scratch(ref s_spread, formedLength) : default;
            if (forming && (s_formed is null || s_formed.Length < formedLength + 16)) s_formed = Simd.AlignedArray.Allocate(formedLength);
            float[]? formed = forming ? s_formed : null;
            fixed (float* buffer = parked, paddedBuffer = padded, formedBuffer = formed)
            {
                float* slots = (float*)(((nint)buffer + 63) & ~(nint)63); // 64-byte aligned: whole-line loads and stores
                float* xp = (float*)(((nint)paddedBuffer + 63) & ~(nint)63);
                float* dyFormed = forming ? formedBuffer + Simd.AlignedArray.Start(formed!) : null;
                for (int n = 0; n < Batch; n++)
                {
                    CopyIntoPadded(xp, Input + (long)n * g.InputSize, g, paddedWidth, plane);
                    // The tasks address sample n's channel co0 at dy + (n * OutChannels + co0) * plane: a formed sample is
                    // sample 0 of a buffer that starts formedFirst channels in.
                    float* dy = OutputGrad;
                    int sample = n;
                    if (forming)
                    {
                        Form(new Span<float>(dyFormed, formedLength), spread, n, formedFirst, formedEnd);
                        dy = dyFormed - (long)formedFirst * g.OutputPlane;
                        sample = 0;
                    }
                    if (n + 1 < Batch) PrefetchSample(n + 1, formedFirst, formedEnd);
                    for (int task = first; task < last; task++)
                    {
                        WeightGradientTask(task, xp, dy, g, paddedWidth, plane, sample, slots + (task - first) * AccumulatorFloats, BiasGrad != null);
                    }
                }
                for (int task = first; task < last; task++) AddTaskSums(task, WeightGrad, BiasGrad, g, slots + (task - first) * AccumulatorFloats);
            }
        }

        /// <summary>
        /// What sample n's turn will read from the batch, into L2 while the current sample's tasks run from L1: its input,
        /// and its output gradient of channels [first, end) (with a Sigmoid and pooling: their derivative and pooled
        /// gradient). The derivative, written by the forward long before, is otherwise fetched from memory as Form reads it.
        /// </summary>
        private void PrefetchSample(int n, int first, int end)
        {
            Conv2dGeometry g = Geometry;
            long channels = (long)n * g.OutChannels + first;
            Simd.Prefetch.ToL2(Input + (long)n * g.InputSize, g.InputSize);
            if (Derivative == null)
            {
                Simd.Prefetch.ToL2(OutputGrad + channels * g.OutputPlane, (long)(end - first) * g.OutputPlane);
                return;
            }
            Simd.Prefetch.ToL2(Derivative + channels * g.OutputPlane, (long)(end - first) * g.OutputPlane);
            Simd.Prefetch.ToL2(OutputGrad + channels * Pool.OutHeight * Pool.OutWidth, (long)(end - first) * Pool.OutHeight * Pool.OutWidth);
        }

        /// <summary>
        /// The layer's output gradient for sample n's channels [first, end), from the pooling's output gradient: the
        /// pooling's backward into <paramref name="spread"/>, then times the Sigmoid's derivative at the layer's output
        /// (what <see cref="Kernels.AvgPool2dTimesDerivativeBackward"/> computes, on those channels alone).
        /// </summary>
        private void Form(Span<float> formed, Span<float> spread, int n, int first, int end)
        {
            Pool2dGeometry channels = Pool with { Channels = end - first };
            long offset = (long)n * Geometry.OutChannels + first;
            Pool2dGeometry p = Pool;
            if (Avx512F.IsSupported && p.KernelW == 2 && p.StrideW == 2 && p.StrideH == p.KernelH && p.PadTop == 0 && p.PadLeft == 0 && p.OutHeight * p.KernelH == p.InHeight
                && p.OutWidth * 2 == p.InWidth)
            {
                FormPairs(formed, OutputGrad + offset * p.OutHeight * p.OutWidth, Derivative + offset * Geometry.OutputPlane, end - first, p,
                    1f / (DivisorOverride > 0 ? DivisorOverride : p.KernelH * 2));
                return;
            }
            Kernels.AvgPool2dBackward(spread, new ReadOnlySpan<float>(OutputGrad + offset * channels.OutHeight * channels.OutWidth, channels.OutputSize), 1, channels,
                CountIncludePad, DivisorOverride);
            System.Numerics.Tensors.TensorPrimitives.Multiply(spread, new ReadOnlySpan<float>(Derivative + offset * Geometry.OutputPlane, formed.Length), formed);
        }
    }

    /// <summary>
    /// <see cref="WeightGradientJob"/>'s forming for windows 2 wide that tile the plane exactly (LeNet's 2 x 2): per 16
    /// pooled gradients of a row, times <paramref name="scale"/>, each duplicated into its window's two columns (vpermps),
    /// then times the derivative of each of the window's rows, in one pass: the products the pooling's backward and the
    /// multiplication give in two.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void FormPairs(Span<float> formed, float* pooledGrad, float* derivative, int channels, in Pool2dGeometry p, float scale)
    {
        Vector512<int> lowHalf = Vector512.Create(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7), highHalf = lowHalf + Vector512.Create(8);
        Vector512<float> lanes = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), factor = Vector512.Create(scale);
        // Rows of at most 16 windows (all that a direct layer, at most 32 outputs wide, gives) are one block each, formed
        // in order: the lanes past a row's end land on the next row, formed after it, so plain loads and stores serve
        // wherever they stay in the channels' range (masked ones cost more where the derivative is not yet in L1).
        bool ordered = p.OutWidth <= 16;
        long total = (long)channels * p.InHeight * p.InWidth, pooledTotal = (long)channels * p.OutHeight * p.OutWidth;
        fixed (float* target = formed)
        {
            for (int c = 0; c < channels; c++)
            {
                for (int oh = 0; oh < p.OutHeight; oh++)
                {
                    long row = ((long)c * p.OutHeight + oh) * p.OutWidth;
                    for (int ow = 0; ow < p.OutWidth; ow += 16)
                    {
                        int count = Math.Min(16, p.OutWidth - ow);
                        Vector512<float> low = Vector512.LessThan(lanes, Vector512.Create((float)(2 * count)));
                        Vector512<float> high = Vector512.LessThan(lanes, Vector512.Create((float)(2 * count - 16)));
                        Vector512<float> share = ordered && row + ow + 16 <= pooledTotal
                            ? Vector512.Load(pooledGrad + row + ow)
                            : Avx512F.MaskLoad(pooledGrad + row + ow, Vector512.LessThan(lanes, Vector512.Create((float)count)), Vector512<float>.Zero);
                        share *= factor;
                        Vector512<float> a = Avx512F.PermuteVar16x32(share, lowHalf), b = Avx512F.PermuteVar16x32(share, highHalf);
                        for (int kh = 0; kh < p.KernelH; kh++)
                        {
                            long at = ((long)c * p.InHeight + oh * p.KernelH + kh) * p.InWidth + 2 * ow;
                            if (ordered && at + (count > 8 ? 32 : 16) <= total)
                            {
                                Vector512.Store(a * Vector512.Load(derivative + at), target + at);
                                if (count > 8) Vector512.Store(b * Vector512.Load(derivative + at + 16), target + at + 16);
                                continue;
                            }
                            Avx512F.MaskStore(target + at, low, a * Avx512F.MaskLoad(derivative + at, low, Vector512<float>.Zero));
                            if (count > 8) Avx512F.MaskStore(target + at + 16, high, b * Avx512F.MaskLoad(derivative + at + 16, high, Vector512<float>.Zero));
                        }
                    }
                }
            }
        }
    }

    /// <summary>A task's channel block, input channel and kernel row: channel block first, then input channel, then row.</summary>
    private static (int Co0, int Ci, int Kh) TaskOf(int task, in Conv2dGeometry g) =>
        (task / (g.InChannels * g.KernelH) * 3, task / g.KernelH % g.InChannels, task % g.KernelH);

    /// <summary>Floats of one task's parked accumulators: 3 channels x 5 taps, then 3 bias sums, one vector each.</summary>
    private const int AccumulatorFloats = 18 * 16;

    /// <summary>Adds a task's parked accumulators, lane sums, into its weights (and the bias sums into the bias, if the task has them).</summary>
    private static unsafe void AddTaskSums(int task, float* pw, float* pb, in Conv2dGeometry g, float* slot)
    {
        if (!Avx512F.IsSupported)
        {
            AddTaskSums256(task, pw, pb, g, slot);
            return;
        }
        (int co0, int ci, int kh) = TaskOf(task, g);
        int count = Math.Min(3, g.OutChannels - co0), kw = g.KernelW;
        float* w0 = pw + ((co0 * g.InChannels + ci) * g.KernelH + kh) * kw;
        for (int j = 0; j < count; j++)
        {
            float* a = slot + j * 5 * 16;
            AddSums(w0 + j * g.InChannels * g.KernelH * kw, kw, Vector512.Load(a), Vector512.Load(a + 16), Vector512.Load(a + 32), Vector512.Load(a + 48), Vector512.Load(a + 64));
            if (pb != null && ci == 0 && kh == 0) pb[co0 + j] += Simd.Vec512.Sum(new Simd.Vec512(Vector512.Load(slot + (15 + j) * 16)));
        }
    }

    /// <summary>
    /// One task of <see cref="WeightGradient"/> (input channel, kernel row and block of 3 output channels, from its index)
    /// over sample <paramref name="n"/>, whose padded input is <paramref name="px"/>: its 15 accumulators are read from
    /// <paramref name="slot"/> and written back (with <paramref name="bias"/>, for the first task of a channel block, its 3
    /// bias sums too).
    /// </summary>
    private static unsafe void WeightGradientTask(int task, float* px, float* pdy, in Conv2dGeometry g, int paddedWidth, int plane, int n, float* slot, bool bias)
    {
        // The block's channel count as a type: the loads and multiply-adds of channels it lacks are left out when compiled,
        // not branched around per row (two taken jumps per conditional load, as the JIT laid them out).
        int channels = Math.Min(3, g.OutChannels - TaskOf(task, g).Co0);
        if (!Avx512F.IsSupported)
        {
            WeightGradientTask256(channels, task, px, pdy, g, paddedWidth, plane, n, slot, bias);
            return;
        }
        // Likewise the kernel's width: taps it lacks are not computed.
        if (g.KernelW == 5)
        {
            switch (channels)
            {
                case 3: WeightGradientTask<Three, Five>(task, px, pdy, g, paddedWidth, plane, n, slot, bias); break;
                case 2: WeightGradientTask<Two, Five>(task, px, pdy, g, paddedWidth, plane, n, slot, bias); break;
                default: WeightGradientTask<One, Five>(task, px, pdy, g, paddedWidth, plane, n, slot, bias); break;
            }
        }
        else if (g.KernelW == 4)
        {
            switch (channels)
            {
                case 3: WeightGradientTask<Three, Four>(task, px, pdy, g, paddedWidth, plane, n, slot, bias); break;
                case 2: WeightGradientTask<Two, Four>(task, px, pdy, g, paddedWidth, plane, n, slot, bias); break;
                default: WeightGradientTask<One, Four>(task, px, pdy, g, paddedWidth, plane, n, slot, bias); break;
            }
        }
        else
        {
            switch (channels)
            {
                case 3: WeightGradientTask<Three, Three>(task, px, pdy, g, paddedWidth, plane, n, slot, bias); break;
                case 2: WeightGradientTask<Two, Three>(task, px, pdy, g, paddedWidth, plane, n, slot, bias); break;
                default: WeightGradientTask<One, Three>(task, px, pdy, g, paddedWidth, plane, n, slot, bias); break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void WeightGradientTask<TC, TT>(int task, float* px, float* pdy, in Conv2dGeometry g, int paddedWidth, int plane, int n, float* slot, bool bias)
        where TC : struct, ICount where TT : struct, ICount
    {
        bool wide = g.OutWidth > 16;
        int outPlane = g.OutputPlane;
        (int co0, int ci, int kh) = TaskOf(task, g);
        Vector512<float> lanes = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        Vector512<float> lowMask = Vector512.LessThan(lanes, Vector512.Create((float)Math.Min(g.OutWidth, 16)));
        Vector512<float> highMask = Vector512.LessThan(lanes, Vector512.Create((float)(g.OutWidth - 16)));
        Vector512<float> a00 = Vector512.Load(slot), a01 = Vector512.Load(slot + 16), a02 = Vector512.Load(slot + 32), a03 = Vector512.Load(slot + 48), a04 = Vector512.Load(slot + 64);
        Vector512<float> a10 = Vector512.Load(slot + 80), a11 = Vector512.Load(slot + 96), a12 = Vector512.Load(slot + 112), a13 = Vector512.Load(slot + 128), a14 = Vector512.Load(slot + 144);
        Vector512<float> a20 = Vector512.Load(slot + 160), a21 = Vector512.Load(slot + 176), a22 = Vector512.Load(slot + 192), a23 = Vector512.Load(slot + 208), a24 = Vector512.Load(slot + 224);
        bias = bias && ci == 0 && kh == 0;
        Vector512<float> s0 = Vector512.Load(slot + 240), s1 = Vector512.Load(slot + 256), s2 = Vector512.Load(slot + 272);
        float* dy0 = pdy + ((long)n * g.OutChannels + co0) * outPlane;
        float* dy1 = TC.N > 1 ? dy0 + outPlane : dy0;
        float* dy2 = TC.N > 2 ? dy0 + 2 * outPlane : dy0;
        float* rows = px + ci * plane + kh * paddedWidth;
        for (int oh = 0; oh < g.OutHeight; oh++)
        {
            float* x = rows + oh * paddedWidth;
            int at = oh * g.OutWidth;
            Vector512<float> d0 = Avx512F.MaskLoad(dy0 + at, lowMask, Vector512<float>.Zero);
            Vector512<float> d1 = TC.N > 1 ? Avx512F.MaskLoad(dy1 + at, lowMask, Vector512<float>.Zero) : default;
            Vector512<float> d2 = TC.N > 2 ? Avx512F.MaskLoad(dy2 + at, lowMask, Vector512<float>.Zero) : default;
            if (bias)
            {
                s0 += d0;
                s1 += d1;
                s2 += d2;
            }
            // The row's vectors at offsets 0-4 from two aligned loads, shifted together (valignd), rather than four
            // loads that each straddle two cache lines.
            Vector512<float> l0 = Vector512.Load(x), l1 = Vector512.Load(x + 16);
            Vector512<float> u = l0;
            a00 = Vector512.FusedMultiplyAdd(d0, u, a00); a10 = Vector512.FusedMultiplyAdd(d1, u, a10); a20 = Vector512.FusedMultiplyAdd(d2, u, a20);
            u = Avx512F.AlignRight32(l1.AsUInt32(), l0.AsUInt32(), 1).AsSingle();
            a01 = Vector512.FusedMultiplyAdd(d0, u, a01); a11 = Vector512.FusedMultiplyAdd(d1, u, a11); a21 = Vector512.FusedMultiplyAdd(d2, u, a21);
            u = Avx512F.AlignRight32(l1.AsUInt32(), l0.AsUInt32(), 2).AsSingle();
            a02 = Vector512.FusedMultiplyAdd(d0, u, a02); a12 = Vector512.FusedMultiplyAdd(d1, u, a12); a22 = Vector512.FusedMultiplyAdd(d2, u, a22);
            if (TT.N > 3)
            {
                u = Avx512F.AlignRight32(l1.AsUInt32(), l0.AsUInt32(), 3).AsSingle();
                a03 = Vector512.FusedMultiplyAdd(d0, u, a03); a13 = Vector512.FusedMultiplyAdd(d1, u, a13); a23 = Vector512.FusedMultiplyAdd(d2, u, a23);
            }
            if (TT.N > 4)
            {
                u = Avx512F.AlignRight32(l1.AsUInt32(), l0.AsUInt32(), 4).AsSingle();
                a04 = Vector512.FusedMultiplyAdd(d0, u, a04); a14 = Vector512.FusedMultiplyAdd(d1, u, a14); a24 = Vector512.FusedMultiplyAdd(d2, u, a24);
            }
            // Rows wider than 16: the same taps again on the second vector, written out on purpose. A loop over the two
            // halves ran about 20% slower, and an inlined helper taking the 15 accumulators by ref 20-40% slower (LeNet's
            // conv1 at batch 256, one thread, AMD: 0.50-0.60 -> 0.61-0.73 ms): the JIT then keeps them in memory.
            if (!wide) continue;
            d0 = Avx512F.MaskLoad(dy0 + at + 16, highMask, Vector512<float>.Zero);
            d1 = TC.N > 1 ? Avx512F.MaskLoad(dy1 + at + 16, highMask, Vector512<float>.Zero) : default;
            d2 = TC.N > 2 ? Avx512F.MaskLoad(dy2 + at + 16, highMask, Vector512<float>.Zero) : default;
            if (bias)
            {
                s0 += d0;
                s1 += d1;
                s2 += d2;
            }
            Vector512<float> l2 = Vector512.Load(x + 32);
            u = l1;
            a00 = Vector512.FusedMultiplyAdd(d0, u, a00); a10 = Vector512.FusedMultiplyAdd(d1, u, a10); a20 = Vector512.FusedMultiplyAdd(d2, u, a20);
            u = Avx512F.AlignRight32(l2.AsUInt32(), l1.AsUInt32(), 1).AsSingle();
            a01 = Vector512.FusedMultiplyAdd(d0, u, a01); a11 = Vector512.FusedMultiplyAdd(d1, u, a11); a21 = Vector512.FusedMultiplyAdd(d2, u, a21);
            u = Avx512F.AlignRight32(l2.AsUInt32(), l1.AsUInt32(), 2).AsSingle();
            a02 = Vector512.FusedMultiplyAdd(d0, u, a02); a12 = Vector512.FusedMultiplyAdd(d1, u, a12); a22 = Vector512.FusedMultiplyAdd(d2, u, a22);
            if (TT.N > 3)
            {
                u = Avx512F.AlignRight32(l2.AsUInt32(), l1.AsUInt32(), 3).AsSingle();
                a03 = Vector512.FusedMultiplyAdd(d0, u, a03); a13 = Vector512.FusedMultiplyAdd(d1, u, a13); a23 = Vector512.FusedMultiplyAdd(d2, u, a23);
            }
            if (TT.N > 4)
            {
                u = Avx512F.AlignRight32(l2.AsUInt32(), l1.AsUInt32(), 4).AsSingle();
                a04 = Vector512.FusedMultiplyAdd(d0, u, a04); a14 = Vector512.FusedMultiplyAdd(d1, u, a14); a24 = Vector512.FusedMultiplyAdd(d2, u, a24);
            }
        }
        a00.Store(slot); a01.Store(slot + 16); a02.Store(slot + 32); a03.Store(slot + 48); a04.Store(slot + 64);
        a10.Store(slot + 80); a11.Store(slot + 96); a12.Store(slot + 112); a13.Store(slot + 128); a14.Store(slot + 144);
        a20.Store(slot + 160); a21.Store(slot + 176); a22.Store(slot + 192); a23.Store(slot + 208); a24.Store(slot + 224);
        s0.Store(slot + 240); s1.Store(slot + 256); s2.Store(slot + 272);
    }

    /// <summary>w[0..taps) += the lane sums of the first <paramref name="taps"/> (3 to 5) accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddSums(float* w, int taps, Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3, Vector512<float> a4)
    {
        Vector128<float> sums = Simd.Vec512.Sum4(new Simd.Vec512(a0), new Simd.Vec512(a1), new Simd.Vec512(a2), new Simd.Vec512(a3));
        w[0] += sums.GetElement(0);
        w[1] += sums.GetElement(1);
        w[2] += sums.GetElement(2);
        if (taps > 3) w[3] += sums.GetElement(3);
        if (taps > 4) w[4] += Simd.Vec512.Sum(new Simd.Vec512(a4));
    }

    private static Span<float> Scratch(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length) buffer = new float[length];
        return buffer.AsSpan(0, length);
    }
}
