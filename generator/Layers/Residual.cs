using System.Linq;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator.Layers;

/// <summary>
/// A [Residual]: block(x) + x, or block(x) + shortcut(x) with a shortcut network (ResNet's projection), held as the
/// children "block" and "shortcut" of a Residual module.
/// </summary>
internal sealed record ResidualModel : NestedModel
{
    public override LayerKind Kind => ResidualLayer.Instance;

    public override string InnerPrefix => "block.";

    public override bool AddsInput => true;

    public override string BlockExpression(string module) => $"((global::StaticNet.Residual){module}).Block";

    public override string ShortcutExpression(string module) => $"((global::StaticNet.Residual){module}).Shortcut";
}

/// <summary>
/// [Residual(typeof(Body))] (the block must map its input shape to itself) or [Residual(typeof(Body), Shortcut =
/// typeof(Projection))] (both take the input, and their outputs must have one shape).
/// </summary>
internal sealed class ResidualLayer : NestedKind<ResidualModel>
{
    public static readonly ResidualLayer Instance = new();

    public override string Name => "Residual";

    public override LayerArguments Read(AttributeArguments attribute) => new NestedArguments(attribute.Network(0), attribute.Network("Shortcut"));

    protected override ResidualModel? Infer(NestedArguments arguments, InferenceContext context)
    {
        EquatableArray<LayerModel>? inner = InferNetwork(arguments.Network, context);
        if (inner is not { } layers) return null;
        EquatableArray<int> output = layers[layers.Count - 1].OutputShape;
        if (arguments.Shortcut is not { } shortcutSpec)
        {
            if (!output.SequenceEqual(context.Input))
            {
                context.Error(DiagnosticDescriptors.ResidualShapeId, 0, context.Label, arguments.Network.ShortName, context.BatchedInput, Shapes.Batched(output));
                return null;
            }
            return new ResidualModel { TypeName = arguments.Network.TypeName, Inner = layers, OutputShape = output };
        }
        EquatableArray<LayerModel>? shortcut = InferNetwork(shortcutSpec, context, "Shortcut");
        if (shortcut is not { } shortcutLayers) return null;
        if (shortcutLayers[0] is NestedModel)
        {
            context.InvalidNamed("Shortcut", $"a shortcut network must start with a layer, not a [Block] or [Residual], but '{shortcutSpec.ShortName}' does");
            return null;
        }
        EquatableArray<int> shortcutOutput = shortcutLayers[shortcutLayers.Count - 1].OutputShape;
        if (!shortcutOutput.SequenceEqual(output))
        {
            context.NamedError(DiagnosticDescriptors.ShortcutShapeId, "Shortcut", context.Label, shortcutSpec.ShortName, arguments.Network.ShortName,
                context.BatchedInput, Shapes.Batched(shortcutOutput), Shapes.Batched(output));
            return null;
        }
        return new ResidualModel
        {
            TypeName = arguments.Network.TypeName, Inner = layers, OutputShape = output,
            ShortcutTypeName = shortcutSpec.TypeName, Shortcut = shortcutLayers,
        };
    }

    protected override string Construct(ResidualModel layer, ConstructContext context) => layer.ShortcutTypeName is null
        ? $"new global::StaticNet.Residual(new {layer.TypeName}({context.BlockArguments}))"
        : $"new global::StaticNet.Residual(new {layer.TypeName}({context.BlockArguments}), new {layer.ShortcutTypeName}({context.ShortcutArguments}))";

    protected override string Describe(ResidualModel layer) =>
        layer.ShortcutTypeName is null ? $"({layer.TypeName})" : $"({layer.TypeName}, shortcut={layer.ShortcutTypeName})";

    /// <summary>The sum that ends the block, forward: h = block output + skip (the input, or the shortcut's output).</summary>
    public static void EmitAddForward(StepContext c, string skip) => c.Kernel("ResidualForward", c.Output, c.Input, skip);

    /// <summary>
    /// Backward of the sum: the block's output gradient is the sum's, and so is the shortcut's; the gradient that flows
    /// around the block to its input is added once the block's first step has written its input gradient.
    /// </summary>
    public static void EmitAddBackward(StepContext c, string? shortcutOutputGrad)
    {
        c.Line($"{c.OutputGrad}.CopyTo({c.InputGrad});");
        if (shortcutOutputGrad is not null) c.Line($"{c.OutputGrad}.CopyTo({shortcutOutputGrad});");
    }

    /// <summary>The sum and the ReLU after it, forward (see Fusions.ResidualRelu): <paramref name="relu"/>'s output = max(block output + skip, 0).</summary>
    public static void EmitReluForward(StepContext sum, string skip, StepContext relu) => relu.Kernel("ResidualReluForward", relu.Output, sum.Input, skip);

    /// <summary>The same pair backward: the ReLU's input gradient written to the block's output gradient and to <paramref name="skipGrad"/>.</summary>
    public static void EmitReluBackward(StepContext sum, string skipGrad, StepContext relu) =>
        relu.Kernel("ResidualReluBackward", sum.InputGrad, skipGrad, relu.OutputGrad, relu.Output);

    /// <summary>The skip's share of the input gradient, after the block's first step.</summary>
    public static void EmitSkipBackward(IndentedWriter w, string inputGrad, string skipGrad) =>
        w.Line($"{Code.Kernels}.ResidualBackward({inputGrad}, {skipGrad});");
}
