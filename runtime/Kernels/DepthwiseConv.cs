using System;
using System.Numerics.Tensors;
using StaticNet.Simd;

namespace StaticNet;

/// <summary>
/// Depthwise convolution (groups = input channels, each group one input plane and OutChannels / InChannels output
/// planes: MobileNet's layers) computed directly, plane by plane, without a patch matrix: a group's GEMM would be one
/// row deep. Each output row starts from the bias and takes its taps in (kh, kw) order; with stride 1 along the width a
/// tap is one vectorised multiply-add over the row's valid span (TensorPrimitives: Vector512, 256 or 128 as the CPU
/// has), otherwise a scalar loop. The input gradient is the same walk with the roles of the rows swapped, the weight
/// gradient a dot product per tap and row, summed in double over samples and rows in order. Forward and the input
/// gradient split samples across threads, the weight gradient splits output channels, so the result is the same for
/// any thread count.
/// </summary>
internal sealed unsafe class DepthwiseConv : ConvPassJob
{
    // Convolutions below this many multiply-adds in all stay on one thread.
    private const long ParallelThreshold = 1L << 18;

    [ThreadStatic] private static DepthwiseConv? s_job;
    [ThreadStatic] private static float[]? s_padded, s_wide;


    /// <summary>Whether this geometry is depthwise (more than one group, one input channel per group).</summary>
    public static bool Applies(in Conv2dGeometry g) => g.Groups > 1 && g.Groups == g.InChannels;

