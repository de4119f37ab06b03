using System.Linq;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Layers;

/// <summary>A [Residual]: x + block(x), the block held as the child "block" of a Residual module.</summary>
internal sealed record ResidualModel : NestedModel
{
    public override LayerKind Kind => ResidualLayer.Instance;

    public override string InnerPrefix => "block.";

    public override bool AddsInput => true;

    public override string BlockExpression(string module) => $"((global::StaticNet.Residual){module}).Block";
}

/// <summary>[Residual(typeof(Other))]: the block must map its input shape to itself.</summary>
internal sealed class ResidualLayer : NestedKind<ResidualModel>
{
    public static readonly ResidualLayer Instance = new();

    public override string Name => "Residual";

    protected override ResidualModel? Infer(NestedArguments arguments, InferenceContext context)
    {
        EquatableArray<LayerModel>? inner = InferNetwork(arguments.Network, context);
        if (inner is not { } layers) return null;
        EquatableArray<int> output = layers[layers.Count - 1].OutputShape;
        if (!output.SequenceEqual(context.Input))
        {
            context.Error(DiagnosticDescriptors.ResidualShapeId, 0, context.Label, arguments.Network.ShortName, context.BatchedInput, Shapes.Batched(output));
            return null;
        }
        return new ResidualModel { TypeName = arguments.Network.TypeName, Inner = layers, OutputShape = output };
    }

    protected override string Construct(ResidualModel layer, ConstructContext context) =>
        $"new global::StaticNet.Residual(new {layer.TypeName}({context.BlockArguments}))";

    /// <summary>The sum that ends the block, forward: h = block output + skip input.</summary>
    public static void EmitAddForward(StepContext c, string skip) => c.Kernel("ResidualForward", c.Output, c.Input, skip);

    /// <summary>Backward of the sum: the block's output gradient is the sum's (the skip's share is added once the block's first step has written its input gradient).</summary>
    public static void EmitAddBackward(StepContext c) => c.Line($"{c.OutputGrad}.CopyTo({c.InputGrad});");

    /// <summary>The skip's share of the input gradient, after the block's first step.</summary>
    public static void EmitSkipBackward(IndentedWriter w, string skipGrad, string sumGrad) =>
        w.Line($"{Code.Kernels}.ResidualBackward({skipGrad}, {sumGrad});");
}
