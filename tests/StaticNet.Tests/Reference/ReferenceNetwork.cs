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
                double[] y = ApplyAll(residual.Block.Children(), x, shape, batch).Output;
                return (y.Select((v, i) => v + x[i]).ToArray(), shape);
            }
            default:
                throw new NotSupportedException(layer.GetType().Name);
        }
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
