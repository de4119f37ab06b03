using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using StaticNet.Simd;

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
/// same bits. The weight gradient too (its own bits: lane sums over 8 lanes). A Sigmoid and 2 x 2 pooling after the
/// layer (LeNet's first) are taken from the registers as each row is summed: an even row's sums are parked (in L1) until
/// the row below is summed, then both go through the Sigmoid, their derivative is stored and the window sums pooled, in
/// the order the separate kernels sum them.
/// </summary>
internal static partial class DirectConv
{
    /// <summary>Whether <see cref="Forward"/> runs <see cref="Forward256"/>: FMA and 256-bit vectors, no AVX-512.</summary>
    private static bool In256 => !Avx512F.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Forward256(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> taps, ReadOnlySpan<float> bias, in Conv2dGeometry g, bool relu,
        Span<float> pooled = default, in Pool2dGeometry pool = default, float poolScale = 0, bool keepDerivative = true)
    {
        bool fused = !pooled.IsEmpty; // rows of 17 to 32 (3 or 4 vectors), at most 6 channels (FusesSigmoidPool)
        // With the Sigmoid and pooling fused: each channel's even row, its sums and bias, until the row below is summed.
        Vector256<float>* parked = stackalloc Vector256<float>[fused ? 4 * g.OutChannels : 1];
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
        fixed (float* px = xp, pt = taps, py = y, pb = bias, source = x, pp = pooled)
        {
            CopyIntoPadded256(px, source, g, paddedWidth, plane);
            float* b = bias.IsEmpty ? null : pb;
            var fuse = new SigmoidPool256(pp, parked, pool, poolScale, keepDerivative, g.OutHeight);
            // Row by row, every block of channels: the rows a row's taps read (the kernel's height in every input channel) stay in L1.
            for (int oh = 0; oh < g.OutHeight; oh += rowsPerStep)
            {
                for (int co0 = 0; co0 < g.OutChannels; co0 += block)
                {
                    int count = Math.Min(block, g.OutChannels - co0);
                    switch (vectors)
                    {
                        case 4 when fused: Block256<Four, Fused>(count, py, px, pt, b, g, co0, oh, plane, paddedWidth, padded, relu, fuse); break;
                        case 3 when fused: Block256<Three, Fused>(count, py, px, pt, b, g, co0, oh, plane, paddedWidth, padded, relu, fuse); break;
                        case 4: Block256<Four, Plain>(count, py, px, pt, b, g, co0, oh, plane, paddedWidth, padded, relu, fuse); break;
                        case 3: Block256<Three, Plain>(count, py, px, pt, b, g, co0, oh, plane, paddedWidth, padded, relu, fuse); break;
                        case 2 when pairs: Block256<Two, Plain>(count, py, px, pt, b, g, co0, oh, plane, paddedWidth, padded, relu, fuse, paddedWidth); break;
                        case 2: Block256<Two, Plain>(count, py, px, pt, b, g, co0, oh, plane, paddedWidth, padded, relu, fuse); break;
                        default: Block256<One, Plain>(count, py, px, pt, b, g, co0, oh, plane, paddedWidth, padded, relu, fuse); break;
                    }
                }
            }
        }
    }

    private static unsafe void Block256<TU, TF>(int count, float* py, float* px, float* pt, float* bias, in Conv2dGeometry g, int co0, int oh, int plane, int paddedWidth, int padded,
        bool relu, in SigmoidPool256 fuse, int pairOffset = 0) where TU : struct, ICount where TF : struct, IFusion
    {
        switch (count)
        {
            case 6 when TU.N <= 2: Row256<TU, Six, TF>(py, px, pt, bias, g, co0, oh, plane, paddedWidth, padded, relu, fuse, pairOffset); break;
            case 5 when TU.N <= 2: Row256<TU, Five, TF>(py, px, pt, bias, g, co0, oh, plane, paddedWidth, padded, relu, fuse, pairOffset); break;
            case 4 when TU.N <= 2: Row256<TU, Four, TF>(py, px, pt, bias, g, co0, oh, plane, paddedWidth, padded, relu, fuse, pairOffset); break;
            case 3 when TU.N <= 3: Row256<TU, Three, TF>(py, px, pt, bias, g, co0, oh, plane, paddedWidth, padded, relu, fuse, pairOffset); break;
            case 2: Row256<TU, Two, TF>(py, px, pt, bias, g, co0, oh, plane, paddedWidth, padded, relu, fuse, pairOffset); break;
            case 1: Row256<TU, One, TF>(py, px, pt, bias, g, co0, oh, plane, paddedWidth, padded, relu, fuse, pairOffset); break;
            default: throw new InvalidOperationException($"A block of {count} channels with {TU.N} vectors per row has no 256-bit kernel.");
        }
    }

