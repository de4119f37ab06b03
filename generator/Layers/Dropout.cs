using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator.Layers;

/// <summary>[Dropout(p = 0.5)].</summary>
internal sealed record DropoutArguments(double P) : LayerArguments;

/// <summary>A dropout layer; it saves its mask (the factor per element) for backward.</summary>
/// <param name="P">The probability of zeroing an element.</param>
internal sealed record DropoutModel(double P) : LayerModel
{
    public override LayerKind Kind => DropoutLayer.Instance;
}

/// <summary>
/// torch.nn.Dropout: active only in training mode with p &gt; 0. Inactive it is the identity, and its output is its
/// input's buffer (chosen at run time by the flag forward sets), so nothing is copied either way.
/// </summary>
internal sealed class DropoutLayer : LayerKind<DropoutArguments, DropoutModel>
{
    public static readonly DropoutLayer Instance = new();

    private const string Applied = "Applied";

    public override string Name => "Dropout";

    public override LayerArguments Read(AttributeArguments attribute) => new DropoutArguments(attribute.Double(0, 0.5));

    protected override DropoutModel? Infer(DropoutArguments arguments, InferenceContext context)
    {
        if (!(arguments.P >= 0 && arguments.P <= 1))
        {
            context.Error(DiagnosticDescriptors.DropoutProbabilityId, 0, context.Label, InferenceContext.Text(arguments.P));
        }
        return new DropoutModel(arguments.P)
        {
            OutputShape = context.Input,
            Saved = new[] { new SavedSlot("mask", Shapes.Size(context.Input), 0) }.ToEquatableArray(),
        };
    }

    public override OutputBuffer Output(LayerModel layer) => OutputBuffer.OwnWhenFlagged;

    public override bool ReadsModule(LayerModel layer) => true;

    public override EquatableArray<string> Flags(LayerModel layer) => new[] { Applied }.ToEquatableArray();

    protected override string Construct(DropoutModel layer, ConstructContext context) => $"new global::StaticNet.Dropout({Code.Real(layer.P)})";

    protected override string Describe(DropoutModel layer) => $"(p={Code.Number(layer.P)})";

    public override void EmitForwardSetup(LayerModel layer, StepContext c) => c.Line($"{c.Flag(Applied)} = {c.Module}.Training && {c.Module}.P > 0;");

    protected override void EmitForward(DropoutModel layer, StepContext c) =>
        c.Line($"if ({c.Flag(Applied)}) {Code.Kernels}.DropoutForward({c.Output}, {c.Saved("mask")}, {c.Input}, {Code.Real(layer.P)}, Generator);");

    protected override void EmitBackward(DropoutModel layer, StepContext c) =>
        c.Line($"if ({c.Flag(Applied)}) {Code.Kernels}.DropoutBackward({c.InputGrad}, {c.OutputGrad}, {c.Saved("mask")});");
}
