using System;
using System.Collections.Generic;
using System.Linq;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

/// <summary>The PyTorch-shaped surface of a generated network: names, module order, Apply, train/eval, parameters as views.</summary>
public class ModuleTests
{
    [Fact]
    public void Arenas_and_the_input_slot_start_on_64_byte_boundaries()
    {
        // The kernels stream weights and input rows with 64-byte loads; an arena off the boundary would split every one.
        static long Misalignment(ReadOnlySpan<float> span)
        {
            unsafe
            {
                fixed (float* start = span) return (long)start % 64;
            }
        }
        for (int round = 0; round < 3; round++)
        {
            var net = new FashionMlp(7 + round);
            Assert.Equal(0, Misalignment(net.ParameterArena));
            Assert.Equal(0, Misalignment(net.GradientArena));
            (float[] array, int start) = net.InputSlot!.Value;
            Assert.Equal(0, Misalignment(array.AsSpan(start)));
            // The first weight starts the arena, and its 784-float rows keep the boundary.
            Assert.Equal(0, Misalignment(net.Parameters().First().Data.Slice(784)));
        }
    }

    [Fact]
    public void Parameter_names_and_shapes_match_the_pytorch_state_dict()
    {
        var net = new FashionMlp(1);
        Assert.Equal(["1.weight", "1.bias", "head.weight", "head.bias"], net.NamedParameters().Select(p => p.Name));
        Assert.Equal([[256, 784], [256], [10, 256], [10]], net.Parameters().Select(p => p.Shape.ToArray()));
        Assert.Equal(FashionMlp.ParameterCount, net.Parameters().Sum(p => p.Numel));
        Assert.Equal(FashionMlp.ParameterCount, net.ParameterArena.Length);
        // One contiguous arena, in state_dict order.
        Assert.Equal([0, 200704, 200960, 203520], net.Parameters().Select(p => p.Offset));
    }

    [Fact]
    public void Compile_time_facts_describe_the_declaration()
    {
        Assert.Equal(784, FashionMlp.InputSize);
        Assert.Equal(10, FashionMlp.OutputSize);
        Assert.Equal([1, 28, 28], FashionMlp.InputShape.ToArray());
        Assert.Equal([10], FashionMlp.OutputShape.ToArray());
        Assert.Equal([2, 3, 4], Rank3Net.InputShape.ToArray());
        Assert.Equal([2, 8], Rank3Net.OutputShape.ToArray());
        Assert.Equal(2 * 8, Rank3Net.OutputSize);
        Assert.Equal(7 * 5 + 7 + 3 * 7, TanhSigmoidNet.ParameterCount); // the second Linear has no bias
    }

    [Fact]
    public void Modules_lists_the_network_first_then_its_layers_as_torch_modules_does()
    {
        var net = new FashionMlp(1);
        Assert.Equal(["", "0", "1", "2", "3", "head"], net.NamedModules().Select(m => m.Name));
        Assert.Equal([typeof(FashionMlp), typeof(Flatten), typeof(Linear), typeof(ReLU), typeof(Dropout), typeof(Linear)],
            net.Modules().Select(m => m.GetType()));
        Assert.Equal(5, net.Children().Count());
    }

    [Fact]
    public void Apply_visits_children_before_the_parent_as_torch_apply_does()
    {
        var net = new FashionMlp(1);
        var visited = new List<Type>();
        Assert.Same(net, net.Apply(m => visited.Add(m.GetType())));
        Assert.Equal([typeof(Flatten), typeof(Linear), typeof(ReLU), typeof(Dropout), typeof(Linear), typeof(FashionMlp)], visited);
    }

    [Fact]
    public void Apply_with_a_type_test_initialises_every_linear_layer()
    {
        var net = new FashionMlp(1);
        var generator = new RandomGenerator(5);
        net.Apply(m =>
        {
            if (m is Linear l)
            {
                Init.Normal(l.Weight, 0, 0.01f, generator);
                Init.Zeros(l.Bias!);
            }
        });
        float[] weights = net.NamedParameters().Where(p => p.Name.EndsWith("weight")).SelectMany(p => p.Parameter.Data.ToArray()).ToArray();
        double mean = weights.Average(v => (double)v);
        double std = Math.Sqrt(weights.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(mean, -2e-4, 2e-4);
        Assert.InRange(std, 0.0098, 0.0102);
        Assert.All(net.NamedParameters().Where(p => p.Name.EndsWith("bias")).SelectMany(p => p.Parameter.Data.ToArray()), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Parameters_are_views_of_the_arena_that_Forward_reads()
    {
        var net = new Outer.Nested(1);
        var linear = (Linear)net.Children().Single();
        linear.Weight.Data[0] = 2; linear.Weight.Data[1] = 0;
        linear.Weight.Data[2] = 0; linear.Weight.Data[3] = -1;
        linear.Bias!.Data[0] = 0.5f; linear.Bias!.Data[1] = 0;
        var output = new float[2];
        net.Forward([3, 4], output);
        Assert.Equal([6.5f, -4f], output);
        Assert.Equal(2f, net.ParameterArena[0]);
    }

    [Fact]
    public void Train_and_Eval_reach_every_layer()
    {
        var net = new FashionMlp(1);
        Assert.All(net.Modules(), m => Assert.True(m.Training));
        net.Eval();
        Assert.All(net.Modules(), m => Assert.False(m.Training));
        net.Train();
        Assert.All(net.Modules(), m => Assert.True(m.Training));
    }

    [Fact]
    public void ToString_reads_like_the_pytorch_repr()
    {
        Assert.Equal("""
            FashionMlp(
              (0): Flatten(start_dim=1, end_dim=-1)
              (1): Linear(in_features=784, out_features=256, bias=True)
              (2): ReLU()
              (3): Dropout(p=0.2, inplace=False)
              (head): Linear(in_features=256, out_features=10, bias=True)
            )
            """.ReplaceLineEndings("\n"), new FashionMlp(1).ToString());
        Assert.Equal("GELU(approximate='tanh')", new Rank3Net(1).Children().ElementAt(2).ToString());
        // PyTorch 1.13's print of the same Sequential (make_fixtures.py's "signal1d").
        Assert.Equal("""
            Signal1d(
              (0): Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=(1,))
              (1): BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
              (2): ReLU()
              (3): MaxPool1d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)
              (4): Conv1d(4, 6, kernel_size=(4,), stride=(1,), padding=same, groups=2, bias=False)
              (5): Tanh()
              (6): AvgPool1d(kernel_size=(2,), stride=(1,), padding=(1,))
              (7): Conv1d(6, 3, kernel_size=(2,), stride=(2,), dilation=(2,))
              (8): Flatten(start_dim=1, end_dim=-1)
              (9): Linear(in_features=9, out_features=3, bias=True)
            )
            """.ReplaceLineEndings("\n"), new Signal1d(1).ToString());
    }
}