    /// <summary>
    /// Output row <paramref name="oh"/> of <typeparamref name="TC"/> channels from <paramref name="co0"/>, in
    /// <typeparamref name="TU"/> vectors: channel j's accumulators are aj0 .. aj3, at most 12 in use.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static unsafe void Row256<TU, TC, TF>(float* py, float* px, float* pt, float* bias, in Conv2dGeometry g, int co0, int oh, int plane, int paddedWidth, int padded,
        bool relu, in SigmoidPool256 fuse, int pairOffset) where TU : struct, ICount where TC : struct, ICount where TF : struct, IFusion
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
            if (TF.On)
            {
                // Parked for a call of its own, so that the summing loop keeps its registers.
                Vector256<float>* sums = stackalloc Vector256<float>[4 * TC.N];
                sums[0] = a00; sums[1] = a01; sums[2] = a02; sums[3] = a03;
                if (TC.N > 1) { sums[4] = a10; sums[5] = a11; sums[6] = a12; sums[7] = a13; }
                if (TC.N > 2) { sums[8] = a20; sums[9] = a21; sums[10] = a22; sums[11] = a23; }
                SigmoidPoolRow256(sums, TC.N, TU.N, target, outPlane, bias, co0, oh, g.OutWidth, spare, fuse);
                return;
            }
            StoreRow256<TU>(target, a00, a01, a02, a03, bias, co0, relu, next, left0, left1, g.OutWidth, spare);
            if (TC.N > 1) StoreRow256<TU>(target + outPlane, a10, a11, a12, a13, bias, co0 + 1, relu, next, left0, left1, g.OutWidth, spare);
            if (TC.N > 2) StoreRow256<TU>(target + 2 * outPlane, a20, a21, a22, a23, bias, co0 + 2, relu, next, left0, left1, g.OutWidth, spare);
            if (TC.N > 3) StoreRow256<TU>(target + 3 * outPlane, a30, a31, a32, a33, bias, co0 + 3, relu, next, left0, left1, g.OutWidth, spare);
            if (TC.N > 4) StoreRow256<TU>(target + 4 * outPlane, a40, a41, a42, a43, bias, co0 + 4, relu, next, left0, left1, g.OutWidth, spare);
            if (TC.N > 5) StoreRow256<TU>(target + 5 * outPlane, a50, a51, a52, a53, bias, co0 + 5, relu, next, left0, left1, g.OutWidth, spare);
        }
    }

    /// <summary>
    /// Where <see cref="Forward256"/> puts a fused Sigmoid and 2 x 2 pooling: the pooled sample, the parked even rows
    /// (4 vectors a channel), the pooled planes, 1 / divisor, whether the Sigmoid's derivative is stored too (not for
    /// inference), and the output's height.
    /// </summary>
    private readonly unsafe struct SigmoidPool256(float* pooled, Vector256<float>* parked, in Pool2dGeometry pool, float scale, bool keepDerivative, int height)
    {
        public readonly float* Pooled = pooled;
        public readonly Vector256<float>* Parked = parked;
        public readonly bool KeepDerivative = keepDerivative;
        public readonly int Plane = pool.OutHeight * pool.OutWidth, Width = pool.OutWidth, Height = height;
        public readonly Vector256<float> Scale = Vector256.Create(scale);
    }

    /// <summary>
    /// Row <paramref name="oh"/> of <paramref name="channels"/> channels from <paramref name="co0"/> (<paramref name="vectors"/>
    /// sums each in <paramref name="sums"/>), bias added: an even row with a row below it is parked; an odd row and the
    /// parked one above it go through the Sigmoid (the derivative stored in both rows), then each column's two values
    /// are summed and each pair of columns (vshufps, vpermpd), times 1 / divisor, as AvgPoolPairsForward256 sums them; a
    /// last even row of an odd height, in no window, only has its derivative stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void SigmoidPoolRow256(Vector256<float>* sums, int channels, int vectors, float* target, int outPlane, float* bias, int co0, int oh, int width,
        float* spare, in SigmoidPool256 fuse)
    {
        bool odd = (oh & 1) == 1, below = oh + 1 < fuse.Height;
        for (int j = 0; j < channels; j++, sums += 4)
        {
            Vector256<float> shift = bias != null ? Vector256.Create(bias[co0 + j]) : Vector256<float>.Zero;
            Vector256<float>* park = fuse.Parked + 4 * (co0 + j);
            float* row = target + (long)j * outPlane;
            if (!odd)
            {
                for (int v = 0; v < vectors; v++)
                {
                    Vector256<float> value = bias != null ? sums[v] + shift : sums[v];
                    if (below) park[v] = value;
                    else if (fuse.KeepDerivative) StoreVector(row + 8 * v, Kernels.SigmoidAndDerivative(new Vec256(value)).Derivative.Value, default, false, false, width - 8 * v, spare);
                }
                continue;
            }
            Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
            for (int v = 0; v < vectors; v++)
            {
                Vector256<float> top = park[v], bottom = bias != null ? sums[v] + shift : sums[v], column;
                if (fuse.KeepDerivative)
                {
                    (Vec256 st, Vec256 dt) = Kernels.SigmoidAndDerivative(new Vec256(top));
                    (Vec256 sb, Vec256 db) = Kernels.SigmoidAndDerivative(new Vec256(bottom));
                    StoreVector(row - width + 8 * v, dt.Value, default, false, false, width - 8 * v, spare);
                    StoreVector(row + 8 * v, db.Value, default, false, false, width - 8 * v, spare);
                    column = st.Value + sb.Value;
                }
                else column = Kernels.Sigmoid(new Vec256(top)).Value + Kernels.Sigmoid(new Vec256(bottom)).Value;
                switch (v)
                {
                    case 0: c0 = column; break;
                    case 1: c1 = column; break;
                    case 2: c2 = column; break;
                    default: c3 = column; break;
                }
            }
            float* pooledRow = fuse.Pooled + (long)(co0 + j) * fuse.Plane + oh / 2 * fuse.Width;
            PoolPairs256(pooledRow, c0, c1, fuse.Scale, Math.Min(8, fuse.Width), spare);
            PoolPairs256(pooledRow + 8, c2, c3, fuse.Scale, fuse.Width - 8, spare);
        }
    }

    /// <summary>The 2-wide averages of 16 columns' sums a and b: [a0 a2 b0 b2 | a4 a6 b4 b6] + [a1 a3 b1 b3 | a5 a7 b5 b7], the 64-bit pairs put in order, times the scale; <paramref name="count"/> of them stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PoolPairs256(float* pooled, Vector256<float> a, Vector256<float> b, Vector256<float> scale, int count, float* spare)
    {
        Vector256<float> sum = Avx.Shuffle(a, b, 0x88) + Avx.Shuffle(a, b, 0xDD);
        StoreVector(pooled, Avx2.Permute4x64(sum.AsDouble(), 0xD8).AsSingle() * scale, default, false, false, count, spare);
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

    /// <summary>A sample's channels into the planes' interiors, in vectors of 8 (a row's last few values one at a time).</summary>
    private static unsafe void CopyIntoPadded256(float* padded, float* x, in Conv2dGeometry g, int paddedWidth, int plane)
    {
        int whole = g.InWidth & ~7;
        for (int c = 0; c < g.InChannels; c++)
        {
            for (int h = 0; h < g.InHeight; h++)
            {
                float* from = x + (c * g.InHeight + h) * g.InWidth, to = padded + c * plane + (h + g.PadTop) * paddedWidth + g.PadLeft;
                int i = 0;
                for (; i < whole; i += 8) Vector256.Store(Vector256.Load(from + i), to + i);
                for (; i < g.InWidth; i++) to[i] = from[i];
            }
        }
    }

    /// <summary>
    /// <see cref="WeightGradientTask"/> in 256-bit vectors: a task's 3 channels x up to 5 taps (and 3 bias sums) do not fit
    /// AVX2's 16 registers with the output gradient's and the input's vectors, so the rows are swept twice, taps 0-2 first
    /// (9 accumulators), then taps 3-4 and the bias sums; each accumulator sums its rows and vectors in one order either
    /// way. A row's output gradient is loaded a vector of 8 at a time, the last one masked at the row's end; the input's
    /// shifted vectors are plain loads from the padded plane. The accumulators are parked in the first 8 floats of the
    /// AVX-512 layout's 16-float slots.
    /// </summary>
    private static unsafe void WeightGradientTask256(int channels, int task, float* px, float* pdy, in Conv2dGeometry g, int paddedWidth, int plane, int n, float* slot,
        bool bias)
    {
        switch (channels)
        {
            case 3: WeightGradientTask256<Three>(task, px, pdy, g, paddedWidth, plane, n, slot, bias); break;
            case 2: WeightGradientTask256<Two>(task, px, pdy, g, paddedWidth, plane, n, slot, bias); break;
            default: WeightGradientTask256<One>(task, px, pdy, g, paddedWidth, plane, n, slot, bias); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void WeightGradientTask256<TC>(int task, float* px, float* pdy, in Conv2dGeometry g, int paddedWidth, int plane, int n, float* slot, bool bias)
        where TC : struct, ICount
    {
        (int co0, int ci, int kh) = TaskOf(task, g);
        bias = bias && ci == 0 && kh == 0;
        int outPlane = g.OutputPlane, width = g.OutWidth, taps = g.KernelW;
        float* dy0 = pdy + ((long)n * g.OutChannels + co0) * outPlane;
        float* dy1 = TC.N > 1 ? dy0 + outPlane : dy0;
        float* dy2 = TC.N > 2 ? dy0 + 2 * outPlane : dy0;
        float* rows = px + ci * plane + kh * paddedWidth;
        Vector256<float> tail = Vector256.LessThan(Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7), Vector256.Create((float)(width - (width - 1) / 8 * 8)));
        int last = (width - 1) / 8 * 8; // the row's last vector (masked: it may stop short)
        // Taps 0-2: slot (j * 5 + t) * 16.
        Vector256<float> a00 = Vector256.Load(slot), a01 = Vector256.Load(slot + 16), a02 = Vector256.Load(slot + 32);
        Vector256<float> a10 = Vector256.Load(slot + 80), a11 = Vector256.Load(slot + 96), a12 = Vector256.Load(slot + 112);
        Vector256<float> a20 = Vector256.Load(slot + 160), a21 = Vector256.Load(slot + 176), a22 = Vector256.Load(slot + 192);
        for (int oh = 0; oh < g.OutHeight; oh++)
        {
            float* x = rows + oh * paddedWidth;
            int at = oh * width;
            for (int v = 0; v < width; v += 8)
            {
                (Vector256<float> d0, Vector256<float> d1, Vector256<float> d2) = Gradients<TC>(dy0, dy1, dy2, at + v, v < last, tail);
                WeightTap<TC>(Vector256.Load(x + v), d0, d1, d2, ref a00, ref a10, ref a20);
                WeightTap<TC>(Vector256.Load(x + v + 1), d0, d1, d2, ref a01, ref a11, ref a21);
                WeightTap<TC>(Vector256.Load(x + v + 2), d0, d1, d2, ref a02, ref a12, ref a22);
            }
        }
        a00.Store(slot); a01.Store(slot + 16); a02.Store(slot + 32);
        a10.Store(slot + 80); a11.Store(slot + 96); a12.Store(slot + 112);
        a20.Store(slot + 160); a21.Store(slot + 176); a22.Store(slot + 192);
        if (taps <= 3 && !bias) return;
        // Taps 3-4 and the bias sums: slots (j * 5 + 3) * 16, (j * 5 + 4) * 16 and (15 + j) * 16.
        Vector256<float> a03 = Vector256.Load(slot + 48), a04 = Vector256.Load(slot + 64);
        Vector256<float> a13 = Vector256.Load(slot + 128), a14 = Vector256.Load(slot + 144);
        Vector256<float> a23 = Vector256.Load(slot + 208), a24 = Vector256.Load(slot + 224);
        Vector256<float> s0 = Vector256.Load(slot + 240), s1 = Vector256.Load(slot + 256), s2 = Vector256.Load(slot + 272);
        for (int oh = 0; oh < g.OutHeight; oh++)
        {
            float* x = rows + oh * paddedWidth;
            int at = oh * width;
            for (int v = 0; v < width; v += 8)
            {
                (Vector256<float> d0, Vector256<float> d1, Vector256<float> d2) = Gradients<TC>(dy0, dy1, dy2, at + v, v < last, tail);
                if (bias)
                {
                    s0 += d0;
                    if (TC.N > 1) s1 += d1;
                    if (TC.N > 2) s2 += d2;
                }
                if (taps > 3) WeightTap<TC>(Vector256.Load(x + v + 3), d0, d1, d2, ref a03, ref a13, ref a23);
                if (taps > 4) WeightTap<TC>(Vector256.Load(x + v + 4), d0, d1, d2, ref a04, ref a14, ref a24);
            }
        }
        a03.Store(slot + 48); a04.Store(slot + 64);
        a13.Store(slot + 128); a14.Store(slot + 144);
        a23.Store(slot + 208); a24.Store(slot + 224);
        s0.Store(slot + 240); s1.Store(slot + 256); s2.Store(slot + 272);
    }

    /// <summary>One tap of a weight-gradient task: the input's shifted vector times each channel's gradient vector, added to that channel's accumulator.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WeightTap<TC>(Vector256<float> u, Vector256<float> d0, Vector256<float> d1, Vector256<float> d2,
        ref Vector256<float> a0, ref Vector256<float> a1, ref Vector256<float> a2) where TC : struct, ICount
    {
        a0 = Fma.MultiplyAdd(d0, u, a0);
        if (TC.N > 1) a1 = Fma.MultiplyAdd(d1, u, a1);
        if (TC.N > 2) a2 = Fma.MultiplyAdd(d2, u, a2);
    }

    /// <summary>The output gradient's vector at <paramref name="offset"/> of each channel, masked by <paramref name="tail"/> unless <paramref name="whole"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector256<float>, Vector256<float>, Vector256<float>) Gradients<TC>(float* dy0, float* dy1, float* dy2, int offset, bool whole,
        Vector256<float> tail) where TC : struct, ICount
    {
        if (whole)
        {
            return (Vector256.Load(dy0 + offset), TC.N > 1 ? Vector256.Load(dy1 + offset) : default, TC.N > 2 ? Vector256.Load(dy2 + offset) : default);
        }
        return (Avx.MaskLoad(dy0 + offset, tail), TC.N > 1 ? Avx.MaskLoad(dy1 + offset, tail) : default, TC.N > 2 ? Avx.MaskLoad(dy2 + offset, tail) : default);
    }

    /// <summary><see cref="AddTaskSums"/> for <see cref="WeightGradientTask256"/>'s accumulators: the sums of their 8 lanes.</summary>
    private static unsafe void AddTaskSums256(int task, float* pw, float* pb, in Conv2dGeometry g, float* slot)
    {
        (int co0, int ci, int kh) = TaskOf(task, g);
        int count = Math.Min(3, g.OutChannels - co0), kw = g.KernelW;
        float* w0 = pw + ((co0 * g.InChannels + ci) * g.KernelH + kh) * kw;
        for (int j = 0; j < count; j++)
        {
            float* a = slot + j * 5 * 16, w = w0 + j * g.InChannels * g.KernelH * kw;
            Vector128<float> sums = Simd.Vec256.Sum4(new Simd.Vec256(Vector256.Load(a)), new Simd.Vec256(Vector256.Load(a + 16)),
                new Simd.Vec256(Vector256.Load(a + 32)), new Simd.Vec256(Vector256.Load(a + 48)));
            w[0] += sums.GetElement(0);
            w[1] += sums.GetElement(1);
            w[2] += sums.GetElement(2);
            if (kw > 3) w[3] += sums.GetElement(3);
            if (kw > 4) w[4] += Simd.Vec256.Sum(new Simd.Vec256(Vector256.Load(a + 64)));
            if (pb != null && ci == 0 && kh == 0) pb[co0 + j] += Simd.Vec256.Sum(new Simd.Vec256(Vector256.Load(slot + (15 + j) * 16)));
        }
    }
}
