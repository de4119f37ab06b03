using System;
using System.Collections.Generic;
using System.Linq;

namespace StaticNet.Tests.Reference;

/// <summary>
/// A plain double-precision interpreter of a network's layers, written from PyTorch's definitions and independent of
/// the generated code and the kernels. It reads the layer list from the network's modules and its parameters from
/// a table that tests may perturb for finite differences. Dropout is the identity (evaluation mode); BatchNorm uses the
/// batch's statistics in training mode (or without running statistics) and the module's running statistics otherwise.
/// </summary>
internal sealed class ReferenceNetwork
{
    private readonly IReadOnlyList<Module> _layers;
    private readonly int[] _inputShape;
    private readonly bool _training;

    public ReferenceNetwork(Network network, ReadOnlySpan<int> inputShape, bool training = false)
    {
        _layers = network.Children().ToList();
        _inputShape = inputShape.ToArray();
        _training = training;
        Values = network.Parameters().ToDictionary(p => p, p => p.Data.ToArray().Select(v => (double)v).ToArray());
    }

    /// <summary>The parameter values the reference uses, initially the network's own.</summary>
    public Dictionary<Parameter, double[]> Values { get; }

    public double[] Forward(double[] input, int batch) => ApplyAll(_layers, input, _inputShape, batch).Output;

    private (double[] Output, int[] Shape) ApplyAll(IEnumerable<Module> layers, double[] x, int[] shape, int batch)
    {
        foreach (Module layer in layers)
        {
            (x, shape) = Apply(layer, x, shape, batch);
        }
        return (x, shape);
    }

    /// <summary>sum_i weights[i] * output[i]: the scalar whose gradient tests compare.</summary>
    public double Loss(double[] input, int batch, double[] weights)
    {
        double[] y = Forward(input, batch);
        double loss = 0;
        for (int i = 0; i < y.Length; i++) loss += weights[i] * y[i];
        return loss;
    }

