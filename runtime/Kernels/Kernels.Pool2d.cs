using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>
    /// Max pooling over a batch of [C, H, W] samples (torch.nn.MaxPool2d): each output is the largest value of its window
    /// (padding counts as -infinity), and <paramref name="argmax"/> gets its index within the input plane (h * W + w) for
    /// backward. As PyTorch: on ties the first in row-major window order wins; a NaN wins over any number (the last NaN's index).
    /// With AVX-512 and a stride of 1 or 2 along the width, the outputs whose windows lie inside their rows run 16 at a
    /// time (the same comparisons in the same order per output, so the same results); the others one at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void MaxPool2dForward(Span<float> output, Span<int> argmax, ReadOnlySpan<float> input, int batch, Pool2dGeometry geometry)
    {
        CheckPool(output.Length, input.Length, batch, geometry);
        CheckLength(argmax.Length, output.Length, nameof(argmax));
        Pool2dGeometry g = geometry;
        int inPlane = g.InHeight * g.InWidth, outPlane = g.OutHeight * g.OutWidth;
        // Columns [from, to): every window inside its row, w0 = ow * stride - pad >= 0 and its last tap <= InWidth - 1.
        int from = (g.PadLeft + g.StrideW - 1) / g.StrideW, lastStart = g.InWidth - 1 - (g.KernelW - 1) * g.DilationW + g.PadLeft;
        int to = lastStart < 0 ? 0 : Math.Min(g.OutWidth, lastStart / g.StrideW + 1);
        if (!Avx512F.IsSupported || g.StrideW > 2 || to - from < 4) (from, to) = (0, 0);
        fixed (float* px = input, py = output)
        fixed (int* pa = argmax)
        {
            for (int plane = 0; plane < batch * g.Channels; plane++)
            {
                float* x = px + (long)plane * inPlane;
                for (int oh = 0; oh < g.OutHeight; oh++)
                {
                    int h0 = oh * g.StrideH - g.PadTop;
                    long at = (long)plane * outPlane + oh * g.OutWidth;
                    for (int ow = 0; ow < g.OutWidth; ow++)
                    {
                        if (ow == from && from < to)
                        {
                            MaxPoolColumns(py + at, pa + at, x, g, h0, from, to);
                            ow = to - 1;
                            continue;
                        }
                        (py[at + ow], pa[at + ow]) = MaxWindow(x, g, h0, ow * g.StrideW - g.PadLeft);
                    }
                }
            }
        }
    }

    /// <summary>One window of <see cref="MaxPool2dForward"/> (top row h0, left column w0, either may be in the padding): its maximum and index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (float Best, int Index) MaxWindow(float* x, in Pool2dGeometry g, int h0, int w0)
    {
        float best = float.NegativeInfinity;
        int index = -1;
        for (int kh = 0; kh < g.KernelH; kh++)
        {
            int ih = h0 + kh * g.DilationH;
            if ((uint)ih >= (uint)g.InHeight) continue;
            for (int kw = 0; kw < g.KernelW; kw++)
            {
                int iw = w0 + kw * g.DilationW;
                if ((uint)iw >= (uint)g.InWidth) continue;
                float v = x[ih * g.InWidth + iw];
                if (index < 0) index = ih * g.InWidth + iw;
                if (v > best || float.IsNaN(v))
                {
                    best = v;
                    index = ih * g.InWidth + iw;
                }
            }
        }
        return (best, index);
    }

    /// <summary>
    /// Outputs [from, to) of one row of <see cref="MaxPool2dForward"/>, whose windows lie inside their rows, 16 at a time:
    /// per tap, in window order, a vector of the 16 windows' values (one load at stride 1; at stride 2 two, the even
    /// lanes gathered with vpermt2ps) taken where it beats the best so far or is NaN, with its index.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void MaxPoolColumns(float* y, int* argmax, float* x, in Pool2dGeometry g, int h0, int from, int to)
    {
        Vector512<int> lanes = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), even = lanes * 2, step = lanes * g.StrideW;
        for (int ow = from; ow < to; ow += 16)
        {
            int count = Math.Min(16, to - ow);
            Vector512<float> valid = LaneMask(count), low = LaneMask(2 * count - 1), high = LaneMask(2 * count - 17);
            int w0 = ow * g.StrideW - g.PadLeft;
            Vector512<float> best = Vector512.Create(float.NegativeInfinity);
            Vector512<int> index = Vector512.Create(-1);
            bool first = true;
            for (int kh = 0; kh < g.KernelH; kh++)
            {
                int ih = h0 + kh * g.DilationH;
                if ((uint)ih >= (uint)g.InHeight) continue;
                for (int kw = 0; kw < g.KernelW; kw++)
                {
                    int start = ih * g.InWidth + w0 + kw * g.DilationW;
                    Vector512<float> v = WindowTaps(x + start, g.StrideW, valid, low, high, even);
                    Vector512<int> position = Vector512.Create(start) + step;
                    if (first)
                    {
                        index = position;
                        first = false;
                    }
                    Vector512<float> take = Vector512.GreaterThan(v, best) | Vector512.OnesComplement(Vector512.Equals(v, v));
                    best = Vector512.ConditionalSelect(take, v, best);
                    index = Vector512.ConditionalSelect(take.AsInt32(), position, index);
                }
            }
            Avx512F.MaskStore(y + ow, valid, best);
            Avx512F.MaskStore(argmax + ow, valid.AsInt32(), index);
        }
    }

    /// <summary>inputGrad = each output gradient sent to its window's argmax, summed where windows overlap.</summary>
    public static void MaxPool2dBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<int> argmax, int batch, Pool2dGeometry geometry)
    {
        CheckPool(outputGrad.Length, inputGrad.Length, batch, geometry);
        CheckLength(argmax.Length, outputGrad.Length, nameof(argmax));
        ScatterToIndices(inputGrad, outputGrad, argmax, batch, geometry.Channels, geometry.InHeight * geometry.InWidth, geometry.OutHeight * geometry.OutWidth);
    }

    /// <summary>
    /// Average pooling over a batch of [C, H, W] samples (torch.nn.AvgPool2d), with PyTorch's divisor: the window clipped to
    /// the padded input when padding counts (<paramref name="countIncludePad"/>), clipped to the input otherwise, or
    /// <paramref name="divisorOverride"/> when it is positive. Padding is <see cref="Pool2dGeometry.PadTop"/> on both
    /// sides vertically and <see cref="Pool2dGeometry.PadLeft"/> on both sides horizontally.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AvgPool2dForward(Span<float> output, ReadOnlySpan<float> input, int batch, Pool2dGeometry geometry, bool countIncludePad, int divisorOverride)
    {
        CheckPool(output.Length, input.Length, batch, geometry);
        Pool2dGeometry g = geometry;
        int inPlane = g.InHeight * g.InWidth, outPlane = g.OutHeight * g.OutWidth;
        ref float x0 = ref MemoryMarshal.GetReference(input);
        ref float y0 = ref MemoryMarshal.GetReference(output);
        if (IsTiling(g))
        {
            AvgPoolTilingForward(ref y0, ref x0, batch * g.Channels, g, divisorOverride > 0 ? divisorOverride : g.KernelH * g.KernelW);
            return;
        }
        // Columns [from, to): windows inside their rows (ow * stride - pad >= 0, and its end <= InWidth), 16 at a time with
        // AVX-512 at a stride of 1 or 2: the same sums in the same order, over one divisor per row.
        int from = (g.PadLeft + g.StrideW - 1) / g.StrideW, lastStart = g.InWidth - g.KernelW + g.PadLeft;
        int to = lastStart < 0 ? 0 : Math.Min(g.OutWidth, lastStart / g.StrideW + 1);
        if (!Avx512F.IsSupported || g.StrideW > 2 || to - from < 4) (from, to) = (0, 0);
        for (int plane = 0; plane < batch * g.Channels; plane++)
        {
            ref float x = ref Unsafe.Add(ref x0, plane * inPlane);
            ref float y = ref Unsafe.Add(ref y0, plane * outPlane);
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                AvgSpan(oh, g.StrideH, g.PadTop, g.KernelH, g.InHeight, out int h0, out int h1, out int paddedH);
                for (int ow = 0; ow < g.OutWidth; ow++)
                {
                    if (ow == from && from < to)
                    {
                        int rowDivisor = divisorOverride > 0 ? divisorOverride : (countIncludePad ? paddedH : h1 - h0) * g.KernelW;
                        AvgPoolColumns(ref Unsafe.Add(ref y, oh * g.OutWidth), ref x, g, h0, h1, rowDivisor, from, to);
                        ow = to - 1;
                        continue;
                    }
                    AvgSpan(ow, g.StrideW, g.PadLeft, g.KernelW, g.InWidth, out int w0, out int w1, out int paddedW);
                    float sum = 0f;
                    for (int ih = h0; ih < h1; ih++)
                    {
                        ref float row = ref Unsafe.Add(ref x, ih * g.InWidth);
                        for (int iw = w0; iw < w1; iw++) sum += Unsafe.Add(ref row, iw);
                    }
                    int divisor = divisorOverride > 0 ? divisorOverride : countIncludePad ? paddedH * paddedW : (h1 - h0) * (w1 - w0);
                    Unsafe.Add(ref y, oh * g.OutWidth + ow) = h0 < h1 && w0 < w1 ? sum / divisor : 0f;
                }
            }
        }
    }

    /// <summary>
    /// One tap of 16 consecutive windows along a row, at <paramref name="at"/> for the first: the values at stride 1 or 2
    /// (at stride 2 the even lanes of two loads, gathered with vpermt2ps), only the lanes <paramref name="valid"/> (and,
    /// at stride 2, <paramref name="low"/> and <paramref name="high"/>: the loads' lanes up to the last window's) read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> WindowTaps(float* at, int stride, Vector512<float> valid, Vector512<float> low, Vector512<float> high, Vector512<int> even) =>
        stride == 1
            ? Avx512F.MaskLoad(at, valid, Vector512<float>.Zero)
            : Avx512F.PermuteVar16x32x2(Avx512F.MaskLoad(at, low, Vector512<float>.Zero), even, Avx512F.MaskLoad(at + 16, high, Vector512<float>.Zero));

    /// <summary>
    /// Outputs [from, to) of one row of <see cref="AvgPool2dForward"/> (input rows [h0, h1)), whose windows lie inside
    /// their rows, 16 at a time: each window's values added from zero in row-major window order, as the loop over one
    /// window adds them (at stride 2 the even lanes of two loads, gathered with vpermt2ps), then divided by
    /// <paramref name="divisor"/>; zero where no input row is in the window.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AvgPoolColumns(ref float y, ref float x, in Pool2dGeometry g, int h0, int h1, int divisor, int from, int to)
    {
        Vector512<int> even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        Vector512<float> scale = Vector512.Create((float)divisor);
        fixed (float* px = &x, py = &y)
        {
            for (int ow = from; ow < to; ow += 16)
            {
                int count = Math.Min(16, to - ow);
                Vector512<float> valid = LaneMask(count), low = LaneMask(2 * count - 1), high = LaneMask(2 * count - 17);
                int w0 = ow * g.StrideW - g.PadLeft;
                Vector512<float> sum = Vector512<float>.Zero;
                for (int ih = h0; ih < h1; ih++)
                {
                    float* row = px + ih * g.InWidth + w0;
                    for (int kw = 0; kw < g.KernelW; kw++)
                    {
                        sum += WindowTaps(row + kw, g.StrideW, valid, low, high, even);
                    }
                }
                Avx512F.MaskStore(py + ow, valid, h0 < h1 ? sum / scale : Vector512<float>.Zero);
            }
        }
    }

    /// <summary>inputGrad = each output gradient divided by its divisor, spread over its window (clipped to the input), summed where windows overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AvgPool2dBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, int batch, Pool2dGeometry geometry, bool countIncludePad, int divisorOverride)
    {
        CheckPool(outputGrad.Length, inputGrad.Length, batch, geometry);
        Pool2dGeometry g = geometry;
        int inPlane = g.InHeight * g.InWidth, outPlane = g.OutHeight * g.OutWidth;
        ref float dx0 = ref MemoryMarshal.GetReference(inputGrad);
        ref float dy0 = ref MemoryMarshal.GetReference(outputGrad);
        if (IsTiling(g))
        {
            if (g.OutHeight * g.KernelH != g.InHeight || g.OutWidth * g.KernelW != g.InWidth) inputGrad.Clear(); // rows or columns no window covers
            AvgPoolTilingBackward(ref dx0, ref dy0, batch * g.Channels, g, divisorOverride > 0 ? divisorOverride : g.KernelH * g.KernelW);
            return;
        }
        inputGrad.Clear();
        for (int plane = 0; plane < batch * g.Channels; plane++)
        {
            ref float dx = ref Unsafe.Add(ref dx0, plane * inPlane);
            ref float dy = ref Unsafe.Add(ref dy0, plane * outPlane);
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                AvgSpan(oh, g.StrideH, g.PadTop, g.KernelH, g.InHeight, out int h0, out int h1, out int paddedH);
                for (int ow = 0; ow < g.OutWidth; ow++)
                {
                    AvgSpan(ow, g.StrideW, g.PadLeft, g.KernelW, g.InWidth, out int w0, out int w1, out int paddedW);
                    int divisor = divisorOverride > 0 ? divisorOverride : countIncludePad ? paddedH * paddedW : (h1 - h0) * (w1 - w0);
                    float share = Unsafe.Add(ref dy, oh * g.OutWidth + ow) / divisor;
                    for (int ih = h0; ih < h1; ih++)
                    {
                        ref float row = ref Unsafe.Add(ref dx, ih * g.InWidth);
                        for (int iw = w0; iw < w1; iw++) Unsafe.Add(ref row, iw) += share;
                    }
                }
            }
        }
    }

    [ThreadStatic] private static float[]? s_tile;

    /// <summary>
    /// output = AvgPool2d(sigmoid(input)), a Sigmoid and the average pooling after it (LeNet's pattern), a few samples at a
    /// time through a buffer that stays in L1: the sigmoid's output, as large as the convolution's, is never written to
    /// memory or read back. The same bits as SigmoidForward then AvgPool2dForward.
    /// </summary>
    public static void SigmoidAvgPool2dForward(Span<float> output, ReadOnlySpan<float> input, int batch, Pool2dGeometry geometry, bool countIncludePad, int divisorOverride)
    {
        CheckPool(output.Length, input.Length, batch, geometry);
        SigmoidPoolJob.Run(output, input, default, batch, geometry, countIncludePad, divisorOverride, backward: false, derivative: false);
    }

    /// <summary>
    /// inputGrad = sigmoid'(input) times the average pooling's input gradient (the backward of <see cref="SigmoidAvgPool2dForward"/>;
    /// <paramref name="input"/> is the sigmoid's input), a few samples at a time through an L1 buffer. The same bits as
    /// AvgPool2dBackward then SigmoidBackward.
    /// </summary>
    public static void AvgPool2dSigmoidBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> input, int batch, Pool2dGeometry geometry,
        bool countIncludePad, int divisorOverride)
    {
        CheckPool(outputGrad.Length, inputGrad.Length, batch, geometry);
        CheckLength(input.Length, inputGrad.Length, nameof(input));
        if (inputGrad.Overlaps(outputGrad) || inputGrad.Overlaps(input)) throw new ArgumentException("inputGrad overlaps outputGrad or input; kernels need separate buffers.", nameof(inputGrad));
        SigmoidPoolJob.Run(inputGrad, input, outputGrad, batch, geometry, countIncludePad, divisorOverride, backward: true, derivative: false);
    }

    /// <summary>
    /// <see cref="SigmoidAvgPool2dForward"/> that also leaves the sigmoid's derivative in place of its input (see
    /// <see cref="SigmoidAndDerivative(Span{float}, Span{float})"/>), for <see cref="AvgPool2dTimesDerivativeBackward"/>.
    /// </summary>
    internal static void SigmoidAvgPool2dForwardKeepingDerivative(Span<float> output, Span<float> input, int batch, Pool2dGeometry geometry, bool countIncludePad,
        int divisorOverride)
    {
        CheckPool(output.Length, input.Length, batch, geometry);
        if (output.Overlaps(input)) throw new ArgumentException("output overlaps input; kernels need separate buffers.", nameof(output));
        SigmoidPoolJob.Run(output, input, default, batch, geometry, countIncludePad, divisorOverride, backward: false, derivative: true);
    }

    /// <summary>inputGrad = the average pooling's input gradient of outputGrad times <paramref name="derivative"/>, a few samples at a time through an L1 buffer.</summary>
    internal static void AvgPool2dTimesDerivativeBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> derivative, int batch,
        Pool2dGeometry geometry, bool countIncludePad, int divisorOverride)
    {
        CheckPool(outputGrad.Length, inputGrad.Length, batch, geometry);
        CheckLength(derivative.Length, inputGrad.Length, nameof(derivative));
        if (inputGrad.Overlaps(outputGrad) || inputGrad.Overlaps(derivative)) throw new ArgumentException("inputGrad overlaps outputGrad or derivative; kernels need separate buffers.", nameof(inputGrad));
        SigmoidPoolJob.Run(inputGrad, derivative, outputGrad, batch, geometry, countIncludePad, divisorOverride, backward: true, derivative: true);
    }

    /// <summary>
    /// The fused Sigmoid + average pooling passes over tiles of samples; tiles are independent, so above a size threshold
    /// they are split across threads (each worker has its own tile buffer) with the same bits as on one.
    /// </summary>
    private sealed unsafe class SigmoidPoolJob : StaticNet.Simd.IPartitionedJob
    {
        // Inputs below this many floats stay on one thread (the split costs a wake-up of a few microseconds).
        private const long ParallelThreshold = 1L << 16;

        [ThreadStatic] private static SigmoidPoolJob? s_job;

        private float* _target, _input, _outputGrad;
        private int _batch, _parts, _divisorOverride;
        private Pool2dGeometry _geometry;
        private bool _countIncludePad, _backward, _derivative;

        /// <summary>
        /// Forward: target = pool(sigmoid(input)); with <paramref name="derivative"/>, the sigmoid's derivative is also left
        /// in place of input. Backward: target = sigmoid'(input) times pool's input gradient of outputGrad; with
        /// <paramref name="derivative"/>, input is that derivative already.
        /// </summary>
        public static void Run(Span<float> target, ReadOnlySpan<float> input, ReadOnlySpan<float> outputGrad, int batch, in Pool2dGeometry geometry,
            bool countIncludePad, int divisorOverride, bool backward, bool derivative)
        {
            int tiles = (batch + SamplesPerTile(geometry) - 1) / SamplesPerTile(geometry);
            // Split across threads where that measured faster for this layer on this machine (SplitCalibration).
            StaticNet.Simd.SplitCalibration.Trial trial = StaticNet.Simd.SplitCalibration.Begin(StaticNet.Simd.SplitCalibration.SigmoidPool,
                (long)batch * 8 + (derivative ? 4 : 0) + (backward ? 2 : 0) + (countIncludePad ? 1 : 0), geometry.GetHashCode(), divisorOverride,
                (long)batch * geometry.InputSize >= ParallelThreshold ? Math.Clamp(Threading.NumThreads, 1, tiles) : 1);
            int parts = trial.Parts;
            fixed (float* t = target, x = input, dy = outputGrad)
            {
                SigmoidPoolJob job = s_job ??= new SigmoidPoolJob();
                job._target = t;
                job._input = x;
                job._outputGrad = dy;
                (job._batch, job._parts, job._divisorOverride, job._geometry, job._countIncludePad, job._backward, job._derivative) =
                    (batch, parts, divisorOverride, geometry, countIncludePad, backward, derivative);
                StaticNet.Simd.WorkerPool.Run(job, parts);
            }
            trial.End();
        }

        public void Execute(int part)
        {
            Pool2dGeometry g = _geometry;
            int chunk = SamplesPerTile(g), tiles = (_batch + chunk - 1) / chunk;
            int first = (int)((long)tiles * part / _parts), last = (int)((long)tiles * (part + 1) / _parts);
            Span<float> tile = Tile(chunk * g.InputSize);
            for (int t = first; t < last; t++)
            {
                int n = t * chunk, count = Math.Min(chunk, _batch - n), length = count * g.InputSize;
                var input = new ReadOnlySpan<float>(_input + (long)n * g.InputSize, length);
                if (_backward)
                {
                    Span<float> spread = tile.Slice(0, length);
                    AvgPool2dBackward(spread, new ReadOnlySpan<float>(_outputGrad + (long)n * g.OutputSize, count * g.OutputSize), count, g, _countIncludePad, _divisorOverride);
                    var inputGrad = new Span<float>(_target + (long)n * g.InputSize, length);
                    if (_derivative) TensorPrimitives.Multiply(spread, input, inputGrad);
                    else SigmoidBackward(inputGrad, spread, input);
                }
                else
                {
                    Span<float> activated = tile.Slice(0, length);
                    if (_derivative) SigmoidAndDerivative(activated, new Span<float>(_input + (long)n * g.InputSize, length));
                    else SigmoidForward(activated, input);
                    AvgPool2dForward(new Span<float>(_target + (long)n * g.OutputSize, count * g.OutputSize), activated, count, g, _countIncludePad, _divisorOverride);
                }
            }
        }
    }

    /// <summary>Samples whose input fits in 32 KB (at least one): the fused kernels' unit of work.</summary>
    private static int SamplesPerTile(in Pool2dGeometry g) => Math.Max(1, 8192 / Math.Max(1, g.InputSize));

    private static Span<float> Tile(int length)
    {
        if (s_tile is null || s_tile.Length < length) s_tile = new float[length];
        return s_tile.AsSpan(0, length);
    }

    /// <summary>Windows side by side without padding or overlap (stride = kernel), all inside the input: LeNet's 2 x 2 pooling.</summary>
    private static bool IsTiling(in Pool2dGeometry g) =>
        g.PadTop == 0 && g.PadLeft == 0 && g.StrideH == g.KernelH && g.StrideW == g.KernelW && g.DilationH == 1 && g.DilationW == 1
        && g.OutHeight * g.KernelH <= g.InHeight && g.OutWidth * g.KernelW <= g.InWidth;

    /// <summary>Tiling windows: the window's rows summed as whole vectors, then each output's columns, times 1 / divisor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static void AvgPoolTilingForward(ref float y, ref float x, int planes, in Pool2dGeometry g, int divisor)
    {
        int width = g.OutWidth * g.KernelW, inPlane = g.InHeight * g.InWidth, outPlane = g.OutHeight * g.OutWidth;
        float scale = 1f / divisor;
        if (g.KernelW == 2 && Avx512F.IsSupported)
        {
            AvgPoolPairsForward(ref y, ref x, planes, g, scale);
            return;
        }
        if (g.KernelW == 2 && Avx2.IsSupported)
        {
            AvgPoolPairsForward256(ref y, ref x, planes, g, scale);
            return;
        }
        Span<float> rowSums = width <= 1024 ? stackalloc float[width] : new float[width];
        ref float sum = ref MemoryMarshal.GetReference(rowSums);
        for (int plane = 0; plane < planes; plane++)
        {
            ref float input = ref Unsafe.Add(ref x, plane * inPlane);
            ref float output = ref Unsafe.Add(ref y, plane * outPlane);
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                ref float top = ref Unsafe.Add(ref input, oh * g.KernelH * g.InWidth);
                Im2Col.Copy(ref sum, ref top, width);
                for (int kh = 1; kh < g.KernelH; kh++) Im2Col.Add(ref sum, ref Unsafe.Add(ref top, kh * g.InWidth), width);
                ref float outRow = ref Unsafe.Add(ref output, oh * g.OutWidth);
                for (int ow = 0; ow < g.OutWidth; ow++)
                {
                    float total = 0f;
                    for (int kw = 0; kw < g.KernelW; kw++) total += Unsafe.Add(ref sum, ow * g.KernelW + kw);
                    Unsafe.Add(ref outRow, ow) = total * scale;
                }
            }
        }
    }

    /// <summary>Tiling windows, backward: each output's share written into its window (no window overlaps another).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static void AvgPoolTilingBackward(ref float dx, ref float dy, int planes, in Pool2dGeometry g, int divisor)
    {
        int width = g.OutWidth * g.KernelW, inPlane = g.InHeight * g.InWidth, outPlane = g.OutHeight * g.OutWidth;
        float scale = 1f / divisor;
        if (g.KernelW == 2 && Avx512F.IsSupported)
        {
            AvgPoolPairsBackward(ref dx, ref dy, planes, g, scale);
            return;
        }
        if (g.KernelW == 2 && Avx2.IsSupported)
        {
            AvgPoolPairsBackward256(ref dx, ref dy, planes, g, scale);
            return;
        }
        Span<float> expanded = width <= 1024 ? stackalloc float[width] : new float[width];
        ref float row = ref MemoryMarshal.GetReference(expanded);
        for (int plane = 0; plane < planes; plane++)
        {
            ref float gradient = ref Unsafe.Add(ref dx, plane * inPlane);
            ref float outputGrad = ref Unsafe.Add(ref dy, plane * outPlane);
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                ref float dyRow = ref Unsafe.Add(ref outputGrad, oh * g.OutWidth);
                for (int ow = 0; ow < g.OutWidth; ow++)
                {
                    float share = Unsafe.Add(ref dyRow, ow) * scale;
                    for (int kw = 0; kw < g.KernelW; kw++) Unsafe.Add(ref row, ow * g.KernelW + kw) = share;
                }
                ref float top = ref Unsafe.Add(ref gradient, oh * g.KernelH * g.InWidth);
                for (int kh = 0; kh < g.KernelH; kh++) Im2Col.Copy(ref Unsafe.Add(ref top, kh * g.InWidth), ref row, width);
            }
        }
    }

    /// <summary>
    /// Tiling windows 2 wide (LeNet's 2 x 2), AVX-512: for 16 outputs at a time, the window's rows are summed as two
    /// vectors of 32 input columns, then even and odd columns are gathered (vpermt2ps) and added, so the sums are in the
    /// order of the general path: rows first, then the pair.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AvgPoolPairsForward(ref float y, ref float x, int planes, in Pool2dGeometry g, float scale)
    {
        int inPlane = g.InHeight * g.InWidth, outPlane = g.OutHeight * g.OutWidth;
        Vector512<int> even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), odd = even + Vector512<int>.One;
        Vector512<float> factor = Vector512.Create(scale);
        // Rows of at most 16 outputs, one vector each, stored in order: the lanes past a row's end (zeros) land on the next
        // row, stored after it, so a plain store serves wherever it stays in the plane (as in AvgPoolPairsBackward).
        bool ordered = g.OutWidth <= 16;
        for (int plane = 0; plane < planes; plane++)
        {
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                ref float top = ref Unsafe.Add(ref x, plane * inPlane + oh * g.KernelH * g.InWidth);
                ref float outRow = ref Unsafe.Add(ref y, plane * outPlane + oh * g.OutWidth);
                for (int ow = 0; ow < g.OutWidth; ow += 16)
                {
                    int count = Math.Min(16, g.OutWidth - ow);
                    Vector512<float> low = LaneMask(2 * count), high = LaneMask(2 * count - 16);
                    ref float at = ref Unsafe.Add(ref top, 2 * ow);
                    bool wide = count > 8; // the window's columns reach the second vector (never address past a row's end)
                    Vector512<float> a = MaskedLoad(ref at, low), b = wide ? MaskedLoad(ref Unsafe.Add(ref at, 16), high) : default;
                    for (int kh = 1; kh < g.KernelH; kh++)
                    {
                        ref float row = ref Unsafe.Add(ref at, kh * g.InWidth);
                        a += MaskedLoad(ref row, low);
                        if (wide) b += MaskedLoad(ref Unsafe.Add(ref row, 16), high);
                    }
                    Vector512<float> sum = Avx512F.PermuteVar16x32x2(a, even, b) + Avx512F.PermuteVar16x32x2(a, odd, b);
                    if (ordered && oh * g.OutWidth + ow + 16 <= outPlane)
                    {
                        (sum * factor).StoreUnsafe(ref Unsafe.Add(ref outRow, ow));
                        continue;
                    }
                    MaskedStore(ref Unsafe.Add(ref outRow, ow), LaneMask(count), sum * factor);
                }
            }
        }
    }

    /// <summary>Tiling windows 2 wide, backward: 16 output gradients times 1 / divisor, each duplicated (vpermps) into its window's rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AvgPoolPairsBackward(ref float dx, ref float dy, int planes, in Pool2dGeometry g, float scale)
    {
        int inPlane = g.InHeight * g.InWidth, outPlane = g.OutHeight * g.OutWidth;
        Vector512<int> lowHalf = Vector512.Create(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7), highHalf = lowHalf + Vector512.Create(8);
        Vector512<float> factor = Vector512.Create(scale);
        // Windows that cover the plane exactly, a row one block: rows are written whole and in order, so the lanes past a
        // row's end land on the next row, written after it, and a plain store serves where it stays in the plane. To
        // memory not in cache a masked store cost about twice as much on AMD Zen 5 (LeNet's first pooling at batch 256:
        // 0.52-0.54 -> 0.29-0.30 ms).
        bool ordered = g.OutWidth <= 16 && g.OutWidth * 2 == g.InWidth && g.OutHeight * g.KernelH == g.InHeight;
        for (int plane = 0; plane < planes; plane++)
        {
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                ref float top = ref Unsafe.Add(ref dx, plane * inPlane + oh * g.KernelH * g.InWidth);
                ref float dyRow = ref Unsafe.Add(ref dy, plane * outPlane + oh * g.OutWidth);
                for (int ow = 0; ow < g.OutWidth; ow += 16)
                {
                    int count = Math.Min(16, g.OutWidth - ow);
                    Vector512<float> low = LaneMask(2 * count), high = LaneMask(2 * count - 16);
                    Vector512<float> share = MaskedLoad(ref Unsafe.Add(ref dyRow, ow), LaneMask(count)) * factor;
                    Vector512<float> a = Avx512F.PermuteVar16x32(share, lowHalf), b = Avx512F.PermuteVar16x32(share, highHalf);
                    ref float at = ref Unsafe.Add(ref top, 2 * ow);
                    for (int kh = 0; kh < g.KernelH; kh++)
                    {
                        ref float row = ref Unsafe.Add(ref at, kh * g.InWidth);
                        if (ordered && (oh * g.KernelH + kh) * g.InWidth + 2 * ow + (count > 8 ? 32 : 16) <= inPlane)
                        {
                            a.StoreUnsafe(ref row);
                            if (count > 8) b.StoreUnsafe(ref Unsafe.Add(ref row, 16));
                            continue;
                        }
                        MaskedStore(ref row, low, a);
                        if (count > 8) MaskedStore(ref Unsafe.Add(ref row, 16), high, b);
                    }
                }
            }
        }
    }

    /// <summary>
    /// <see cref="AvgPoolPairsForward"/> with AVX2 alone: 8 outputs at a time from two vectors of 16 input columns, the
    /// window's rows summed first, then the even and the odd columns gathered (vshufps, then vpermpd to put the halves in
    /// order) and added: the same sums in the same order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AvgPoolPairsForward256(ref float y, ref float x, int planes, in Pool2dGeometry g, float scale)
    {
        int inPlane = g.InHeight * g.InWidth, outPlane = g.OutHeight * g.OutWidth;
        Vector256<float> factor = Vector256.Create(scale);
        for (int plane = 0; plane < planes; plane++)
        {
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                ref float top = ref Unsafe.Add(ref x, plane * inPlane + oh * g.KernelH * g.InWidth);
                ref float outRow = ref Unsafe.Add(ref y, plane * outPlane + oh * g.OutWidth);
                for (int ow = 0; ow < g.OutWidth; ow += 8)
                {
                    int count = Math.Min(8, g.OutWidth - ow);
                    Vector256<float> low = LaneMask256(2 * count), high = LaneMask256(2 * count - 8);
                    ref float at = ref Unsafe.Add(ref top, 2 * ow);
                    bool wide = count > 4; // the window's columns reach the second vector (never address past a row's end)
                    Vector256<float> a = MaskedLoad256(ref at, low), b = wide ? MaskedLoad256(ref Unsafe.Add(ref at, 8), high) : default;
                    for (int kh = 1; kh < g.KernelH; kh++)
                    {
                        ref float row = ref Unsafe.Add(ref at, kh * g.InWidth);
                        a += MaskedLoad256(ref row, low);
                        if (wide) b += MaskedLoad256(ref Unsafe.Add(ref row, 8), high);
                    }
                    // [a0 a2 b0 b2 | a4 a6 b4 b6] + [a1 a3 b1 b3 | a5 a7 b5 b7], then the 64-bit pairs in order 0, 2, 1, 3.
                    Vector256<float> sum = Avx.Shuffle(a, b, 0x88) + Avx.Shuffle(a, b, 0xDD);
                    sum = Avx2.Permute4x64(sum.AsDouble(), 0xD8).AsSingle() * factor;
                    // Rows are stored in order: lanes past a row's end land on the next row, stored after it, so a plain
                    // store serves wherever it stays in the plane.
                    if (oh * g.OutWidth + ow + 8 <= outPlane) sum.StoreUnsafe(ref Unsafe.Add(ref outRow, ow));
                    else MaskedStore256(ref Unsafe.Add(ref outRow, ow), LaneMask256(count), sum);
                }
            }
        }
    }

    /// <summary><see cref="AvgPoolPairsBackward"/> with AVX2 alone: 8 output gradients times 1 / divisor, each duplicated (vunpcklps/vunpckhps, vperm2f128) into its window's rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AvgPoolPairsBackward256(ref float dx, ref float dy, int planes, in Pool2dGeometry g, float scale)
    {
        int inPlane = g.InHeight * g.InWidth, outPlane = g.OutHeight * g.OutWidth;
        Vector256<float> factor = Vector256.Create(scale);
        // As in AvgPoolPairsBackward: windows that cover the plane exactly are written whole and in order (each input row
        // left to right, then the next: a row of output gradients is duplicated again for each of its window's rows), so
        // the lanes past a row's end land on the next row, written after it.
        bool ordered = g.OutWidth * 2 == g.InWidth && g.OutHeight * g.KernelH == g.InHeight;
        for (int plane = 0; plane < planes; plane++)
        {
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                ref float top = ref Unsafe.Add(ref dx, plane * inPlane + oh * g.KernelH * g.InWidth);
                ref float dyRow = ref Unsafe.Add(ref dy, plane * outPlane + oh * g.OutWidth);
                for (int kh = 0; kh < g.KernelH; kh++)
                {
                    ref float row = ref Unsafe.Add(ref top, kh * g.InWidth);
                    for (int ow = 0; ow < g.OutWidth; ow += 8)
                    {
                        int count = Math.Min(8, g.OutWidth - ow);
                        Vector256<float> share = MaskedLoad256(ref Unsafe.Add(ref dyRow, ow), LaneMask256(count)) * factor;
                        Vector256<float> lower = Avx.UnpackLow(share, share), upper = Avx.UnpackHigh(share, share);
                        Vector256<float> a = Avx.Permute2x128(lower, upper, 0x20), b = Avx.Permute2x128(lower, upper, 0x31);
                        ref float at = ref Unsafe.Add(ref row, 2 * ow);
                        if (ordered && (oh * g.KernelH + kh) * g.InWidth + 2 * ow + (count > 4 ? 16 : 8) <= inPlane)
                        {
                            a.StoreUnsafe(ref at);
                            if (count > 4) b.StoreUnsafe(ref Unsafe.Add(ref at, 8));
                            continue;
                        }
                        MaskedStore256(ref at, LaneMask256(2 * count), a);
                        if (count > 4) MaskedStore256(ref Unsafe.Add(ref at, 8), LaneMask256(2 * count - 8), b);
                    }
                }
            }
        }
    }

    /// <summary>Lanes [0, count) set, the others clear; count may be negative or above 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> LaneMask256(int count) =>
        Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(count)).AsSingle();

    /// <summary>The masked lanes from memory (vmaskmovps), zero elsewhere; masked-off lanes are never read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> MaskedLoad256(ref float source, Vector256<float> mask)
    {
        fixed (float* p = &source) return Avx.MaskLoad(p, mask);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void MaskedStore256(ref float destination, Vector256<float> mask, Vector256<float> value)
    {
        fixed (float* p = &destination) Avx.MaskStore(p, mask, value);
    }

    /// <summary>Lanes [0, count) set (all-ones bits), the others clear; count may be negative or above 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> LaneMask(int count) =>
        Vector512.LessThan(Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create(count)).AsSingle();

    /// <summary>The masked lanes from memory, zero elsewhere; masked-off lanes are never read (no fault past an array's end).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> MaskedLoad(ref float source, Vector512<float> mask)
    {
        fixed (float* p = &source) return Avx512F.MaskLoad(p, mask, Vector512<float>.Zero);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void MaskedStore(ref float destination, Vector512<float> mask, Vector512<float> value)
    {
        fixed (float* p = &destination) Avx512F.MaskStore(p, mask, value);
    }

    /// <summary>
    /// One axis of an average window as PyTorch's avg_pool2d computes it: [start, end) clipped to the input, and its
    /// length clipped only to the padded input (the count_include_pad divisor's factor).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AvgSpan(int o, int stride, int pad, int kernel, int size, out int start, out int end, out int padded)
    {
        start = o * stride - pad;
        end = Math.Min(start + kernel, size + pad);
        padded = end - start;
        start = Math.Max(start, 0);
        end = Math.Min(end, size);
    }

    /// <summary>
    /// Adaptive average pooling (torch.nn.AdaptiveAvgPool2d): output (i, j) averages rows floor(i H / outH) to
    /// ceil((i + 1) H / outH) and the same for columns; a 1 x 1 output is global average pooling.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AdaptiveAvgPool2dForward(Span<float> output, ReadOnlySpan<float> input, int batch, int channels, int inHeight, int inWidth, int outHeight, int outWidth)
    {
        CheckAdaptive(output.Length, input.Length, batch, channels, inHeight, inWidth, outHeight, outWidth);
        int inPlane = inHeight * inWidth, outPlane = outHeight * outWidth;
        for (int plane = 0; plane < batch * channels; plane++)
        {
            ReadOnlySpan<float> x = input.Slice(plane * inPlane, inPlane);
            for (int oh = 0; oh < outHeight; oh++)
            {
                (int h0, int h1) = AdaptiveBin(oh, inHeight, outHeight);
                for (int ow = 0; ow < outWidth; ow++)
                {
                    (int w0, int w1) = AdaptiveBin(ow, inWidth, outWidth);
                    float sum = 0f;
                    for (int ih = h0; ih < h1; ih++)
                    {
                        if (w1 - w0 == inWidth) sum += System.Numerics.Tensors.TensorPrimitives.Sum(x.Slice(ih * inWidth, inWidth));
                        else for (int iw = w0; iw < w1; iw++) sum += x[ih * inWidth + iw];
                    }
                    output[plane * outPlane + oh * outWidth + ow] = sum / ((h1 - h0) * (w1 - w0));
                }
            }
        }
    }

    /// <summary>inputGrad = each output gradient divided by its bin's size, spread over the bin, summed where bins overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AdaptiveAvgPool2dBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, int batch, int channels, int inHeight, int inWidth, int outHeight, int outWidth)
    {
        CheckAdaptive(outputGrad.Length, inputGrad.Length, batch, channels, inHeight, inWidth, outHeight, outWidth);
        int inPlane = inHeight * inWidth, outPlane = outHeight * outWidth;
        inputGrad.Clear();
        for (int plane = 0; plane < batch * channels; plane++)
        {
            Span<float> dx = inputGrad.Slice(plane * inPlane, inPlane);
            for (int oh = 0; oh < outHeight; oh++)
            {
                (int h0, int h1) = AdaptiveBin(oh, inHeight, outHeight);
                for (int ow = 0; ow < outWidth; ow++)
                {
                    (int w0, int w1) = AdaptiveBin(ow, inWidth, outWidth);
                    float share = outputGrad[plane * outPlane + oh * outWidth + ow] / ((h1 - h0) * (w1 - w0));
                    for (int ih = h0; ih < h1; ih++)
                    {
                        for (int iw = w0; iw < w1; iw++) dx[ih * inWidth + iw] += share;
                    }
                }
            }
        }
    }

    /// <summary>Adaptive max pooling (torch.nn.AdaptiveMaxPool2d): PyTorch's bins, each output its bin's largest value and its index, as <see cref="MaxPool2dForward"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AdaptiveMaxPool2dForward(Span<float> output, Span<int> argmax, ReadOnlySpan<float> input, int batch, int channels, int inHeight, int inWidth, int outHeight, int outWidth)
    {
        CheckAdaptive(output.Length, input.Length, batch, channels, inHeight, inWidth, outHeight, outWidth);
        CheckLength(argmax.Length, output.Length, nameof(argmax));
        int inPlane = inHeight * inWidth, outPlane = outHeight * outWidth;
        for (int plane = 0; plane < batch * channels; plane++)
        {
            ReadOnlySpan<float> x = input.Slice(plane * inPlane, inPlane);
            for (int oh = 0; oh < outHeight; oh++)
            {
                (int h0, int h1) = AdaptiveBin(oh, inHeight, outHeight);
                for (int ow = 0; ow < outWidth; ow++)
                {
                    (int w0, int w1) = AdaptiveBin(ow, inWidth, outWidth);
                    float best = float.NegativeInfinity;
                    int index = h0 * inWidth + w0;
                    for (int ih = h0; ih < h1; ih++)
                    {
                        for (int iw = w0; iw < w1; iw++)
                        {
                            float v = x[ih * inWidth + iw];
                            if (v > best || float.IsNaN(v))
                            {
                                best = v;
                                index = ih * inWidth + iw;
                            }
                        }
                    }
                    output[plane * outPlane + oh * outWidth + ow] = best;
                    argmax[plane * outPlane + oh * outWidth + ow] = index;
                }
            }
        }
    }

    /// <summary>inputGrad = each output gradient sent to its bin's argmax, summed where bins overlap.</summary>
    public static void AdaptiveMaxPool2dBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<int> argmax, int batch, int channels, int inHeight, int inWidth, int outHeight, int outWidth)
    {
        CheckAdaptive(outputGrad.Length, inputGrad.Length, batch, channels, inHeight, inWidth, outHeight, outWidth);
        CheckLength(argmax.Length, outputGrad.Length, nameof(argmax));
        ScatterToIndices(inputGrad, outputGrad, argmax, batch, channels, inHeight * inWidth, outHeight * outWidth);
    }

    /// <summary>PyTorch's adaptive bin: [floor(i * in / out), ceil((i + 1) * in / out)).</summary>
    private static (int Start, int End) AdaptiveBin(int i, int inSize, int outSize) =>
        ((int)((long)i * inSize / outSize), (int)(((long)(i + 1) * inSize + outSize - 1) / outSize));

    /// <summary>inputGrad[plane, argmax[o]] += outputGrad[o] for every output o of every plane; indices are checked against the plane.</summary>
    private static void ScatterToIndices(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<int> argmax, int batch, int channels, int inPlane, int outPlane)
    {
        inputGrad.Clear();
        for (int plane = 0; plane < batch * channels; plane++)
        {
            Span<float> dx = inputGrad.Slice(plane * inPlane, inPlane);
            for (int o = 0; o < outPlane; o++)
            {
                int index = argmax[plane * outPlane + o];
                if ((uint)index >= (uint)inPlane) throw new ArgumentException($"argmax holds {index} at {plane * outPlane + o}, outside the input plane of {inPlane}.", nameof(argmax));
                dx[index] += outputGrad[plane * outPlane + o];
            }
        }
    }

    private static void CheckPool(int outputLength, int inputLength, int batch, in Pool2dGeometry g)
    {
        CheckPositive(batch, nameof(batch));
        g.Validate();
        CheckLength(inputLength, (long)batch * g.InputSize, "input");
        CheckLength(outputLength, (long)batch * g.OutputSize, "output");
    }

    private static void CheckAdaptive(int outputLength, int inputLength, int batch, int channels, int inHeight, int inWidth, int outHeight, int outWidth)
    {
        CheckPositive(batch, nameof(batch));
        if (channels <= 0 || inHeight <= 0 || inWidth <= 0 || outHeight <= 0 || outWidth <= 0)
        {
            throw new ArgumentException($"Adaptive pooling sizes must be positive, but they are {channels} x {inHeight} x {inWidth} -> {outHeight} x {outWidth}.");
        }
        CheckLength(inputLength, (long)batch * channels * inHeight * inWidth, "input");
        CheckLength(outputLength, (long)batch * channels * outHeight * outWidth, "output");
    }
}
