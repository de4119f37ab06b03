using System;
using System.Collections.Generic;
using System.Linq;
using StaticNet.Tests.Reference;
using Xunit;

namespace StaticNet.Tests;

/// <summary>
/// Analytic gradients from the generated Backward against central finite differences of the double-precision
/// reference, for every parameter and the input, with loss = sum(r * output) for a fixed random r.
/// </summary>
public class GradientTests
{
    private const double Step = 1e-6;

    [Theory]
    [MemberData(nameof(NetworkCases.Names), MemberType = typeof(NetworkCases))]
    public void Backward_matches_finite_differences(string name)
    {
        NetworkCases.Case c = NetworkCases.All[name];
        const int batch = 3;
        Network net = c.Create(batch, 11);
        net.Eval();
        float[] input = NetworkCases.RandomFloats(batch * net.SampleInputSize, 5, 1.5f);
        float[] r = NetworkCases.RandomFloats(batch * net.SampleOutputSize, 6);
        var output = new float[r.Length];
        var inputGrad = new float[input.Length];
        net.Forward(input, output);
        net.ZeroGrad();
        net.Backward(r, inputGrad);

        var reference = new ReferenceNetwork(net, c.InputShape);
        double[] x = input.Select(v => (double)v).ToArray();
        double[] weights = r.Select(v => (double)v).ToArray();
        foreach ((string parameterName, Parameter parameter) in net.NamedParameters())
        {
            double[] values = reference.Values[parameter];
            float[] grad = parameter.Grad.ToArray();
            foreach (int i in Sample(values.Length))
            {
                double saved = values[i];
                values[i] = saved + Step;
                double plus = reference.Loss(x, batch, weights);
                values[i] = saved - Step;
                double minus = reference.Loss(x, batch, weights);
                values[i] = saved;
                AssertClose((plus - minus) / (2 * Step), grad[i], $"{name}: d loss / d {parameterName}[{i}]");
            }
        }
        foreach (int i in Sample(x.Length))
        {
            double saved = x[i];
            x[i] = saved + Step;
            double plus = reference.Loss(x, batch, weights);
            x[i] = saved - Step;
            double minus = reference.Loss(x, batch, weights);
            x[i] = saved;
            AssertClose((plus - minus) / (2 * Step), inputGrad[i], $"{name}: d loss / d input[{i}]");
        }
    }

    [Fact]
    public void Backward_accumulates_until_ZeroGrad()
    {
        var net = new Networks.TanhSigmoidNet(2, 1);
        float[] input = NetworkCases.RandomFloats(10, 1);
        var output = new float[6];
        float[] r = NetworkCases.RandomFloats(6, 2);
        net.Forward(input, output);
        net.ZeroGrad();
        net.Backward(r);
        float[] once = net.GradientArena.ToArray();
        Assert.Contains(once, g => g != 0);
        net.Backward(r);
        float[] twice = net.GradientArena.ToArray();
        for (int i = 0; i < once.Length; i++) Assert.Equal(2 * once[i], twice[i], 1e-6f);
        net.ZeroGrad();
        Assert.All(net.GradientArena.ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void Backward_without_input_gradient_gives_the_same_parameter_gradients()
    {
        var net = new Networks.ActivationFirst(4, 3);
        float[] input = NetworkCases.RandomFloats(16, 4);
        var output = new float[12];
        float[] r = NetworkCases.RandomFloats(12, 5);
        net.Forward(input, output);
        net.ZeroGrad();
        net.Backward(r, new float[16]);
        float[] withInput = net.GradientArena.ToArray();
        net.ZeroGrad();
        net.Backward(r);
        Assert.Equal(withInput, net.GradientArena.ToArray());
    }

    /// <summary>Every index of a small tensor; a fixed spread of 60 indices of a large one, first and last included.</summary>
    private static IEnumerable<int> Sample(int length) =>
        length <= 60 ? Enumerable.Range(0, length) : Enumerable.Range(0, 60).Select(k => (int)((long)k * (length - 1) / 59)).Distinct();

    private static void AssertClose(double expected, float actual, string what) =>
        Assert.True(Math.Abs(actual - expected) <= 1e-4 + 1e-3 * Math.Abs(expected), $"{what}: backward gives {actual}, finite differences {expected}");
}