    /// <summary>y = conv(x), with the bias (unless empty) and a ReLU when asked.</summary>
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int batch, in Conv2dGeometry g, bool relu) =>
        Run(ConvPass.Forward, y, x, weight, bias, default, batch, g, relu);

    /// <summary>dx = the transposed convolution of dy (written).</summary>
    public static void InputGradient(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> weight, int batch, in Conv2dGeometry g) =>
        Run(ConvPass.InputGradient, dx, dy, weight, default, default, batch, g, relu: false);

    /// <summary>dw += sum over samples and positions of dy x (accumulated).</summary>
    public static void WeightGradient(Span<float> dw, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int batch, in Conv2dGeometry g) =>
        Run(ConvPass.WeightGradient, dw, dy, default, default, x, batch, g, relu: false);

    private static void Run(ConvPass pass, Span<float> destination, ReadOnlySpan<float> source, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> input, int batch, in Conv2dGeometry g, bool relu)
    {
        int units = pass == ConvPass.WeightGradient ? g.OutChannels : batch;
        long work = (long)batch * g.OutputSize * g.KernelH * g.KernelW;
        int parts = work >= ParallelThreshold ? Math.Min(Threading.NumThreads, units) : 1;
        fixed (float* d = destination, s = source, w = weight, b = bias, x = input)
        {
            (s_job ??= new DepthwiseConv()).Run(pass, d, s, w, b, bias.Length, x, batch, g, relu, parts);
        }
    }

    public override void Execute(int part)
    {
        if (_geometry.StrideH == 1 && _geometry.StrideW == 1)
        {
            ExecuteWide(part);
            return;
        }
        Conv2dGeometry g = _geometry;
        int units = _pass == ConvPass.WeightGradient ? g.OutChannels : _batch;
        int first = (int)((long)units * part / _parts), last = (int)((long)units * (part + 1) / _parts);
        int inPlane = g.InHeight * g.InWidth, outPlane = g.OutputPlane, taps = g.KernelH * g.KernelW, multiplier = g.OutChannels / g.InChannels;
        Span<double> sums = _pass != ConvPass.WeightGradient ? default : taps <= 256 ? stackalloc double[taps] : new double[taps];
        for (int unit = first; unit < last; unit++)
        {
            switch (_pass)
            {
                case ConvPass.Forward:
                    for (int co = 0; co < g.OutChannels; co++)
                    {
                        var y = new Span<float>(_destination + ((long)unit * g.OutChannels + co) * outPlane, outPlane);
                        y.Fill(_biasLength == 0 ? 0f : _bias[co]);
                        RowPass(y, new Span<float>(_source + ((long)unit * g.InChannels + co / multiplier) * inPlane, inPlane),
                            new ReadOnlySpan<float>(_weight + (long)co * taps, taps), g, transposed: false);
                        if (_relu) TensorPrimitives.Max(y, 0f, y);
                    }
                    break;
                case ConvPass.InputGradient:
                    new Span<float>(_destination + (long)unit * g.InputSize, g.InputSize).Clear();
                    for (int co = 0; co < g.OutChannels; co++)
                    {
                        RowPass(new Span<float>(_source + ((long)unit * g.OutChannels + co) * outPlane, outPlane),
                            new Span<float>(_destination + ((long)unit * g.InChannels + co / multiplier) * inPlane, inPlane),
                            new ReadOnlySpan<float>(_weight + (long)co * taps, taps), g, transposed: true);
                    }
                    break;
                default:
                    sums.Clear();
                    for (int n = 0; n < _batch; n++)
                    {
                        WeightGradientPlane(sums, new ReadOnlySpan<float>(_source + ((long)n * g.OutChannels + unit) * outPlane, outPlane),
                            new ReadOnlySpan<float>(_input + ((long)n * g.InChannels + unit / multiplier) * inPlane, inPlane), g);
                    }
                    for (int t = 0; t < taps; t++) _destination[(long)unit * taps + t] += (float)sums[t];
                    break;
            }
        }
    }

    /// <summary>
    /// Stride 1: each plane is padded once into rows of the padded width Wp, so that a tap's contribution to every output
    /// position is one contiguous multiply-add over OutHeight x Wp floats (the columns past OutWidth are computed and
    /// dropped), nine long vector passes for a 3 x 3 kernel instead of nine short ones per row. The input gradient is the
    /// same on the padded output gradient with the kernel flipped; the weight gradient a dot product per tap of the
    /// output gradient (widened with zero columns) with the shifted padded input.
    /// </summary>
    private void ExecuteWide(int part)
    {
        Conv2dGeometry g = _geometry;
        int units = _pass == ConvPass.WeightGradient ? g.OutChannels : _batch;
        int first = (int)((long)units * part / _parts), last = (int)((long)units * (part + 1) / _parts);
        int inPlane = g.InHeight * g.InWidth, outPlane = g.OutputPlane, taps = g.KernelH * g.KernelW, multiplier = g.OutChannels / g.InChannels;
        int spanH = (g.KernelH - 1) * g.DilationH, spanW = (g.KernelW - 1) * g.DilationW;
        // Forward and the weight gradient read the input padded to (OutHeight + spanH) x (OutWidth + spanW); the input
        // gradient reads the output gradient padded to (InHeight + spanH) x (InWidth + spanW). One extra row keeps every
        // shifted slice inside the buffer.
        (int rows, int width, int outRows) = _pass == ConvPass.InputGradient
            ? (g.InHeight + spanH, g.InWidth + spanW, g.InHeight)
            : (g.OutHeight + spanH, g.OutWidth + spanW, g.OutHeight);
        Span<float> padded = Buffer(ref s_padded, (rows + 1) * width), wide = Buffer(ref s_wide, outRows * width);
        Span<double> sums = _pass != ConvPass.WeightGradient ? default : taps <= 256 ? stackalloc double[taps] : new double[taps];
        for (int unit = first; unit < last; unit++)
        {
            switch (_pass)
            {
                case ConvPass.Forward:
                    for (int co = 0; co < g.OutChannels; co++)
                    {
                        Pad(padded, width, new ReadOnlySpan<float>(_source + ((long)unit * g.InChannels + co / multiplier) * inPlane, inPlane),
                            g.InHeight, g.InWidth, g.PadTop, g.PadLeft);
                        wide.Fill(_biasLength == 0 ? 0f : _bias[co]);
                        for (int t = 0; t < taps; t++)
                        {
                            int kh = t / g.KernelW, kw = t % g.KernelW;
                            TensorPrimitives.MultiplyAdd(padded.Slice(kh * g.DilationH * width + kw * g.DilationW, wide.Length), _weight[(long)co * taps + t], wide, wide);
                        }
                        var y = new Span<float>(_destination + ((long)unit * g.OutChannels + co) * outPlane, outPlane);
                        for (int r = 0; r < g.OutHeight; r++) wide.Slice(r * width, g.OutWidth).CopyTo(y.Slice(r * g.OutWidth, g.OutWidth));
                        if (_relu) TensorPrimitives.Max(y, 0f, y);
                    }
                    break;
                case ConvPass.InputGradient:
                    for (int ci = 0; ci < g.InChannels; ci++)
                    {
                        wide.Clear();
                        for (int co = ci * multiplier; co < (ci + 1) * multiplier; co++)
                        {
                            // dx[i, j] = sum over taps of w[kh, kw] dy[i + padTop - kh dH, j + padLeft - kw dW]: dy placed at
                            // (spanH - padTop, spanW - padLeft) of the padded plane, read at (i + spanH - kh dH, j + spanW - kw dW).
                            Pad(padded, width, new ReadOnlySpan<float>(_source + ((long)unit * g.OutChannels + co) * outPlane, outPlane),
                                g.OutHeight, g.OutWidth, spanH - g.PadTop, spanW - g.PadLeft);
                            for (int t = 0; t < taps; t++)
                            {
                                int kh = t / g.KernelW, kw = t % g.KernelW;
                                TensorPrimitives.MultiplyAdd(padded.Slice((spanH - kh * g.DilationH) * width + spanW - kw * g.DilationW, wide.Length),
                                    _weight[(long)co * taps + t], wide, wide);
                            }
                        }
                        var dx = new Span<float>(_destination + ((long)unit * g.InChannels + ci) * inPlane, inPlane);
                        for (int r = 0; r < g.InHeight; r++) wide.Slice(r * width, g.InWidth).CopyTo(dx.Slice(r * g.InWidth, g.InWidth));
                    }
                    break;
                default:
                    sums.Clear();
                    for (int n = 0; n < _batch; n++)
                    {
                        Pad(padded, width, new ReadOnlySpan<float>(_input + ((long)n * g.InChannels + unit / multiplier) * inPlane, inPlane),
                            g.InHeight, g.InWidth, g.PadTop, g.PadLeft);
                        // The output gradient in rows of the padded width, zero past OutWidth, so the dropped columns add nothing.
                        wide.Clear();
                        var dy = new ReadOnlySpan<float>(_source + ((long)n * g.OutChannels + unit) * outPlane, outPlane);
                        for (int r = 0; r < g.OutHeight; r++) dy.Slice(r * g.OutWidth, g.OutWidth).CopyTo(wide.Slice(r * width, g.OutWidth));
                        for (int t = 0; t < taps; t++)
                        {
                            int kh = t / g.KernelW, kw = t % g.KernelW;
                            sums[t] += TensorPrimitives.Dot(wide, padded.Slice(kh * g.DilationH * width + kw * g.DilationW, wide.Length));
                        }
                    }
                    for (int t = 0; t < taps; t++) _destination[(long)unit * taps + t] += (float)sums[t];
                    break;
            }
        }
    }

    /// <summary>
    /// Zeroes the padded plane (rows of <paramref name="width"/>) and copies the plane's rows in at (top, left), cropping
    /// whatever falls outside (a negative offset crops the plane's first rows or columns).
    /// </summary>
    private static void Pad(Span<float> padded, int width, ReadOnlySpan<float> plane, int height, int planeWidth, int top, int left)
    {
        padded.Clear();
        int rowCount = padded.Length / width;
        int firstColumn = Math.Max(0, -left), lastColumn = Math.Min(planeWidth, width - left); // plane columns kept: [first, last)
        if (firstColumn >= lastColumn) return;
        for (int r = Math.Max(0, -top); r < height && r + top < rowCount; r++)
        {
            plane.Slice(r * planeWidth + firstColumn, lastColumn - firstColumn).CopyTo(padded.Slice((r + top) * width + left + firstColumn, lastColumn - firstColumn));
        }
    }

    private static Span<float> Buffer(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length) buffer = new float[length];
        return buffer.AsSpan(0, length);
    }

    /// <summary>The output columns whose tap at <paramref name="offset"/> (ix = ox * stride + offset) lands inside the row: [first, last].</summary>
    private static (int First, int Last) Span(int offset, int stride, int inWidth, int outWidth)
    {
        int first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        int last = inWidth - 1 - offset < 0 ? -1 : Math.Min(outWidth - 1, (inWidth - 1 - offset) / stride);
        return (first, last);
    }

    /// <summary>What the row walk does with one kernel tap on one pair of rows: the output columns [first, last] meet the input at ox * stride + offset.</summary>
    private interface IRowTap
    {
        void Tap(int oy, int iy, int tap, float weight, int first, int last, int offset);
    }

    /// <summary>
    /// The row walk for any stride, shared by every pass: for each output row, kernel row landing inside the input and
    /// kernel column, the span of output columns whose tap lands inside the input row.
    /// </summary>
    private static void Walk<TTap>(in Conv2dGeometry g, ReadOnlySpan<float> kernel, ref TTap op) where TTap : IRowTap, allows ref struct
    {
        for (int oy = 0; oy < g.OutHeight; oy++)
        {
            for (int kh = 0; kh < g.KernelH; kh++)
            {
                int iy = oy * g.StrideH - g.PadTop + kh * g.DilationH;
                if ((uint)iy >= (uint)g.InHeight) continue;
                for (int kw = 0; kw < g.KernelW; kw++)
                {
                    int offset = kw * g.DilationW - g.PadLeft;
                    (int first, int last) = Span(offset, g.StrideW, g.InWidth, g.OutWidth);
                    if (first <= last) op.Tap(oy, iy, kh * g.KernelW + kw, kernel.IsEmpty ? 0f : kernel[kh * g.KernelW + kw], first, last, offset);
                }
            }
        }
    }

    /// <summary>
    /// Forward adds w x (input rows) into the output rows; <see cref="Transposed"/>, the input gradient, adds w dy (output
    /// rows) into the input rows instead.
    /// </summary>
    private ref struct AddTaps : IRowTap
    {
        public Span<float> Output, Input;
        public int OutWidth, InWidth, Stride;
        public bool Transposed;

        public void Tap(int oy, int iy, int tap, float w, int first, int last, int offset)
        {
            Span<float> outputRow = Output.Slice(oy * OutWidth, OutWidth), inputRow = Input.Slice(iy * InWidth, InWidth);
            if (Stride == 1)
            {
                Span<float> output = outputRow.Slice(first, last - first + 1), input = inputRow.Slice(first + offset, output.Length);
                if (Transposed) TensorPrimitives.MultiplyAdd(output, w, input, input);
                else TensorPrimitives.MultiplyAdd(input, w, output, output);
            }
            else if (Transposed)
            {
                for (int ox = first; ox <= last; ox++) inputRow[ox * Stride + offset] += w * outputRow[ox];
            }
            else
            {
                for (int ox = first; ox <= last; ox++) outputRow[ox] += w * inputRow[ox * Stride + offset];
            }
        }
    }

    /// <summary>The weight gradient: each tap's sum of dy x over the rows, in double.</summary>
    private ref struct SumTaps : IRowTap
    {
        public Span<double> Sums;
        public ReadOnlySpan<float> Gradient, Input;
        public int OutWidth, InWidth, Stride;

        public void Tap(int oy, int iy, int tap, float w, int first, int last, int offset)
        {
            ReadOnlySpan<float> gradient = Gradient.Slice(oy * OutWidth, OutWidth), input = Input.Slice(iy * InWidth, InWidth);
            double sum = 0;
            if (Stride == 1)
            {
                sum = TensorPrimitives.Dot(gradient.Slice(first, last - first + 1), input.Slice(first + offset, last - first + 1));
            }
            else
            {
                for (int ox = first; ox <= last; ox++) sum += (double)gradient[ox] * input[ox * Stride + offset];
            }
            Sums[tap] += sum;
        }
    }

    private static void RowPass(Span<float> outputPlane, Span<float> inputPlane, ReadOnlySpan<float> kernel, in Conv2dGeometry g, bool transposed)
    {
        var op = new AddTaps { Output = outputPlane, Input = inputPlane, OutWidth = g.OutWidth, InWidth = g.InWidth, Stride = g.StrideW, Transposed = transposed };
        Walk(g, kernel, ref op);
    }

    private static void WeightGradientPlane(Span<double> sums, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, in Conv2dGeometry g)
    {
        var op = new SumTaps { Sums = sums, Gradient = dy, Input = x, OutWidth = g.OutWidth, InWidth = g.InWidth, Stride = g.StrideW };
        Walk(g, default, ref op);
    }
}
