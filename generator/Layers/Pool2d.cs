using System.Globalization;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator.Layers;

/// <summary>[MaxPool2d(k)] / [AvgPool2d(k)] (or (kH, kW)) with their named arguments as written.</summary>
internal sealed record Pool2dArguments(int KernelH, int KernelW, int Stride, int Padding, int Dilation, bool CeilMode, bool CountIncludePad, int DivisorOverride) : LayerArguments;

/// <summary>A max or average pooling over [C, H, W] per sample, or (<paramref name="OneD"/>) over [C, L] run as height 1.</summary>
/// <param name="Max">Max pooling (else average).</param>
/// <param name="KernelH">The window's height.</param>
/// <param name="KernelW">The window's width.</param>
/// <param name="StrideH">The vertical stride (the window's height when not given).</param>
/// <param name="StrideW">The horizontal stride (the window's width when not given).</param>
/// <param name="Padding">Padding on every side.</param>
/// <param name="Dilation">Dilation (1 for average pooling).</param>
/// <param name="CeilMode">Whether the output size rounds up.</param>
/// <param name="CountIncludePad">Average pooling: whether padding counts in the divisor.</param>
/// <param name="DivisorOverride">Average pooling: a fixed divisor, or 0.</param>
/// <param name="OneD">MaxPool1d / AvgPool1d: window, stride and dilation 1 in height, padding and dilation along the length only.</param>
internal sealed record Pool2dModel(bool Max, int KernelH, int KernelW, int StrideH, int StrideW, int Padding, int Dilation, bool CeilMode,
    bool CountIncludePad, int DivisorOverride, bool OneD = false) : LayerModel
{
    public override LayerKind Kind => (Max, OneD) switch
    {
        (true, false) => Pool2dLayer.MaxPool,
        (false, false) => Pool2dLayer.AvgPool,
        (true, true) => Pool2dLayer.MaxPool1d,
        (false, true) => Pool2dLayer.AvgPool1d,
    };

    /// <summary>The kernels' <c>Pool2dGeometry</c> constructor call.</summary>
    public string Geometry => "new global::StaticNet.Pool2dGeometry(" + Code.Ints(OneD
        ? [InputShape[0], 1, InputShape[1], 1, OutputShape[1], 1, KernelW, 1, StrideW, 0, Padding, 1, Dilation]
        : [InputShape[0], InputShape[1], InputShape[2], OutputShape[1], OutputShape[2], KernelH, KernelW, StrideH, StrideW, Padding, Padding, Dilation, Dilation]) + ")";
}

/// <summary>
/// torch.nn.MaxPool2d and AvgPool2d. Max pooling saves each output's argmax for backward; average pooling follows
/// PyTorch's divisor rules (count_include_pad, divisor_override). Padding is at most half the (dilated) window.
/// MaxPool1d and AvgPool1d are the same layers over [C, L], run with height 1 (AvgPool1d has no divisor_override).
/// </summary>
internal sealed class Pool2dLayer : LayerKind<Pool2dArguments, Pool2dModel>
{
    public static readonly Pool2dLayer MaxPool = new(max: true, oneD: false);
    public static readonly Pool2dLayer AvgPool = new(max: false, oneD: false);
    public static readonly Pool2dLayer MaxPool1d = new(max: true, oneD: true);
    public static readonly Pool2dLayer AvgPool1d = new(max: false, oneD: true);

    private const string GeometryField = "Geometry";
    private readonly bool _max, _oneD;

    private Pool2dLayer(bool max, bool oneD) => (_max, _oneD) = (max, oneD);

    public override string Name => (_max ? "MaxPool" : "AvgPool") + (_oneD ? "1d" : "2d");

    public override LayerArguments Read(AttributeArguments a)
    {
        int[] kernel = a.Ints();
        if (_oneD) kernel = [1, kernel.Length > 0 ? kernel[0] : 0];
        return new Pool2dArguments(kernel.Length > 0 ? kernel[0] : 0, kernel.Length > 1 ? kernel[1] : kernel.Length > 0 ? kernel[0] : 0,
            a.Int("Stride", 0), a.Int("Padding", 0), a.Int("Dilation", 1), a.Bool("CeilMode", false), a.Bool("CountIncludePad", true), a.Int("DivisorOverride", 0));
    }

