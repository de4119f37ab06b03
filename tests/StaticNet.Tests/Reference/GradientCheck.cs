using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace StaticNet.Tests.Reference;

/// <summary>
/// Analytic gradients from a network's Backward against central finite differences of the double-precision reference,
/// for every parameter and the input, with loss = sum(r * output) for a fixed random r. The network must be in eval mode,
/// or in training mode without active dropout (<paramref name="training"/>: BatchNorm then uses batch statistics).
/// </summary>
internal static class GradientCheck
{
    private const double Step = 1e-6;

    public static void Run(Network net, int[] inputShape, int batch, string label, bool training = false)
    {
        float[] input = NetworkCases.RandomFloats(batch * net.SampleInputSize, 5, 1.5f);
        float[] r = NetworkCases.RandomFloats(batch * net.SampleOutputSize, 6);
        var output = new float[r.Length];
        var inputGrad = new float[input.Length];
        net.Forward(input, output);
        net.ZeroGrad();
        net.Backward(r, inputGrad);

        var reference = new ReferenceNetwork(net, inputShape, training);
        double[] x = input.Select(v => (double)v).ToArray();
        double[] weights = r.Select(v => (double)v).ToArray();
        foreach ((string name, Parameter parameter) in net.NamedParameters())
        {
            double[] values = reference.Values[parameter];
            float[] grad = parameter.Grad.ToArray();
            foreach (int i in Sample(values.Length))
            {
                AssertClose(Difference(values, i, () => reference.Loss(x, batch, weights)), grad[i], $"{label}: d loss / d {name}[{i}]");
            }
        }
        foreach (int i in Sample(x.Length))
        {
            AssertClose(Difference(x, i, () => reference.Loss(x, batch, weights)), inputGrad[i], $"{label}: d loss / d input[{i}]");
        }
    }

    private static double Difference(double[] values, int i, Func<double> loss)
    {
        double saved = values[i];
        values[i] = saved + Step;
        double plus = loss();
        values[i] = saved - Step;
        double minus = loss();
        values[i] = saved;
        return (plus - minus) / (2 * Step);
    }

    /// <summary>Every index of a small tensor; a fixed spread of 60 indices of a large one, first and last included.</summary>
    private static IEnumerable<int> Sample(int length) =>
        length <= 60 ? Enumerable.Range(0, length) : Enumerable.Range(0, 60).Select(k => (int)((long)k * (length - 1) / 59)).Distinct();

    private static void AssertClose(double expected, float actual, string what) =>
        Assert.True(Math.Abs(actual - expected) <= 1e-4 + 1e-3 * Math.Abs(expected), $"{what}: backward gives {actual}, finite differences {expected}");
}
