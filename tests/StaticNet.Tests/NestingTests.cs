using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

/// <summary>[Block] and [Residual]: names as a nested nn.Sequential, one arena, the inner network usable only through the outer.</summary>
public class NestingTests
{
    [Fact]
    public void Nested_parameters_are_named_with_prefixes_and_share_one_arena()
    {
        var net = new Composite(2, 1);
        Assert.Equal(["0.0.weight", "0.0.bias", "2.block.0.weight", "2.block.0.bias", "2.block.3.weight", "2.block.3.bias", "3.weight", "3.bias"],
            net.NamedParameters().Select(p => p.Name));
        Assert.Equal(Composite.ParameterCount, net.ParameterArena.Length);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => net.Parameters().Take(i).Sum(p => p.Numel)), net.Parameters().Select(p => p.Offset));
        Assert.Equal(Encoder.ParameterCount + SquareBlock.ParameterCount + 5 * 2 + 2, Composite.ParameterCount);

        var deep = new DeepComposite(1);
        Assert.StartsWith("inner.0.0.weight", deep.NamedParameters().First().Name);
        Assert.Equal("1.block.0.bias", deep.NamedParameters().Last().Name);
    }

    [Fact]
    public void Blocks_two_deep_away_from_the_arena_start_get_their_own_parameters()
    {
        var net = new ShiftedComposite(1, 3);
        Parameter[] parameters = net.Parameters().ToArray();
        Assert.Equal(Enumerable.Range(0, parameters.Length).Select(i => parameters.Take(i).Sum(p => p.Numel)), parameters.Select(p => p.Offset));
        Assert.Equal(ShiftedComposite.ParameterCount, parameters.Sum(p => p.Numel));
        // Each parameter filled with its own index reads back whole: no two views overlap.
        for (int i = 0; i < parameters.Length; i++) parameters[i].Data.Fill(i);
        for (int i = 0; i < parameters.Length; i++) Assert.All(parameters[i].Data.ToArray(), v => Assert.Equal(i, v));
        for (int i = 0; i < parameters.Length; i++) Assert.All(net.ParameterArena.Slice(parameters[i].Offset, parameters[i].Numel).ToArray(), v => Assert.Equal(i, v));
    }

    [Fact]
    public void Nested_and_residual_networks_match_the_same_structure_in_pytorch()
    {
        // make_fixtures.py builds Composite in PyTorch: Sequential(Sequential(Linear, Tanh), ReLU, Residual(Sequential(...)), Linear).
        var order = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "composite_order.json"))).RootElement;
        var net = new Composite(4, 1);
        Assert.Equal(order.GetProperty("named_modules").EnumerateArray().Select(e => e.GetString()!), net.NamedModules().Select(m => m.Name));
        var names = net.NamedModules().ToDictionary(m => (object)m.Module, m => m.Name, ReferenceEqualityComparer.Instance);
        var applied = new List<string>();
        net.Apply(m => applied.Add(names[m]));
        Assert.Equal(order.GetProperty("apply").EnumerateArray().Select(e => e.GetString()!), applied);
        Assert.Equal(order.GetProperty("state_dict").EnumerateArray().Select(e => e.GetString()!), net.NamedParameters().Select(p => p.Name));

        var fixture = new Reference.Fixture("composite.safetensors");
        foreach ((string name, Parameter p) in net.NamedParameters()) fixture.Floats("param." + name).CopyTo(p.Data);
        net.Eval();
        var output = new float[8];
        net.Forward(fixture.Floats("input"), output);
        float[] expected = fixture.Floats("output");
        for (int i = 0; i < 8; i++) Assert.True(Math.Abs(output[i] - expected[i]) <= 1e-6 + 1e-5 * Math.Abs(expected[i]), $"output {i}: {output[i]} vs PyTorch {expected[i]}");
    }

    [Fact]
    public void Modules_and_apply_walk_into_blocks()
    {
        var net = new Composite(2, 1);
        Assert.Equal(["", "0", "0.0", "0.1", "1", "2", "2.block", "2.block.0", "2.block.1", "2.block.2", "2.block.3", "3"],
            net.NamedModules().Select(m => m.Name));
        Assert.IsType<Encoder>(net.Children().First());
        Assert.IsType<Residual>(net.Children().ElementAt(2));
        var linears = 0;
        net.Apply(m => { if (m is Linear l) { linears++; Init.Constant(l.Weight, 0.25f); } });
        Assert.Equal(4, linears);
        Assert.All(net.NamedParameters().Where(p => p.Name.EndsWith("weight", StringComparison.Ordinal)), p => Assert.All(p.Parameter.Data.ToArray(), v => Assert.Equal(0.25f, v)));
        net.Eval();
        Assert.All(net.Modules(), m => Assert.False(m.Training));
    }

    [Fact]
    public void An_embedded_block_runs_only_through_its_owner()
    {
        var net = new Composite(2, 1);
        var encoder = (Encoder)net.Children().First();
        Assert.Same(net, encoder.Owner);
        var e = Assert.Throws<InvalidOperationException>(() => encoder.Forward(new float[6], new float[5]));
        Assert.Equal("This Encoder is a block inside Composite, which runs its layers: call Composite's Forward and Backward.", e.Message);
        // Its parameters are views of the owner's arena.
        encoder.NamedParameters().First().Parameter.Data[0] = 42;
        Assert.Equal(42, net.ParameterArena[0]);
        Assert.Equal(Encoder.ParameterCount, encoder.ParameterArena.Length);
    }

    [Fact]
    public void Training_mode_dropout_inside_a_residual_block_draws_masks()
    {
        var net = new Composite(64, 3);
        float[] input = NetworkCases.RandomFloats(64 * 6, 2);
        var train = new float[128];
        var eval = new float[128];
        net.Forward(input, train);
        net.Eval();
        net.Forward(input, eval);
        Assert.NotEqual(eval, train);
        net.Train();
        var again = new float[128];
        net.Forward(input, again);
        Assert.NotEqual(train, again); // a fresh mask each call
    }
}