    protected override Pool2dModel? Infer(Pool2dArguments a, InferenceContext context)
    {
        EquatableArray<int> given = context.Input;
        if (given.Count != (_oneD ? 2 : 3))
        {
            context.WrongRank(_oneD ? "[C, L] per sample" : "[C, H, W] per sample");
            return null;
        }
        EquatableArray<int> input = _oneD ? new[] { given[0], 1, given[1] }.ToEquatableArray() : given;
        if (a.KernelH <= 0) context.NonPositive(0, "kernel_size", a.KernelH);
        if (a.KernelW <= 0 && a.KernelW != a.KernelH) context.NonPositive(_oneD ? 0 : 1, "kernel_size", a.KernelW);
        if (a.Stride < 0) context.NamedError(DiagnosticDescriptors.NonPositiveSizeId, "Stride", "stride", context.Label, Text(a.Stride));
        if (a.Dilation <= 0) context.NamedError(DiagnosticDescriptors.NonPositiveSizeId, "Dilation", "dilation", context.Label, Text(a.Dilation));
        if (a.Padding < 0) context.InvalidNamed("Padding", $"padding must not be negative, but it is {Text(a.Padding)}");
        if (a.DivisorOverride < 0) context.InvalidNamed("DivisorOverride", $"divisor_override must be positive (or 0 for none), but it is {Text(a.DivisorOverride)}");
        if (context.HasErrors) return null;
        int effectiveH = _oneD ? int.MaxValue : a.Dilation * (a.KernelH - 1) + 1, effectiveW = a.Dilation * (a.KernelW - 1) + 1;
        if (a.Padding > effectiveH / 2 || a.Padding > effectiveW / 2)
        {
            context.NamedError(DiagnosticDescriptors.PoolPaddingId, "Padding", context.Label, Text(a.Padding), Text(System.Math.Min(effectiveH, effectiveW) / 2));
            return null;
        }
        int sh = _oneD ? 1 : a.Stride == 0 ? a.KernelH : a.Stride, sw = a.Stride == 0 ? a.KernelW : a.Stride;
        int outH = _oneD ? 1 : Windows.Pooled(input[1], a.Padding, a.KernelH, a.Dilation, sh, a.CeilMode);
        int outW = Windows.Pooled(input[2], a.Padding, a.KernelW, a.Dilation, sw, a.CeilMode);
        if (outH < 1 || outW < 1)
        {
            string padded = Text(input[2] + 2 * a.Padding);
            context.Error(DiagnosticDescriptors.KernelTooLargeId, ShapeError.WholeAttribute, context.Label, "pooling",
                _oneD ? Text(effectiveW) : $"{Text(effectiveH)} x {Text(effectiveW)}", _oneD ? padded : $"{Text(input[1] + 2 * a.Padding)} x {padded}");
            return null;
        }
        var output = (_oneD ? new[] { input[0], outW } : new[] { input[0], outH, outW }).ToEquatableArray();
        return new Pool2dModel(_max, a.KernelH, a.KernelW, sh, sw, a.Padding, _max ? a.Dilation : 1, a.CeilMode, a.CountIncludePad, a.DivisorOverride, _oneD)
        {
            OutputShape = output,
            Saved = _max ? new[] { new SavedSlot("argmax", Shapes.Size(output), 0) }.ToEquatableArray() : EquatableArray<SavedSlot>.Empty,
        };
    }

    public override EquatableArray<StaticField> StaticFields(LayerModel layer) =>
        new[] { new StaticField(GeometryField, "global::StaticNet.Pool2dGeometry", ((Pool2dModel)layer).Geometry) }.ToEquatableArray();

    protected override string Construct(Pool2dModel layer, ConstructContext c) => _max
        ? $"new global::StaticNet.{Name}({layer.Geometry}, {Bool(layer.CeilMode)})"
        : _oneD
            ? $"new global::StaticNet.AvgPool1d({layer.Geometry}, {Bool(layer.CeilMode)}, {Bool(layer.CountIncludePad)})"
            : $"new global::StaticNet.AvgPool2d({layer.Geometry}, {Bool(layer.CeilMode)}, {Bool(layer.CountIncludePad)}, {Text(layer.DivisorOverride)})";

