using System.Collections.Generic;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Parsing;

/// <summary>Metadata names of the runtime's attributes, and which layer kind each layer attribute declares.</summary>
internal static class AttributeNames
{
    public const string Network = "StaticNet.NetworkAttribute";
    public const string NetworkBase = "StaticNet.Network";
    public const string Module = "StaticNet.ModuleAttribute";
    public const string ModuleBase = "StaticNet.Module";

    public static readonly IReadOnlyDictionary<string, LayerKind> Layers = new Dictionary<string, LayerKind>
    {
        ["StaticNet.FlattenAttribute"] = LayerKind.Flatten,
        ["StaticNet.LinearAttribute"] = LayerKind.Linear,
        ["StaticNet.ReLUAttribute"] = LayerKind.ReLU,
        ["StaticNet.LeakyReLUAttribute"] = LayerKind.LeakyReLU,
        ["StaticNet.SigmoidAttribute"] = LayerKind.Sigmoid,
        ["StaticNet.TanhAttribute"] = LayerKind.Tanh,
        ["StaticNet.GELUAttribute"] = LayerKind.GELU,
        ["StaticNet.SoftmaxAttribute"] = LayerKind.Softmax,
        ["StaticNet.DropoutAttribute"] = LayerKind.Dropout,
        ["StaticNet.IdentityAttribute"] = LayerKind.Identity,
        ["StaticNet.BlockAttribute"] = LayerKind.Block,
        ["StaticNet.ResidualAttribute"] = LayerKind.Residual,
    };
}
