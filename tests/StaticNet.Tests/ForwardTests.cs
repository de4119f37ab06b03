using System;
using System.Linq;
using StaticNet.Tests.Reference;
using Xunit;

namespace StaticNet.Tests;

public class ForwardTests
{
    [Theory]
    [MemberData(nameof(NetworkCases.Names), MemberType = typeof(NetworkCases))]
    public void Forward_matches_the_double_precision_reference(string name)
    {
        NetworkCases.Case c = NetworkCases.All[name];
        Network net = c.Create(8, 42);
        net.Eval();
        var reference = new ReferenceNetwork(net, c.InputShape);
        foreach (int batch in new[] { 1, 3, 8 })
        {
            float[] input = NetworkCases.RandomFloats(batch * net.SampleInputSize, seed: batch, scale: 2f);
            var output = new float[batch * net.SampleOutputSize];
            net.Forward(input, output);
            double[] expected = reference.Forward(input.Select(v => (double)v).ToArray(), batch);
            Assert.Equal(expected.Length, output.Length);
            for (int i = 0; i < output.Length; i++)
            {
                Assert.True(Math.Abs(output[i] - expected[i]) <= 1e-5 + 1e-5 * Math.Abs(expected[i]),
                    $"{name}, batch {batch}, output {i}: {output[i]} but the reference gives {expected[i]}");
            }
        }
    }

    [Fact]
    public void Output_rows_do_not_depend_on_the_other_rows_of_the_batch()
    {
        var net = new Networks.FashionMlp(5, 1);
        net.Eval();
        float[] batch = NetworkCases.RandomFloats(5 * 784, 3);
        var all = new float[50];
        net.Forward(batch, all);
        var single = new float[10];
        net.Forward(batch.AsSpan(2 * 784, 784), single);
        Assert.Equal(all.AsSpan(20, 10).ToArray(), single);
    }

    [Fact]
    public void Same_seed_gives_the_same_parameters_and_a_different_seed_different_ones()
    {
        float[] a = new Networks.FashionMlp(1, 7).ParameterArena.ToArray();
        float[] b = new Networks.FashionMlp(1, 7).ParameterArena.ToArray();
        float[] c = new Networks.FashionMlp(1, 8).ParameterArena.ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Default_initialisation_is_uniform_within_one_over_sqrt_in_features()
    {
        var net = new Networks.FashionMlp(1, 3);
        var first = (Linear)net.Children().ElementAt(1);
        float bound = 1f / MathF.Sqrt(784);
        float[] w = first.Weight.Data.ToArray();
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        // U(-a, a) has mean 0 and variance a^2 / 3; with 200704 samples both are pinned tightly.
        double mean = w.Average(v => (double)v), variance = w.Average(v => (double)v * v) - mean * mean;
        Assert.InRange(mean, -0.01 * bound, 0.01 * bound);
        Assert.InRange(variance, 0.98 * bound * bound / 3, 1.02 * bound * bound / 3);
        Assert.All(first.Bias!.Data.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.True(first.Bias!.Data.ToArray().Distinct().Count() > 250);
    }
}
