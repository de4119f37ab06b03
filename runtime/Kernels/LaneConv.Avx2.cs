using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace StaticNet;

/// <summary>
/// The lane kernel with AVX2 and FMA but no AVX-512 (most laptops and desktops): the same layout, 16 samples in the lanes
/// of each position ([C, H, W, 16] per group), and the same orchestration (packing, padding, tasks, partial sums, threads),
/// each position's 16 lanes taken as two 256-bit halves. The convolution runs a block of channels by a few positions over
/// one half, then the other (the accumulators, the inputs and a broadcast weight within AVX2's 16 registers: 4 channels
/// by 3 positions, 6 by 2, 3 by 3; 4 by 2 took LeNet's second layer's forward 1.95 ms against 1.81 at batch 256); the
/// weight gradient two output channels by up to 5 taps per half. Every lane sums its
/// products in the AVX-512 kernel's order, so the layer's outputs and gradients have its bits (the Sigmoid aside, whose
/// exponential has other bits in 256-bit vectors; asserted by the tests, which run both where AVX-512 exists). Layers
/// whose weight-gradient sets <see cref="ReducesEachGroup"/> (256 channels each way and more) stay with the other kernels.
/// </summary>
internal static unsafe partial class LaneConv
{
    [ThreadStatic] private static bool t_narrow;

    /// <summary>For tests on an AVX-512 machine: this thread's calls run the 256-bit kernels.</summary>
    internal static bool Narrow
    {
        get => t_narrow;
        set => t_narrow = value;
    }

    /// <summary>Whether this thread's calls run the AVX-512 kernels.</summary>
    private static bool Wide => Avx512F.IsSupported && !t_narrow;

    /// <summary>Whether the instructions either form needs are there for this layer.</summary>
    private static bool Available(in Conv2dGeometry g) => Wide || (Fma.IsSupported && Vector256.IsHardwareAccelerated && !ReducesEachGroup(g));

    /// <summary>The 16 lanes of <paramref name="count"/> vectors <paramref name="stride"/> floats apart, added in order, then summed across the lanes (Vector512.Sum's order).</summary>
    private static float SumOverGroups(float* first, long stride, int count, bool wide)
    {
        if (wide)
        {
            Vector512<float> total = Vector512<float>.Zero;
            for (int i = 0; i < count; i++) total += Vector512.Load(first + i * stride);
            return Vector512.Sum(total);
        }
        Vector256<float> low = Vector256<float>.Zero, high = Vector256<float>.Zero;
        for (int i = 0; i < count; i++)
        {
            low += Vector256.Load(first + i * stride);
            high += Vector256.Load(first + i * stride + 8);
        }
        // Vector512.Sum's order: each half summed, then the two sums (checked bit for bit over 200,000 random vectors on AMD Zen 5).
        return Vector256.Sum(low) + Vector256.Sum(high);
    }

    /// <summary>One position's 16 lanes from <paramref name="from"/> to <paramref name="to"/>, as two halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyLanes256(float* from, float* to)
    {
        Vector256.Store(Vector256.Load(from), to);
        Vector256.Store(Vector256.Load(from + 8), to + 8);
    }