    private (double[], int[]) Apply(Module layer, double[] x, int[] shape, int batch)
    {
        switch (layer)
        {
            case Flatten f:
            {
                int rank = shape.Length + 1;
                int start = f.StartDim < 0 ? f.StartDim + rank : f.StartDim, end = f.EndDim < 0 ? f.EndDim + rank : f.EndDim;
                var flat = shape.Take(start - 1).Append(shape.Skip(start - 1).Take(end - start + 1).Aggregate(1, (a, b) => a * b)).Concat(shape.Skip(end));
                return (x, flat.ToArray());
            }
            case Linear l:
            {
                double[] w = Values[l.Weight];
                double[]? b = l.Bias is null ? null : Values[l.Bias];
                int rows = x.Length / l.InFeatures;
                var y = new double[rows * l.OutFeatures];
                for (int r = 0; r < rows; r++)
                {
                    for (int o = 0; o < l.OutFeatures; o++)
                    {
                        double sum = b?[o] ?? 0;
                        for (int i = 0; i < l.InFeatures; i++) sum += x[r * l.InFeatures + i] * w[o * l.InFeatures + i];
                        y[r * l.OutFeatures + o] = sum;
                    }
                }
                return (y, shape.Take(shape.Length - 1).Append(l.OutFeatures).ToArray());
            }
            case ReLU:
                return (x.Select(v => Math.Max(v, 0)).ToArray(), shape);
            case LeakyReLU leaky:
                return (x.Select(v => v > 0 ? v : leaky.NegativeSlope * v).ToArray(), shape);
            case Sigmoid:
                return (x.Select(v => 1 / (1 + Math.Exp(-v))).ToArray(), shape);
            case SiLU:
                return (x.Select(v => v / (1 + Math.Exp(-v))).ToArray(), shape);
            case Tanh:
                return (x.Select(Math.Tanh).ToArray(), shape);
            case GELU gelu when gelu.Approximate == "tanh":
                return (x.Select(v => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)))).ToArray(), shape);
            case GELU:
                return (x.Select(v => 0.5 * v * (1 + SpecialFunctions.Erf(v / Math.Sqrt(2)))).ToArray(), shape);
            case Softmax s:
                return (Softmax(x, shape, batch, s.Dim), shape);
            case Conv2d conv:
                return Conv(conv, x, batch);
            case Conv1d conv:
                return (Conv(conv, x, batch).Output, [conv.OutChannels, conv.Geometry.OutWidth]);
            case MaxPool2d pool:
                return Pool(pool.Geometry, x, batch, max: true, countIncludePad: true, divisorOverride: 0);
            case AvgPool2d pool:
                return Pool(pool.Geometry, x, batch, max: false, pool.CountIncludePad, pool.DivisorOverride);
            case MaxPool1d pool:
                return (Pool(pool.Geometry, x, batch, max: true, countIncludePad: true, divisorOverride: 0).Output, [pool.Geometry.Channels, pool.Geometry.OutWidth]);
            case AvgPool1d pool:
                return (Pool(pool.Geometry, x, batch, max: false, pool.CountIncludePad, divisorOverride: 0).Output, [pool.Geometry.Channels, pool.Geometry.OutWidth]);
            case AdaptiveAvgPool2d pool:
                return Adaptive(x, shape, batch, pool.OutputH, pool.OutputW, max: false);
            case AdaptiveMaxPool2d pool:
                return Adaptive(x, shape, batch, pool.OutputH, pool.OutputW, max: true);
            case AdaptiveAvgPool1d pool:
                return (Adaptive(x, [shape[0], 1, shape[1]], batch, 1, pool.OutputSize, max: false).Item1, [shape[0], pool.OutputSize]);
            case AdaptiveMaxPool1d pool:
                return (Adaptive(x, [shape[0], 1, shape[1]], batch, 1, pool.OutputSize, max: true).Item1, [shape[0], pool.OutputSize]);
            case BatchNorm bn:
                return (BatchNorm(bn, x, shape, batch), shape);
            case LayerNorm ln:
                return (LayerNorm(ln, x), shape);
            case Dropout or Identity:
                return (x, shape);
            case Network block:
                return ApplyAll(block.Children(), x, shape, batch);
            case Residual residual:
            {
                (double[] y, int[] outShape) = ApplyAll(residual.Block.Children(), x, shape, batch);
                double[] skip = residual.Shortcut is null ? x : ApplyAll(residual.Shortcut.Children(), x, shape, batch).Output;
                return (y.Select((v, i) => v + skip[i]).ToArray(), outShape);
            }
            default:
                throw new NotSupportedException(layer.GetType().Name);
        }
    }

    /// <summary>torch.nn.Conv2d by its definition: each output a sum over its group's channels and kernel taps, padding zeros (a Conv1d: height 1).</summary>
    private (double[] Output, int[] Shape) Conv(ConvNd conv, double[] x, int batch)
    {
        Conv2dGeometry g = conv.Geometry;
        double[] w = Values[conv.Weight];
        double[]? b = conv.Bias is null ? null : Values[conv.Bias];
        var y = new double[batch * g.OutputSize];
        int cin = g.InChannels / g.Groups, cout = g.OutChannels / g.Groups;
        for (int n = 0; n < batch; n++)
        {
            for (int co = 0; co < g.OutChannels; co++)
            {
                int group = co / cout;
                for (int oh = 0; oh < g.OutHeight; oh++)
                {
                    for (int ow = 0; ow < g.OutWidth; ow++)
                    {
                        double sum = b?[co] ?? 0;
                        for (int ci = 0; ci < cin; ci++)
                        {
                            for (int kh = 0; kh < g.KernelH; kh++)
                            {
                                int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH;
                                if (ih < 0 || ih >= g.InHeight) continue;
                                for (int kw = 0; kw < g.KernelW; kw++)
                                {
                                    int iw = ow * g.StrideW - g.PadLeft + kw * g.DilationW;
                                    if (iw < 0 || iw >= g.InWidth) continue;
                                    sum += w[((co * cin + ci) * g.KernelH + kh) * g.KernelW + kw] * x[((n * g.InChannels + group * cin + ci) * g.InHeight + ih) * g.InWidth + iw];
                                }
                            }
                        }
                        y[((n * g.OutChannels + co) * g.OutHeight + oh) * g.OutWidth + ow] = sum;
                    }
                }
            }
        }
        return (y, [g.OutChannels, g.OutHeight, g.OutWidth]);
    }

    /// <summary>Max and average pooling by PyTorch's definitions (the average's divisor rules included).</summary>
    private static (double[] Output, int[] Shape) Pool(Pool2dGeometry g, double[] x, int batch, bool max, bool countIncludePad, int divisorOverride)
    {
        var y = new double[batch * g.OutputSize];
        for (int plane = 0; plane < batch * g.Channels; plane++)
        {
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                for (int ow = 0; ow < g.OutWidth; ow++)
                {
                    double best = double.NegativeInfinity, sum = 0;
                    int count = 0;
                    int hs = oh * g.StrideH - g.PadTop, ws = ow * g.StrideW - g.PadLeft;
                    for (int kh = 0; kh < g.KernelH; kh++)
                    {
                        for (int kw = 0; kw < g.KernelW; kw++)
                        {
                            int ih = hs + kh * g.DilationH, iw = ws + kw * g.DilationW;
                            if (ih < 0 || ih >= g.InHeight || iw < 0 || iw >= g.InWidth) continue;
                            double v = x[(plane * g.InHeight + ih) * g.InWidth + iw];
                            best = Math.Max(best, v);
                            sum += v;
                            count++;
                        }
                    }
                    double divisor = count;
                    if (!max)
                    {
                        int he = Math.Min(hs + g.KernelH, g.InHeight + g.PadTop), we = Math.Min(ws + g.KernelW, g.InWidth + g.PadLeft);
                        if (divisorOverride > 0) divisor = divisorOverride;
                        else if (countIncludePad) divisor = (he - hs) * (we - ws);
                    }
                    y[(plane * g.OutHeight + oh) * g.OutWidth + ow] = max ? best : sum / divisor;
                }
            }
        }
        return (y, [g.Channels, g.OutHeight, g.OutWidth]);
    }

    /// <summary>Adaptive pooling over PyTorch's bins [floor(i In / Out), ceil((i + 1) In / Out)).</summary>
    private static (double[], int[]) Adaptive(double[] x, int[] shape, int batch, int outH, int outW, bool max)
    {
        int channels = shape[0], inH = shape[1], inW = shape[2];
        var y = new double[batch * channels * outH * outW];
        for (int plane = 0; plane < batch * channels; plane++)
        {
            for (int oh = 0; oh < outH; oh++)
            {
                int h0 = oh * inH / outH, h1 = ((oh + 1) * inH + outH - 1) / outH;
                for (int ow = 0; ow < outW; ow++)
                {
                    int w0 = ow * inW / outW, w1 = ((ow + 1) * inW + outW - 1) / outW;
                    var values = new List<double>();
                    for (int ih = h0; ih < h1; ih++)
                    {
                        for (int iw = w0; iw < w1; iw++) values.Add(x[(plane * inH + ih) * inW + iw]);
                    }
                    y[(plane * outH + oh) * outW + ow] = max ? values.Max() : values.Average();
                }
            }
        }
        return (y, [channels, outH, outW]);
    }

    private double[] BatchNorm(BatchNorm bn, double[] x, int[] shape, int batch)
    {
        int channels = shape[0], spatial = shape.Skip(1).Aggregate(1, (a, b) => a * b), count = batch * spatial;
        var y = new double[x.Length];
        for (int c = 0; c < channels; c++)
        {
            IEnumerable<int> At() => Enumerable.Range(0, batch).SelectMany(n => Enumerable.Range((n * channels + c) * spatial, spatial));
            double mean, variance;
            if (_training || !bn.TrackRunningStats)
            {
                mean = At().Sum(i => x[i]) / count;
                variance = At().Sum(i => (x[i] - mean) * (x[i] - mean)) / count;
            }
            else
            {
                mean = bn.RunningMean!.Data[c];
                variance = bn.RunningVar!.Data[c];
            }
            double scale = 1 / Math.Sqrt(variance + bn.Eps);
            double w = bn.Weight is null ? 1 : Values[bn.Weight][c], b = bn.Bias is null ? 0 : Values[bn.Bias][c];
            foreach (int i in At()) y[i] = (x[i] - mean) * scale * w + b;
        }
        return y;
    }

    private double[] LayerNorm(LayerNorm ln, double[] x)
    {
        int size = ln.NormalizedShape.Aggregate(1, (a, b) => a * b);
        var y = new double[x.Length];
        for (int row = 0; row < x.Length / size; row++)
        {
            var values = x.Skip(row * size).Take(size).ToArray();
            double mean = values.Average(), variance = values.Average(v => (v - mean) * (v - mean));
            double scale = 1 / Math.Sqrt(variance + ln.Eps);
            for (int i = 0; i < size; i++)
            {
                double w = ln.Weight is null ? 1 : Values[ln.Weight][i], b = ln.Bias is null ? 0 : Values[ln.Bias][i];
                y[row * size + i] = (values[i] - mean) * scale * w + b;
            }
        }
        return y;
    }

    private static double[] Softmax(double[] x, int[] shape, int batch, int dim)
    {
        int d = (dim < 0 ? dim + shape.Length + 1 : dim) - 1;
        int outer = batch * shape.Take(d).Aggregate(1, (a, b) => a * b), size = shape[d];
        int inner = shape.Skip(d + 1).Aggregate(1, (a, b) => a * b);
        var y = new double[x.Length];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int At(int k) => (o * size + k) * inner + i;
                double max = Enumerable.Range(0, size).Max(k => x[At(k)]);
                double sum = Enumerable.Range(0, size).Sum(k => Math.Exp(x[At(k)] - max));
                for (int k = 0; k < size; k++) y[At(k)] = Math.Exp(x[At(k)] - max) / sum;
            }
        }
        return y;
    }
}
