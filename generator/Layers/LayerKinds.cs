using System.Collections.Generic;
using System.Linq;

namespace StaticNet.Generator.Layers;

/// <summary>Every layer kind the generator knows, in the order the README's layer table lists them.</summary>
internal static class LayerKinds
{
    public static readonly IReadOnlyList<LayerKind> All =
    [
        FlattenLayer.Instance,
        LinearLayer.Instance,
        .. Activations.All,
        SoftmaxLayer.Instance,
        DropoutLayer.Instance,
        IdentityLayer.Instance,
        BatchNormLayer.OneD,
        BatchNormLayer.TwoD,
        LayerNormLayer.Instance,
        Conv2dLayer.Instance,
        Pool2dLayer.MaxPool,
        Pool2dLayer.AvgPool,
        Conv2dLayer.OneDimensional,
        Pool2dLayer.MaxPool1d,
        Pool2dLayer.AvgPool1d,
        AdaptivePool2dLayer.AvgPool1d,
        AdaptivePool2dLayer.MaxPool1d,
        AdaptivePool2dLayer.AvgPool,
        AdaptivePool2dLayer.MaxPool,
        BlockLayer.Instance,
        ResidualLayer.Instance,
    ];

    private static readonly Dictionary<string, LayerKind> ByAttribute = All.ToDictionary(k => k.AttributeName);

    /// <summary>The kind an attribute's metadata name declares, or null for any other attribute.</summary>
    public static LayerKind? ForAttribute(string attributeName) => ByAttribute.TryGetValue(attributeName, out LayerKind? kind) ? kind : null;
}