    /// <summary><see cref="Convolve{TS}"/> in 256-bit halves: per row, each block of channels over its positions, half by half.</summary>
    private static void Convolve256<TS>(float* result, float* packed, float* taps, float* bias, in Conv2dGeometry g, int block, bool relu, int paddedH, int paddedW)
        where TS : struct, ICount
    {
        int width = block == 6 ? 2 : 3;
        (int left, int right) = Stretches(g, TS.N);
        for (int oh = 0; oh < g.OutHeight; oh++)
        {
            for (int co = 0; co < g.OutChannels; co += block)
            {
                for (int ow = 0, n; ow < g.OutWidth; ow += n)
                {
                    int end = ow < left ? left : ow < right ? right : g.OutWidth;
                    n = Math.Min(width, end - ow);
                    for (int half = 0; half < Lanes; half += 8)
                    {
                        if (block == 6) Positions256<Six, TS>(n, result + half, packed + half, taps, bias, g, co, oh, ow, relu, paddedH, paddedW);
                        else if (block == 4) Positions256<Four, TS>(n, result + half, packed + half, taps, bias, g, co, oh, ow, relu, paddedH, paddedW);
                        else Positions256<Three, TS>(n, result + half, packed + half, taps, bias, g, co, oh, ow, relu, paddedH, paddedW);
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Positions256<TC, TS>(int n, float* result, float* packed, float* taps, float* bias, in Conv2dGeometry g, int co, int oh, int ow, bool relu,
        int paddedH, int paddedW) where TC : struct, ICount where TS : struct, ICount
    {
        switch (n)
        {
            case 3: Block256<TC, Three, TS>(result, packed, taps, bias, g, co, oh, ow, relu, paddedH, paddedW); break;
            case 2: Block256<TC, Two, TS>(result, packed, taps, bias, g, co, oh, ow, relu, paddedH, paddedW); break;
            default: Block256<TC, One, TS>(result, packed, taps, bias, g, co, oh, ow, relu, paddedH, paddedW); break;
        }
    }

    /// <summary>
    /// <see cref="Block{TC, TP, TS}"/> over one half of the lanes (<paramref name="result"/> and <paramref name="packed"/>
    /// point at it): TC channels by TP positions (4 x 3, 6 x 2 or 3 x 3 at most), per tap TP loads and TC broadcasts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block256<TC, TP, TS>(float* result, float* packed, float* taps, float* bias, in Conv2dGeometry g, int co0, int oh, int ow0, bool relu,
        int paddedH, int paddedW) where TC : struct, ICount where TP : struct, ICount where TS : struct, ICount
    {
        int kw = g.KernelW, padded = (g.OutChannels + TC.N - 1) / TC.N * TC.N;
        Vector256<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default, a20 = default, a21 = default, a22 = default;
        Vector256<float> a30 = default, a31 = default, a32 = default, a40 = default, a41 = default, a42 = default, a50 = default, a51 = default, a52 = default;
        int ih0 = oh * g.StrideH, iw0 = ow0 * TS.N;
        int khStart = Math.Max(0, g.PadTop - ih0), khEnd = Math.Min(g.KernelH, g.PadTop + g.InHeight - ih0);
        int kStart = Math.Max(0, g.PadLeft - (ow0 + TP.N - 1) * TS.N), kEnd = Math.Min(kw, g.PadLeft + g.InWidth - iw0);
        for (int ci = 0; ci < g.InChannels; ci++)
        {
            for (int kh = khStart; kh < khEnd; kh++)
            {
                float* row = packed + ((long)(ci * paddedH + ih0 + kh) * paddedW + iw0 + kStart) * Lanes;
                float* tap = taps + ((long)(ci * g.KernelH + kh) * kw + kStart) * padded + co0;
                for (int k = kStart; k < kEnd; k++, row += Lanes, tap += padded)
                {
                    Vector256<float> x0 = Vector256.Load(row), x1 = default, x2 = default;
                    if (TP.N > 1) x1 = Vector256.Load(row + 16 * TS.N);
                    if (TP.N > 2) x2 = Vector256.Load(row + 32 * TS.N);
                    Channel256<TP>(tap[0], x0, x1, x2, ref a00, ref a01, ref a02);
                    Channel256<TP>(tap[1], x0, x1, x2, ref a10, ref a11, ref a12);
                    Channel256<TP>(tap[2], x0, x1, x2, ref a20, ref a21, ref a22);
                    // Blocks of 6 channels have at most 2 positions: the accumulators they lack are never touched.
                    if (TC.N > 3) Channel256<TP>(tap[3], x0, x1, x2, ref a30, ref a31, ref a32);
                    if (TC.N > 4) Channel256<TP>(tap[4], x0, x1, x2, ref a40, ref a41, ref a42);
                    if (TC.N > 5) Channel256<TP>(tap[5], x0, x1, x2, ref a50, ref a51, ref a52);
                }
            }
        }
        int plane = g.OutputPlane;
        float* target = result + ((long)co0 * plane + oh * g.OutWidth + ow0) * Lanes;
        StoreRow256<TP>(target, 0, co0, g.OutChannels, plane, bias, relu, a00, a01, a02);
        StoreRow256<TP>(target, 1, co0, g.OutChannels, plane, bias, relu, a10, a11, a12);
        StoreRow256<TP>(target, 2, co0, g.OutChannels, plane, bias, relu, a20, a21, a22);
        if (TC.N > 3) StoreRow256<TP>(target, 3, co0, g.OutChannels, plane, bias, relu, a30, a31, a32);
        if (TC.N > 4) StoreRow256<TP>(target, 4, co0, g.OutChannels, plane, bias, relu, a40, a41, a42);
        if (TC.N > 5) StoreRow256<TP>(target, 5, co0, g.OutChannels, plane, bias, relu, a50, a51, a52);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Channel256<TP>(float weight, Vector256<float> x0, Vector256<float> x1, Vector256<float> x2,
        ref Vector256<float> a0, ref Vector256<float> a1, ref Vector256<float> a2) where TP : struct, ICount
    {
        Vector256<float> w = Vector256.Create(weight);
        a0 = Vector256.FusedMultiplyAdd(w, x0, a0);
        if (TP.N > 1) a1 = Vector256.FusedMultiplyAdd(w, x1, a1);
        if (TP.N > 2) a2 = Vector256.FusedMultiplyAdd(w, x2, a2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow256<TP>(float* target, int j, int co0, int channels, int plane, float* bias, bool relu, Vector256<float> v0, Vector256<float> v1,
        Vector256<float> v2) where TP : struct, ICount
    {
        if (co0 + j >= channels) return;
        Vector256<float> shift = bias is null ? Vector256<float>.Zero : Vector256.Create(bias[co0 + j]);
        Vector256<float> floor = relu ? Vector256<float>.Zero : Vector256.Create(float.NegativeInfinity);
        float* row = target + (long)j * plane * Lanes;
        Vector256.Store(Vector256.Max(v0 + shift, floor), row);
        if (TP.N > 1) Vector256.Store(Vector256.Max(v1 + shift, floor), row + 16);
        if (TP.N > 2) Vector256.Store(Vector256.Max(v2 + shift, floor), row + 32);
    }

    /// <summary>
    /// <see cref="WeightBlock"/> in 256-bit halves: per half of the lanes and pair of output channels, the pair's sums of
    /// up to 5 taps (10 accumulators), read from <paramref name="from"/> (or zero) and stored to <paramref name="to"/> or
    /// added to it with <paramref name="add"/>; both in the 20-vector layout of a task. Not for sums reduced across lanes.
    /// </summary>
    private static void WeightBlock256(float* to, float* from, bool add, float* x, float* dy, int channels, int width, in Conv2dGeometry g, int kh, int k0,
        int paddedW, int gradPlane, int gradRow, int oh0, int oh1)
    {
        long planeStep = (long)gradPlane * Lanes;
        for (int j = 0; j < channels; j += 2)
        {
            bool second = j + 1 < channels;
            float* d0 = dy + j * planeStep, d1 = second ? d0 + planeStep : d0;
            for (int half = 0; half < Lanes; half += 8)
            {
                float* t = to + j * 5 * Lanes + half, f = from == null ? null : from + j * 5 * Lanes + half;
                switch (width)
                {
                    case 5: TapsPair256<Five>(t, f, add, second, x + half, d0 + half, d1 + half, g, kh, k0, paddedW, gradRow, oh0, oh1); break;
                    case 4: TapsPair256<Four>(t, f, add, second, x + half, d0 + half, d1 + half, g, kh, k0, paddedW, gradRow, oh0, oh1); break;
                    case 3: TapsPair256<Three>(t, f, add, second, x + half, d0 + half, d1 + half, g, kh, k0, paddedW, gradRow, oh0, oh1); break;
                    case 2: TapsPair256<Two>(t, f, add, second, x + half, d0 + half, d1 + half, g, kh, k0, paddedW, gradRow, oh0, oh1); break;
                    default: TapsPair256<One>(t, f, add, second, x + half, d0 + half, d1 + half, g, kh, k0, paddedW, gradRow, oh0, oh1); break;
                }
            }
        }
    }

    /// <summary>
    /// Two output channels' (the second only with <paramref name="second"/>) sums of TT taps over one half of the lanes:
    /// per position, the two gradient vectors and TT input vectors feed 2 TT multiply-adds, each sum taking its positions
    /// in row order (so each lane has the AVX-512 kernel's sum).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TapsPair256<TT>(float* to, float* from, bool add, bool second, float* x, float* dy0, float* dy1, in Conv2dGeometry g, int kh, int k0,
        int paddedW, int gradRow, int oh0, int oh1) where TT : struct, ICount
    {
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default, s04 = default;
        Vector256<float> s10 = default, s11 = default, s12 = default, s13 = default, s14 = default;
        if (from != null)
        {
            (s00, s01, s02, s03, s04) = (Vector256.Load(from), Vector256.Load(from + 16), Vector256.Load(from + 32), Vector256.Load(from + 48), Vector256.Load(from + 64));
            (s10, s11, s12, s13, s14) = (Vector256.Load(from + 80), Vector256.Load(from + 96), Vector256.Load(from + 112), Vector256.Load(from + 128), Vector256.Load(from + 144));
        }
        int step = g.StrideW * Lanes;
        for (int oh = oh0; oh < oh1; oh++)
        {
            float* row = x + ((long)(oh * g.StrideH + kh) * paddedW + k0) * Lanes;
            long at = (long)oh * gradRow * Lanes;
            float* d0 = dy0 + at, d1 = dy1 + at;
            for (int ow = 0; ow < g.OutWidth; ow++, row += step, d0 += Lanes, d1 += Lanes)
            {
                Vector256<float> g0 = Vector256.Load(d0), g1 = Vector256.Load(d1);
                TapPair256(row, g0, g1, ref s00, ref s10);
                if (TT.N > 1) TapPair256(row + 16, g0, g1, ref s01, ref s11);
                if (TT.N > 2) TapPair256(row + 32, g0, g1, ref s02, ref s12);
                if (TT.N > 3) TapPair256(row + 48, g0, g1, ref s03, ref s13);
                if (TT.N > 4) TapPair256(row + 64, g0, g1, ref s04, ref s14);
            }
        }
        Put256<TT>(to, add, s00, s01, s02, s03, s04);
        if (second) Put256<TT>(to + 5 * Lanes, add, s10, s11, s12, s13, s14);
    }

    /// <summary>One tap's input vector at <paramref name="x"/> times the two channels' gradient vectors, added to their sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TapPair256(float* x, Vector256<float> g0, Vector256<float> g1, ref Vector256<float> s0, ref Vector256<float> s1)
    {
        Vector256<float> v = Vector256.Load(x);
        s0 = Vector256.FusedMultiplyAdd(g0, v, s0);
        s1 = Vector256.FusedMultiplyAdd(g1, v, s1);
    }

    /// <summary>One output channel's half sums of <see cref="TapsPair256{TT}"/>, stored to their places (16 floats apart) or added to them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put256<TT>(float* to, bool add, Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3, Vector256<float> s4)
        where TT : struct, ICount
    {
        Vector256.Store(add ? Vector256.Load(to) + s0 : s0, to);
        if (TT.N > 1) Vector256.Store(add ? Vector256.Load(to + 16) + s1 : s1, to + 16);
        if (TT.N > 2) Vector256.Store(add ? Vector256.Load(to + 32) + s2 : s2, to + 32);
        if (TT.N > 3) Vector256.Store(add ? Vector256.Load(to + 48) + s3 : s3, to + 48);
        if (TT.N > 4) Vector256.Store(add ? Vector256.Load(to + 64) + s4 : s4, to + 64);
    }

    /// <summary><see cref="Job.PoolPlane"/> in 256-bit halves (the same sums per lane).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PoolPlane256(float* pooled, float* plane, int width, in Pool2dGeometry pool, float scale)
    {
        Vector256<float> factor = Vector256.Create(scale);
        for (int oh = 0; oh < pool.OutHeight; oh++)
        {
            for (int ow = 0; ow < pool.OutWidth; ow++)
            {
                for (int half = 0; half < Lanes; half += 8)
                {
                    float* window = plane + ((long)oh * pool.KernelH * width + ow * pool.KernelW) * Lanes + half;
                    Vector256<float> total = default;
                    for (int kw = 0; kw < pool.KernelW; kw++)
                    {
                        Vector256<float> column = Vector256.Load(window + kw * Lanes);
                        for (int kh = 1; kh < pool.KernelH; kh++) column += Vector256.Load(window + ((long)kh * width + kw) * Lanes);
                        total = kw == 0 ? column : total + column;
                    }
                    (total * factor).Store(pooled + ((long)oh * pool.OutWidth + ow) * Lanes + half);
                }
            }
        }
    }

    /// <summary><see cref="Job.SpreadTimesDerivative"/> in 256-bit halves (the same products and sums per lane).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SpreadTimesDerivative256(float* grad, float* derivative, int fromH, int fromW, int fromTop, int fromLeft, float* pooledGrad, in Conv2dGeometry g,
        int padTop, int padLeft, int gradH, int gradW, in Pool2dGeometry pool, float scale, float* biasSums)
    {
        Vector256<float> factor = Vector256.Create(scale);
        for (int c = 0; c < g.OutChannels; c++)
        {
            Vector256<float> low = Vector256<float>.Zero, high = Vector256<float>.Zero;
            for (int h = 0, oh = 0, kh = 0; h < g.OutHeight; h++)
            {
                float* row = grad + (((long)c * gradH + padTop + h) * gradW + padLeft) * Lanes;
                float* from = derivative + (((long)c * fromH + fromTop + h) * fromW + fromLeft) * Lanes;
                float* windows = pooledGrad + ((long)c * pool.OutHeight + oh) * pool.OutWidth * Lanes;
                bool inWindows = oh < pool.OutHeight;
                for (int w = 0, ow = 0, kw = 0; w < g.OutWidth; w++)
                {
                    bool reached = inWindows && ow < pool.OutWidth;
                    Vector256<float> shareLow = reached ? Vector256.Load(windows + ow * Lanes) * factor : Vector256<float>.Zero;
                    Vector256<float> shareHigh = reached ? Vector256.Load(windows + ow * Lanes + 8) * factor : Vector256<float>.Zero;
                    Vector256<float> valueLow = shareLow * Vector256.Load(from + w * Lanes), valueHigh = shareHigh * Vector256.Load(from + w * Lanes + 8);
                    valueLow.Store(row + w * Lanes);
                    valueHigh.Store(row + w * Lanes + 8);
                    low += valueLow;
                    high += valueHigh;
                    if (++kw == pool.KernelW) (kw, ow) = (0, ow + 1);
                }
                if (++kh == pool.KernelH) (kh, oh) = (0, oh + 1);
            }
            if (biasSums != null)
            {
                low.Store(biasSums + (long)c * Lanes);
                high.Store(biasSums + (long)c * Lanes + 8);
            }
        }
    }

    /// <summary>Each channel's output gradient summed position by position in row order, 16 samples in the lanes, as two halves.</summary>
    private static void BiasSums256(float* sums, float* grad, in Conv2dGeometry g, int gradH, int gradW, int padTop, int padLeft)
    {
        for (int c = 0; c < g.OutChannels; c++)
        {
            Vector256<float> low = Vector256<float>.Zero, high = Vector256<float>.Zero;
            for (int h = 0; h < g.OutHeight; h++)
            {
                float* row = grad + (((long)c * gradH + padTop + h) * gradW + padLeft) * Lanes;
                for (int w = 0; w < g.OutWidth; w++)
                {
                    low += Vector256.Load(row + w * Lanes);
                    high += Vector256.Load(row + w * Lanes + 8);
                }
            }
            low.Store(sums + (long)c * Lanes);
            high.Store(sums + (long)c * Lanes + 8);
        }
    }

    /// <summary><see cref="PackPlanes{TSink}"/> with 8 x 8 transposes: each tile of 16 positions by 16 samples as four.</summary>
    private static void PackPlanes256<TSink>(TSink sink, float* x, int count, int channels, int sampleStride, int plane) where TSink : struct, IPlaneSink
    {
        bool prefetch = (long)count * sampleStride * sizeof(float) >= 256 * 1024;
        for (int c = 0; c < channels; c++)
        {
            float* source = x + (long)c * plane;
            sink.StartPlane(c);
            for (int p0 = 0; p0 < plane; p0 += Lanes)
            {
                int n = Math.Min(Lanes, plane - p0);
                sink.StartTile(p0, n);
                if (prefetch) for (int i = 0; i < count; i++) Sse.Prefetch0(source + p0 + i * (long)sampleStride + 8 * Lanes);
                var rows = new SampleHalves(source + p0, sampleStride, count, Mask256(n, 0), Mask256(n, 8), n == Lanes);
                Transpose256(ref rows, ref sink);
            }
        }
    }

    /// <summary><see cref="Unpack"/> with 8 x 8 transposes.</summary>
    private static void Unpack256(float* y, float* result, int count, int channels, int plane)
    {
        int sample = channels * plane;
        for (int c = 0; c < channels; c++)
        {
            for (int p0 = 0; p0 < plane; p0 += Lanes)
            {
                int n = Math.Min(Lanes, plane - p0);
                float* source = result + ((long)c * plane + p0) * Lanes;
                var sink = new SampleHalvesSink(y + c * plane + p0, sample, count, Mask256(n, 0), Mask256(n, 8), n == Lanes);
                var rows = new PositionRows(source, n);
                Transpose256(ref rows, ref sink);
            }
        }
    }

    /// <summary>Lanes first .. first + 7 of a tile of <paramref name="count"/> values: all ones where the value exists.</summary>
    private static Vector256<float> Mask256(int count, int first) =>
        Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) + Vector256.Create(first), Vector256.Create(count)).AsSingle();

    /// <summary>Row i's half (8 values from <c>half</c>): sample i's values (masked unless <paramref name="whole"/>), or zeros for a missing sample.</summary>
    private readonly struct SampleHalves(float* at, long sampleStride, int count, Vector256<float> maskLow, Vector256<float> maskHigh, bool whole) : IHalfSource
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Half(int i, int half)
        {
            if (i >= count) return Vector256<float>.Zero;
            float* p = at + i * sampleStride + half;
            return whole ? Vector256.Load(p) : Avx.MaskLoad(p, half == 0 ? maskLow : maskHigh);
        }
    }

    /// <summary>Rows as samples (the first <c>count</c>), each stored at its sample's place, whole or under the masks.</summary>
    private readonly struct SampleHalvesSink(float* first, int sampleStride, int count, Vector256<float> maskLow, Vector256<float> maskHigh, bool whole) : IHalfSink
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(int row, Vector256<float> low, Vector256<float> high)
        {
            if (row >= count) return;
            float* p = first + (long)row * sampleStride;
            if (whole)
            {
                Vector256.Store(low, p);
                Vector256.Store(high, p + 8);
            }
            else
            {
                Avx.MaskStore(p, maskLow, low);
                Avx.MaskStore(p + 8, maskHigh, high);
            }
        }
    }

    /// <summary>Where <see cref="Transpose256"/> takes its 16 rows from, by halves (8 values from 0 or 8).</summary>
    private interface IHalfSource
    {
        Vector256<float> Half(int i, int half);
    }

    /// <summary>Where <see cref="Transpose256"/> puts its 16 rows, in order, each as two halves.</summary>
    private interface IHalfSink
    {
        void Store(int row, Vector256<float> low, Vector256<float> high);
    }

    /// <summary>
    /// The 16 x 16 transpose of <see cref="Transpose{TSource, TSink}"/> as four 8 x 8 ones: rows 8 b .. 8 b + 7 of the
    /// result are the transposes of the sources' halves b, rows 0-7 giving their low halves and rows 8-15 their high ones.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose256<TSource, TSink>(ref TSource rows, ref TSink sink) where TSource : struct, IHalfSource where TSink : struct, IHalfSink
    {
        for (int b = 0; b < Lanes; b += 8)
        {
            Vector256<float> l0 = rows.Half(0, b), l1 = rows.Half(1, b), l2 = rows.Half(2, b), l3 = rows.Half(3, b);
            Vector256<float> l4 = rows.Half(4, b), l5 = rows.Half(5, b), l6 = rows.Half(6, b), l7 = rows.Half(7, b);
            Transpose8(ref l0, ref l1, ref l2, ref l3, ref l4, ref l5, ref l6, ref l7);
            Vector256<float> h0 = rows.Half(8, b), h1 = rows.Half(9, b), h2 = rows.Half(10, b), h3 = rows.Half(11, b);
            Vector256<float> h4 = rows.Half(12, b), h5 = rows.Half(13, b), h6 = rows.Half(14, b), h7 = rows.Half(15, b);
            Transpose8(ref h0, ref h1, ref h2, ref h3, ref h4, ref h5, ref h6, ref h7);
            sink.Store(b, l0, h0);
            sink.Store(b + 1, l1, h1);
            sink.Store(b + 2, l2, h2);
            sink.Store(b + 3, l3, h3);
            sink.Store(b + 4, l4, h4);
            sink.Store(b + 5, l5, h5);
            sink.Store(b + 6, l6, h6);
            sink.Store(b + 7, l7, h7);
        }
    }

    /// <summary>The textbook AVX 8 x 8 transpose in place: pairs of rows interleaved, then pairs of pairs, then 128-bit halves swapped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(ref Vector256<float> r0, ref Vector256<float> r1, ref Vector256<float> r2, ref Vector256<float> r3, ref Vector256<float> r4,
        ref Vector256<float> r5, ref Vector256<float> r6, ref Vector256<float> r7)
    {
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        r0 = Avx.Permute2x128(u0, u4, 0x20);
        r1 = Avx.Permute2x128(u1, u5, 0x20);
        r2 = Avx.Permute2x128(u2, u6, 0x20);
        r3 = Avx.Permute2x128(u3, u7, 0x20);
        r4 = Avx.Permute2x128(u0, u4, 0x31);
        r5 = Avx.Permute2x128(u1, u5, 0x31);
        r6 = Avx.Permute2x128(u2, u6, 0x31);
        r7 = Avx.Permute2x128(u3, u7, 0x31);
    }
}
