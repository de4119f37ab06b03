using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Layers;

/// <summary>A [Block]: another network as a layer, as an nn.Sequential inside an nn.Sequential.</summary>
internal sealed record BlockModel : NestedModel
{
    public override LayerKind Kind => BlockLayer.Instance;

    public override string InnerPrefix => "";

    public override bool AddsInput => false;

    public override string BlockExpression(string module) => module;
}

/// <summary>[Block(typeof(Other))]: its module is the nested network itself, built over this network's arenas.</summary>
internal sealed class BlockLayer : NestedKind<BlockModel>
{
    public static readonly BlockLayer Instance = new();

    public override string Name => "Block";

    public override string ModuleType(LayerModel layer) => ((BlockModel)layer).TypeName;

    protected override BlockModel? Infer(NestedArguments arguments, InferenceContext context)
    {
        EquatableArray<LayerModel>? inner = InferNetwork(arguments.Network, context);
        if (inner is not { } layers) return null;
        return new BlockModel { TypeName = arguments.Network.TypeName, Inner = layers, OutputShape = layers[layers.Count - 1].OutputShape };
    }

    protected override string Construct(BlockModel layer, ConstructContext context) => $"new {layer.TypeName}({context.BlockArguments})";
}
