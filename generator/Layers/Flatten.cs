using System.Linq;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator.Layers;

/// <summary>[Flatten(startDim = 1, endDim = -1)]: start_dim and end_dim as declared (negative ones count from the end).</summary>
internal sealed record FlattenArguments(int StartDim, int EndDim) : LayerArguments;

/// <summary>A Flatten layer: a view of its input with dimensions start_dim..end_dim merged.</summary>
/// <param name="StartDim">start_dim as declared, over the batched rank.</param>
/// <param name="EndDim">end_dim as declared.</param>
internal sealed record FlattenModel(int StartDim, int EndDim) : LayerModel
{
    public override LayerKind Kind => FlattenLayer.Instance;
}

/// <summary>torch.nn.Flatten: a view, no copy and no kernel.</summary>
internal sealed class FlattenLayer : LayerKind<FlattenArguments, FlattenModel>
{
    public static readonly FlattenLayer Instance = new();

    public override string Name => "Flatten";

    public override LayerArguments Read(AttributeArguments attribute) => new FlattenArguments(attribute.Int(0, 1), attribute.Int(1, -1));

    protected override FlattenModel? Infer(FlattenArguments arguments, InferenceContext context)
    {
        int start = context.Dim(0, "start_dim", arguments.StartDim), end = context.Dim(1, "end_dim", arguments.EndDim);
        if (start < 0 || end < 0) return null;
        if (start > end)
        {
            context.Error(DiagnosticDescriptors.FlattenOrderId, ShapeError.WholeAttribute,
                context.Label, InferenceContext.Text(arguments.StartDim), InferenceContext.Text(arguments.EndDim), context.BatchedInput);
            return null;
        }
        EquatableArray<int> input = context.Input;
        int merged = Shapes.Size(input.Skip(start - 1).Take(end - start + 1).ToList());
        return new FlattenModel(arguments.StartDim, arguments.EndDim)
        {
            OutputShape = input.Take(start - 1).Append(merged).Concat(input.Skip(end)).ToEquatableArray(),
        };
    }

    public override OutputBuffer Output(LayerModel layer) => OutputBuffer.View;

    protected override string Construct(FlattenModel layer, ConstructContext context) =>
        $"new global::StaticNet.Flatten({Code.Int(layer.StartDim)}, {Code.Int(layer.EndDim)})";

    protected override string Describe(FlattenModel layer) => $"(start_dim={Code.Int(layer.StartDim)}, end_dim={Code.Int(layer.EndDim)})";

    protected override void EmitForward(FlattenModel layer, StepContext context)
    {
    }

    protected override void EmitBackward(FlattenModel layer, StepContext context)
    {
    }
}
