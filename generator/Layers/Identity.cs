using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator.Layers;

/// <summary>An Identity layer: a view of its input.</summary>
internal sealed record IdentityModel : LayerModel
{
    public override LayerKind Kind => IdentityLayer.Instance;
}

/// <summary>torch.nn.Identity: its output is its input's buffer.</summary>
internal sealed class IdentityLayer : LayerKind<NoArguments, IdentityModel>
{
    public static readonly IdentityLayer Instance = new();

    public override string Name => "Identity";

    public override LayerArguments Read(AttributeArguments attribute) => NoArguments.Instance;

    protected override IdentityModel? Infer(NoArguments arguments, InferenceContext context) => new() { OutputShape = context.Input };

    public override OutputBuffer Output(LayerModel layer) => OutputBuffer.View;

    protected override string Construct(IdentityModel layer, ConstructContext context) => "new global::StaticNet.Identity()";

    protected override void EmitForward(IdentityModel layer, StepContext context)
    {
    }

    protected override void EmitBackward(IdentityModel layer, StepContext context)
    {
    }
}
