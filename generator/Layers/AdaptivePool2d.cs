using System.Globalization;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator.Layers;

/// <summary>[AdaptiveAvgPool2d(size)] or (outH, outW), and the same for AdaptiveMaxPool2d.</summary>
internal sealed record AdaptivePool2dArguments(int OutputH, int OutputW) : LayerArguments;

/// <summary>An adaptive pooling over [C, H, W] per sample to [C, OutputH, OutputW], or (<paramref name="OneD"/>) over [C, L] to [C, OutputW] as height 1.</summary>
/// <param name="Max">Max pooling (else average).</param>
/// <param name="OutputH">The output's height (1 for a 1-d pooling).</param>
/// <param name="OutputW">The output's width (its length, for a 1-d pooling).</param>
/// <param name="OneD">AdaptiveAvgPool1d / AdaptiveMaxPool1d.</param>
internal sealed record AdaptivePool2dModel(bool Max, int OutputH, int OutputW, bool OneD = false) : LayerModel
{
    public override LayerKind Kind => (Max, OneD) switch
    {
        (true, false) => AdaptivePool2dLayer.MaxPool,
        (false, false) => AdaptivePool2dLayer.AvgPool,
        (true, true) => AdaptivePool2dLayer.MaxPool1d,
        (false, true) => AdaptivePool2dLayer.AvgPool1d,
    };

    /// <summary>The kernels' size arguments: batch, channels, input plane, output plane.</summary>
    public string[] Sizes => OneD
        ? ["batch", Code.Int(InputShape[0]), "1", Code.Int(InputShape[1]), "1", Code.Int(OutputW)]
        : ["batch", Code.Int(InputShape[0]), Code.Int(InputShape[1]), Code.Int(InputShape[2]), Code.Int(OutputH), Code.Int(OutputW)];
}

/// <summary>
/// torch.nn.AdaptiveAvgPool2d and AdaptiveMaxPool2d: PyTorch's bins [floor(i In / Out), ceil((i + 1) In / Out)).
/// AdaptiveAvgPool1d and AdaptiveMaxPool1d are the same over [C, L], run with height 1.
/// </summary>
internal sealed class AdaptivePool2dLayer : LayerKind<AdaptivePool2dArguments, AdaptivePool2dModel>
{
    public static readonly AdaptivePool2dLayer AvgPool = new(max: false, oneD: false);
    public static readonly AdaptivePool2dLayer MaxPool = new(max: true, oneD: false);
    public static readonly AdaptivePool2dLayer AvgPool1d = new(max: false, oneD: true);
    public static readonly AdaptivePool2dLayer MaxPool1d = new(max: true, oneD: true);

    private readonly bool _max, _oneD;

    private AdaptivePool2dLayer(bool max, bool oneD) => (_max, _oneD) = (max, oneD);

    public override string Name => (_max ? "AdaptiveMaxPool" : "AdaptiveAvgPool") + (_oneD ? "1d" : "2d");

    public override LayerArguments Read(AttributeArguments a)
    {
        int[] size = a.Ints();
        if (_oneD) return new AdaptivePool2dArguments(1, size.Length > 0 ? size[0] : 0);
        return new AdaptivePool2dArguments(size.Length > 0 ? size[0] : 0, size.Length > 1 ? size[1] : size.Length > 0 ? size[0] : 0);
    }

    protected override AdaptivePool2dModel? Infer(AdaptivePool2dArguments a, InferenceContext context)
    {
        if (context.Input.Count != (_oneD ? 2 : 3))
        {
            context.WrongRank(_oneD ? "[C, L] per sample" : "[C, H, W] per sample");
            return null;
        }
        if (a.OutputH <= 0) context.NonPositive(0, "output_size", a.OutputH);
        else if (a.OutputW <= 0) context.NonPositive(_oneD ? 0 : 1, "output_size", a.OutputW);
        if (context.HasErrors) return null;
        var output = (_oneD ? new[] { context.Input[0], a.OutputW } : new[] { context.Input[0], a.OutputH, a.OutputW }).ToEquatableArray();
        return new AdaptivePool2dModel(_max, a.OutputH, a.OutputW, _oneD)
        {
            OutputShape = output,
            Saved = _max ? new[] { new SavedSlot("argmax", Shapes.Size(output), 0) }.ToEquatableArray() : EquatableArray<SavedSlot>.Empty,
        };
    }

    protected override string Construct(AdaptivePool2dModel layer, ConstructContext c) => _oneD
        ? $"new global::StaticNet.{Name}({Text(layer.OutputW)})"
        : $"new global::StaticNet.{Name}({Text(layer.OutputH)}, {Text(layer.OutputW)})";

    protected override string Describe(AdaptivePool2dModel layer) =>
        _oneD ? $"(output_size={Text(layer.OutputW)})" : $"(output_size=({Text(layer.OutputH)}, {Text(layer.OutputW)}))";

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
