using System.Linq;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator.Layers;

/// <summary>[Softmax(dim = -1)].</summary>
internal sealed record SoftmaxArguments(int Dim) : LayerArguments;

/// <summary>A softmax over one dimension of the batched tensor.</summary>
/// <param name="Dim">dim as declared (negative counts from the end).</param>
/// <param name="Outer">Elements per sample before that dimension.</param>
/// <param name="Size">That dimension's size.</param>
/// <param name="Inner">Elements after it.</param>
internal sealed record SoftmaxModel(int Dim, int Outer, int Size, int Inner) : LayerModel
{
    public override LayerKind Kind => SoftmaxLayer.Instance;

    /// <summary>The kernel's (outer, dim, inner) arguments over the batched tensor.</summary>
    public string[] Sizes => [Code.PerBatch(Outer), Code.Int(Size), Code.Int(Inner)];
}

/// <summary>torch.nn.Softmax: exp(x - max) / sum over one dimension; backward from the saved output.</summary>
internal sealed class SoftmaxLayer : LayerKind<SoftmaxArguments, SoftmaxModel>
{
    public static readonly SoftmaxLayer Instance = new();

    public override string Name => "Softmax";

    public override LayerArguments Read(AttributeArguments attribute) => new SoftmaxArguments(attribute.Int(0, -1));

    protected override SoftmaxModel? Infer(SoftmaxArguments arguments, InferenceContext context)
    {
        int dim = context.Dim(0, "dim", arguments.Dim);
        if (dim < 0) return null;
        EquatableArray<int> input = context.Input;
        return new SoftmaxModel(arguments.Dim, Shapes.Size(input.Take(dim - 1).ToList()), input[dim - 1], Shapes.Size(input.Skip(dim).ToList()))
        {
            OutputShape = input,
        };
    }

    protected override string Construct(SoftmaxModel layer, ConstructContext context) => $"new global::StaticNet.Softmax({Code.Int(layer.Dim)})";

    protected override string Describe(SoftmaxModel layer) => $"(dim={Code.Int(layer.Dim)})";

    protected override void EmitForward(SoftmaxModel layer, StepContext c) => c.Kernel("SoftmaxForward", [c.Output, c.Input, .. layer.Sizes]);

    protected override void EmitBackward(SoftmaxModel layer, StepContext c) =>
        c.Kernel("SoftmaxBackward", [c.InputGrad, c.OutputGrad, c.Output, .. layer.Sizes]);
}