    protected override string Describe(Pool2dModel layer)
    {
        if (layer.OneD)
        {
            string line = _max
                ? $"(kernel_size={Text(layer.KernelW)}, stride={Text(layer.StrideW)}, padding={Text(layer.Padding)}, dilation={Text(layer.Dilation)}"
                : $"(kernel_size=({Text(layer.KernelW)},), stride=({Text(layer.StrideW)},), padding=({Text(layer.Padding)},)";
            if (layer.CeilMode) line += ", ceil_mode=True";
            if (!_max && !layer.CountIncludePad) line += ", count_include_pad=False";
            return line + ")";
        }
        string kernel = layer.KernelH == layer.KernelW ? Text(layer.KernelH) : $"({Text(layer.KernelH)}, {Text(layer.KernelW)})";
        string stride = layer.StrideH == layer.StrideW ? Text(layer.StrideH) : $"({Text(layer.StrideH)}, {Text(layer.StrideW)})";
        string text = $"(kernel_size={kernel}, stride={stride}, padding={Text(layer.Padding)}";
        if (_max && layer.Dilation != 1) text += ", dilation=" + Text(layer.Dilation);
        if (layer.CeilMode) text += ", ceil_mode=True";
        if (!_max && !layer.CountIncludePad) text += ", count_include_pad=False";
        if (!_max && layer.DivisorOverride > 0) text += ", divisor_override=" + Text(layer.DivisorOverride);
        return text + ")";
    }

    protected override void EmitForward(Pool2dModel layer, StepContext c)
    {
        if (_max) c.Kernel("MaxPool2dForward", c.Output, Indices(c), c.Input, "batch", c.Static(GeometryField));
        else c.Kernel("AvgPool2dForward", c.Output, c.Input, "batch", c.Static(GeometryField), Bool(layer.CountIncludePad), Text(layer.DivisorOverride));
    }

    protected override void EmitBackward(Pool2dModel layer, StepContext c)
    {
        if (_max) c.Kernel("MaxPool2dBackward", c.InputGrad, c.OutputGrad, Indices(c), "batch", c.Static(GeometryField));
        else c.Kernel("AvgPool2dBackward", c.InputGrad, c.OutputGrad, "batch", c.Static(GeometryField), Bool(layer.CountIncludePad), Text(layer.DivisorOverride));
    }

    /// <summary>Forward of a Sigmoid and this average pooling together (see Fusions.SigmoidThenAvgPool), from the sigmoid's input.</summary>
    internal static void EmitAverageOfSigmoid(Pool2dModel layer, StepContext c, string sigmoidInput) =>
        c.Kernel("SigmoidAvgPool2dForward", c.Output, sigmoidInput, "batch", c.Static(GeometryField), Bool(layer.CountIncludePad), Text(layer.DivisorOverride));

    /// <summary>Backward of the same pair: writes the sigmoid's input gradient.</summary>
    internal static void EmitAverageOfSigmoidBackward(Pool2dModel layer, StepContext c, string sigmoidInputGrad, string sigmoidInput) =>
        c.Kernel("AvgPool2dSigmoidBackward", sigmoidInputGrad, c.OutputGrad, sigmoidInput, "batch", c.Static(GeometryField), Bool(layer.CountIncludePad), Text(layer.DivisorOverride));

    /// <summary>An average pooling's geometry, count_include_pad and divisor_override, as a kernel's last arguments.</summary>
    internal static string[] AverageArguments(Pool2dModel layer, StepContext c) =>
        [c.Static(GeometryField), Bool(layer.CountIncludePad), Text(layer.DivisorOverride)];

    /// <summary>The saved argmax, ints kept in the float arena.</summary>
    internal static string Indices(StepContext c) => $"global::System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>({c.Saved("argmax")})";

    private static string Bool(bool value) => value ? "true" : "false";

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
