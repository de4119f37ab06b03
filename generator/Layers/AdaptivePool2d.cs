using System.Globalization;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator.Layers;

/// <summary>[AdaptiveAvgPool2d(size)] or (outH, outW), and the same for AdaptiveMaxPool2d.</summary>
internal sealed record AdaptivePool2dArguments(int OutputH, int OutputW) : LayerArguments;

/// <summary>An adaptive pooling over [C, H, W] per sample to [C, OutputH, OutputW].</summary>
/// <param name="Max">Max pooling (else average).</param>
/// <param name="OutputH">The output's height.</param>
/// <param name="OutputW">The output's width.</param>
internal sealed record AdaptivePool2dModel(bool Max, int OutputH, int OutputW) : LayerModel
{
    public override LayerKind Kind => Max ? AdaptivePool2dLayer.MaxPool : AdaptivePool2dLayer.AvgPool;

    /// <summary>The kernels' size arguments: batch, channels, input plane, output plane.</summary>
    public string[] Sizes => ["batch", Code.Int(InputShape[0]), Code.Int(InputShape[1]), Code.Int(InputShape[2]), Code.Int(OutputH), Code.Int(OutputW)];
}

/// <summary>torch.nn.AdaptiveAvgPool2d and AdaptiveMaxPool2d: PyTorch's bins [floor(i In / Out), ceil((i + 1) In / Out)).</summary>
internal sealed class AdaptivePool2dLayer : LayerKind<AdaptivePool2dArguments, AdaptivePool2dModel>
{
    public static readonly AdaptivePool2dLayer AvgPool = new(max: false);
    public static readonly AdaptivePool2dLayer MaxPool = new(max: true);

    private readonly bool _max;

    private AdaptivePool2dLayer(bool max) => _max = max;

    public override string Name => _max ? "AdaptiveMaxPool2d" : "AdaptiveAvgPool2d";

    public override LayerArguments Read(AttributeArguments a)
    {
        int[] size = a.Ints();
        return new AdaptivePool2dArguments(size.Length > 0 ? size[0] : 0, size.Length > 1 ? size[1] : size.Length > 0 ? size[0] : 0);
    }

    protected override AdaptivePool2dModel? Infer(AdaptivePool2dArguments a, InferenceContext context)
    {
        if (context.Input.Count != 3)
        {
            context.WrongRank("[C, H, W] per sample");
            return null;
        }
        if (a.OutputH <= 0) context.NonPositive(0, "output_size", a.OutputH);
        else if (a.OutputW <= 0) context.NonPositive(1, "output_size", a.OutputW);
        if (context.HasErrors) return null;
        var output = new[] { context.Input[0], a.OutputH, a.OutputW }.ToEquatableArray();
        return new AdaptivePool2dModel(_max, a.OutputH, a.OutputW)
        {
            OutputShape = output,
            Saved = _max ? new[] { new SavedSlot("argmax", Shapes.Size(output), 0) }.ToEquatableArray() : EquatableArray<SavedSlot>.Empty,
        };
    }

    protected override string Construct(AdaptivePool2dModel layer, ConstructContext c) => $"new global::StaticNet.{Name}({Text(layer.OutputH)}, {Text(layer.OutputW)})";

    protected override string Describe(AdaptivePool2dModel layer) => $"(output_size=({Text(layer.OutputH)}, {Text(layer.OutputW)}))";

    protected override void EmitForward(AdaptivePool2dModel layer, StepContext c)
    {
        if (_max) c.Kernel("AdaptiveMaxPool2dForward", [c.Output, Pool2dLayer.Indices(c), c.Input, .. layer.Sizes]);
        else c.Kernel("AdaptiveAvgPool2dForward", [c.Output, c.Input, .. layer.Sizes]);
    }

    protected override void EmitBackward(AdaptivePool2dModel layer, StepContext c)
    {
        if (_max) c.Kernel("AdaptiveMaxPool2dBackward", [c.InputGrad, c.OutputGrad, Pool2dLayer.Indices(c), .. layer.Sizes]);
        else c.Kernel("AdaptiveAvgPool2dBackward", [c.InputGrad, c.OutputGrad, .. layer.Sizes]);
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
