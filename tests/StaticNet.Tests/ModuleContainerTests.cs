using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

/// <summary>[Module] classes and ModuleList, against the orders and names PyTorch gives the same structure (fixtures/module_order.json).</summary>
public class ModuleContainerTests
{
    private static readonly JsonElement Torch =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "module_order.json"))).RootElement;

    // PyTorch's nn.Sequential is a generated network here; every other type has the same name.
    private static string TorchType(Module m) => m switch
    {
        Network => "Sequential",
        Ensemble => "Ensemble",
        _ => m.ToString().Split('(')[0],
    };

    [Fact]
    public void Modules_are_listed_in_torch_named_modules_order()
    {
        var model = new Ensemble(2);
        string[][] expected = Torch.GetProperty("named_modules").EnumerateArray().Select(e => e.EnumerateArray().Select(x => x.GetString()!).ToArray()).ToArray();
        string[][] actual = model.NamedModules().Select(m => new[] { m.Name, TorchType(m.Module) }).ToArray();
        Assert.Equal(expected, actual);
        Assert.Equal(expected.Length, model.Modules().Count());
    }

    [Fact]
    public void Apply_visits_in_torch_apply_order()
    {
        var model = new Ensemble(2);
        var names = model.NamedModules().ToDictionary(m => (object)m.Module, m => m.Name, System.Collections.Generic.ReferenceEqualityComparer.Instance);
        var applied = new System.Collections.Generic.List<string>();
        model.Apply(m => applied.Add(names[m]));
        Assert.Equal(Torch.GetProperty("apply").EnumerateArray().Select(e => e.GetString()!), applied);
    }

    [Fact]
    public void State_dict_names_match_pytorch_and_reach_every_member()
    {
        var model = new Ensemble(2);
        Assert.Equal(Torch.GetProperty("state_dict").EnumerateArray().Select(e => e.GetString()!), model.NamedParameters().Select(p => p.Name));

        model.Eval();
        Assert.All(model.Modules(), m => Assert.False(m.Training));
        model.Apply(m => { if (m is Linear l) Init.Constant(l.Weight, 0.5f); });
        foreach (Parameter p in model.Parameters()) p.Grad.Fill(1f);
        model.ZeroGrad();
        Assert.All(model.Parameters(), p => Assert.All(p.Grad.ToArray(), g => Assert.Equal(0f, g)));
        Assert.All(model.NamedParameters().Where(p => p.Name.EndsWith("weight", StringComparison.Ordinal)), p => Assert.All(p.Parameter.Data.ToArray(), v => Assert.Equal(0.5f, v)));
        Assert.Equal(7, model.Parameters().Count() + 1); // body.1 (2), heads.0.0 (2), heads.1.0 (2)
    }

    [Fact]
    public void The_class_writes_its_own_forward_over_its_members()
    {
        var model = new Ensemble(2);
        model.Eval();
        float[] input = NetworkCases.RandomFloats(2 * 16, 4);
        var a = new float[6];
        var b = new float[8];
        model.Forward(input, a, b);
        var features = new float[16];
        model.Children().OfType<EnsembleBody>().Single().Forward(input, features);
        var expected = new float[6];
        model.Heads[0].Forward(features, expected);
        Assert.Equal(expected, a);
        Assert.All(b, v => Assert.InRange(v, -1f, 1f)); // HeadB ends in Tanh
    }

    [Fact]
    public void ModuleList_prints_and_indexes_like_torch()
    {
        var list = new ModuleList<Network>([new HeadA(1), new HeadB(1)]);
        Assert.Equal(2, list.Count);
        Assert.IsType<HeadB>(list[1]);
        Assert.StartsWith("ModuleList(\n  (0): HeadA(\n    (0): Linear(in_features=8, out_features=3, bias=True)\n  )", list.ToString());
        Assert.Equal(["0.0.weight", "0.0.bias", "1.0.weight", "1.0.bias"], list.NamedParameters().Select(p => p.Name));
    }
}
