using System.Globalization;
using System.Linq;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator.Layers;

/// <summary>[Conv2d(out)] or [Conv2d(in, out)] with its named arguments, as written (0 where a per-axis one is not given).</summary>
/// <param name="Padding">The Padding argument: an int, "same", "valid", or something invalid (kept for the message).</param>
internal sealed record Conv2dArguments(
    int? InChannels, int OutChannels, int KernelSize, int KernelH, int KernelW, int Stride, int? StrideH, int? StrideW,
    object? Padding, int? PaddingH, int? PaddingW, int Dilation, int? DilationH, int? DilationW, int Groups, bool Bias) : LayerArguments;

/// <summary>A 2-D convolution over [C, H, W] per sample, or (<paramref name="OneD"/>) a 1-D one over [C, L] run as height 1.</summary>
/// <param name="InChannels">in_channels: the channels that arrive.</param>
/// <param name="OutChannels">out_channels.</param>
/// <param name="KernelH">The kernel's height.</param>
/// <param name="KernelW">The kernel's width.</param>
/// <param name="StrideH">The vertical stride.</param>
/// <param name="StrideW">The horizontal stride.</param>
/// <param name="PadTop">Zero rows before the first (after the last: whatever the output size leaves, as PyTorch's "same").</param>
/// <param name="PadLeft">Zero columns before the first.</param>
/// <param name="DilationH">The vertical dilation.</param>
/// <param name="DilationW">The horizontal dilation.</param>
/// <param name="Groups">groups.</param>
/// <param name="Bias">Whether it has a bias.</param>
/// <param name="Padding">The padding as PyTorch's repr shows it: <c>(2, 2)</c>, <c>(2,)</c> or <c>same</c>.</param>
/// <param name="OneD">A Conv1d: height, kernel height, strides and dilation in height 1, no padding in height.</param>
internal sealed record Conv2dModel(
    int InChannels, int OutChannels, int KernelH, int KernelW, int StrideH, int StrideW, int PadTop, int PadLeft,
    int DilationH, int DilationW, int Groups, bool Bias, string Padding, bool OneD = false) : LayerModel
{
    public override LayerKind Kind => OneD ? Conv2dLayer.OneDimensional : Conv2dLayer.Instance;

    /// <summary>The kernels' <c>Conv2dGeometry</c> constructor call.</summary>
    public string Geometry => "new global::StaticNet.Conv2dGeometry(" + Code.Ints([InChannels, .. Plane(InputShape), OutChannels, .. Plane(OutputShape),
        KernelH, KernelW, StrideH, StrideW, PadTop, PadLeft, DilationH, DilationW, Groups]) + ")";

    /// <summary>Height and width of a per-sample shape: [C, H, W], or [C, L] as height 1.</summary>
    private int[] Plane(EquatableArray<int> shape) => OneD ? [1, shape[1]] : [shape[1], shape[2]];
}

/// <summary>
/// torch.nn.Conv2d with zero padding: per sample, the weight times the patch matrix (Kernels.Conv2dForward / Backward on
/// the packed GEMM). Output size floor((H + padding - dilation (k - 1) - 1) / stride + 1); "same" pads d (k - 1) in all,
/// the smaller half before, as PyTorch does. torch.nn.Conv1d is the same layer over [C, L], run as a Conv2d of height 1
/// (the kernels see a plane of one row); only its shapes, weight [out, in / groups, k] and names differ.
/// </summary>
internal sealed class Conv2dLayer : LayerKind<Conv2dArguments, Conv2dModel>
{
    public static readonly Conv2dLayer Instance = new(oneD: false);
    public static readonly Conv2dLayer OneDimensional = new(oneD: true);

    private const string GeometryField = "Geometry";
    private readonly bool _oneD;

    private Conv2dLayer(bool oneD) => _oneD = oneD;

    public override string Name => _oneD ? "Conv1d" : "Conv2d";

    public override LayerArguments Read(AttributeArguments a)
    {
        int[] channels = a.Ints();
        int? Optional(string name) => a.Has(name) ? a.Int(name, 0) : null;
        return new Conv2dArguments(channels.Length == 2 ? channels[0] : null, channels[channels.Length - 1],
            a.Int("KernelSize", 0), a.Int("KernelH", 0), a.Int("KernelW", 0),
            a.Int("Stride", 1), Optional("StrideH"), Optional("StrideW"),
            a.Has("Padding") ? a.Named("Padding") : 0, Optional("PaddingH"), Optional("PaddingW"),
            a.Int("Dilation", 1), Optional("DilationH"), Optional("DilationW"),
            a.Int("Groups", 1), a.Bool("Bias", true));
    }

    protected override Conv2dModel? Infer(Conv2dArguments arguments, InferenceContext context)
    {
        EquatableArray<int> given = context.Input;
        if (given.Count != (_oneD ? 2 : 3))
        {
            context.WrongRank(_oneD ? "[C, L] per sample" : "[C, H, W] per sample");
            return null;
        }
        EquatableArray<int> input = _oneD ? new[] { given[0], 1, given[1] }.ToEquatableArray() : given;
        int inChannels = input[0], outPosition = arguments.InChannels is null ? 0 : 1;
        if (arguments.InChannels is int stated)
        {
            if (stated <= 0) context.NonPositive(0, "in_channels", stated);
            else if (stated != inChannels)
            {
                context.Error(DiagnosticDescriptors.InChannelsId, 0, context.Label, Text(stated), context.BatchedInput, Text(inChannels));
            }
        }
        if (arguments.OutChannels <= 0) context.NonPositive(outPosition, "out_channels", arguments.OutChannels);
        if (_oneD) arguments = arguments with { KernelH = 1, StrideH = 1, DilationH = 1 };
        int kh = arguments.KernelH > 0 ? arguments.KernelH : arguments.KernelSize, kw = arguments.KernelW > 0 ? arguments.KernelW : arguments.KernelSize;
        int sh = arguments.StrideH ?? arguments.Stride, sw = arguments.StrideW ?? arguments.Stride;
        int dh = arguments.DilationH ?? arguments.Dilation, dw = arguments.DilationW ?? arguments.Dilation;
        var reported = new System.Collections.Generic.HashSet<string>();
        void Positive(int value, string argument, string what)
        {
            if (value <= 0 && reported.Add(argument)) context.NamedError(DiagnosticDescriptors.NonPositiveSizeId, argument, what, context.Label, Text(value));
        }
        Positive(kh, arguments.KernelH > 0 ? "KernelH" : "KernelSize", "kernel_size");
        Positive(kw, arguments.KernelW > 0 ? "KernelW" : "KernelSize", "kernel_size");
        Positive(sh, arguments.StrideH is null ? "Stride" : "StrideH", "stride");
        Positive(sw, arguments.StrideW is null ? "Stride" : "StrideW", "stride");
        Positive(dh, arguments.DilationH is null ? "Dilation" : "DilationH", "dilation");
        Positive(dw, arguments.DilationW is null ? "Dilation" : "DilationW", "dilation");
        if (arguments.Groups <= 0) Positive(arguments.Groups, "Groups", "groups");
        else if (inChannels % arguments.Groups != 0 || (arguments.OutChannels > 0 && arguments.OutChannels % arguments.Groups != 0))
        {
            context.NamedError(DiagnosticDescriptors.GroupsId, "Groups", context.Label, Text(arguments.Groups), Text(inChannels), Text(arguments.OutChannels));
        }
        if (context.HasErrors) return null;

        (int top, int bottom, int left, int right, string padding)? pads = Padding(arguments, kh, kw, sh, sw, dh, dw, context);
        if (pads is not { } p) return null;
        int outH = Windows.Output(input[1], p.top + p.bottom, kh, dh, sh), outW = Windows.Output(input[2], p.left + p.right, kw, dw, sw);
        if (outH < 1 || outW < 1)
        {
            string window = Text(dw * (kw - 1) + 1), padded = Text(input[2] + p.left + p.right);
            context.Error(DiagnosticDescriptors.KernelTooLargeId, ShapeError.WholeAttribute, context.Label, "kernel",
                _oneD ? window : $"{Text(dh * (kh - 1) + 1)} x {window}", _oneD ? padded : $"{Text(input[1] + p.top + p.bottom)} x {padded}");
            return null;
        }
        int patch = inChannels / arguments.Groups * kh * kw;
        if (!context.Fits((long)arguments.OutChannels * patch) || !context.Fits((long)arguments.OutChannels * outH * outW)) return null;
        int[] weight = _oneD ? [arguments.OutChannels, inChannels / arguments.Groups, kw] : [arguments.OutChannels, inChannels / arguments.Groups, kh, kw];
        var parameters = new[] { new TensorSlot("weight", weight.ToEquatableArray()) }.ToList();
        if (arguments.Bias) parameters.Add(new TensorSlot("bias", new[] { arguments.OutChannels }.ToEquatableArray()));
        string padding = _oneD && p.padding.StartsWith("(", System.StringComparison.Ordinal) ? $"({Text(p.left)},)" : p.padding;
        return new Conv2dModel(inChannels, arguments.OutChannels, kh, kw, sh, sw, p.top, p.left, dh, dw, arguments.Groups, arguments.Bias, padding, _oneD)
        {
            OutputShape = (_oneD ? new[] { arguments.OutChannels, outW } : new[] { arguments.OutChannels, outH, outW }).ToEquatableArray(),
            Parameters = parameters.ToEquatableArray(),
        };
    }

    /// <summary>The padding on each side, and as PyTorch's repr shows it; reports and returns null when it is invalid.</summary>
    private (int, int, int, int, string)? Padding(Conv2dArguments a, int kh, int kw, int sh, int sw, int dh, int dw, InferenceContext context)
    {
        if (a.Padding is string text && a.PaddingH is null && a.PaddingW is null)
        {
            if (text == "valid") return (0, 0, 0, 0, "valid");
            if (text != "same")
            {
                context.InvalidNamed("Padding", $"padding must be a number, \"same\" or \"valid\", but it is \"{text}\"");
                return null;
            }
            if (sh != 1 || sw != 1)
            {
                context.NamedError(DiagnosticDescriptors.SamePaddingStrideId, "Padding", context.Label, sh == sw || _oneD ? Text(sw) : $"({Text(sh)}, {Text(sw)})");
                return null;
            }
            int totalH = dh * (kh - 1), totalW = dw * (kw - 1);
            return (totalH / 2, totalH - totalH / 2, totalW / 2, totalW - totalW / 2, "same");
        }
        int symmetric = a.Padding is int value ? value : 0;
        if (a.Padding is not (int or string) && a.PaddingH is null && a.PaddingW is null)
        {
            context.InvalidNamed("Padding", $"padding must be a number, \"same\" or \"valid\", but it is {a.Padding ?? "null"}");
            return null;
        }
        int ph = _oneD ? 0 : a.PaddingH ?? symmetric, pw = a.PaddingW ?? symmetric;
        if (ph < 0 || pw < 0)
        {
            context.InvalidNamed(a.PaddingH is not null && ph < 0 ? "PaddingH" : a.PaddingW is not null && pw < 0 ? "PaddingW" : "Padding",
                $"padding must not be negative, but it is {Text(ph < 0 ? ph : pw)}");
            return null;
        }
        return (ph, ph, pw, pw, $"({Text(ph)}, {Text(pw)})");
    }

    public override EquatableArray<StaticField> StaticFields(LayerModel layer) =>
        new[] { new StaticField(GeometryField, "global::StaticNet.Conv2dGeometry", ((Conv2dModel)layer).Geometry) }.ToEquatableArray();

    protected override string Construct(Conv2dModel layer, ConstructContext c) =>
        $"new global::StaticNet.{Name}({layer.Geometry}, \"{layer.Padding}\", {c.Parameter("weight")}, {c.Parameter("bias")})";

    public override long MultiplyAdds(LayerModel layer)
    {
        var conv = (Conv2dModel)layer;
        return (long)Shapes.Size(conv.OutputShape) * (conv.InChannels / conv.Groups) * conv.KernelH * conv.KernelW;
    }

    protected override string Describe(Conv2dModel layer)
    {
        if (layer.OneD)
        {
            string line = $"({Text(layer.InChannels)}, {Text(layer.OutChannels)}, kernel_size=({Text(layer.KernelW)},)";
            if (layer.StrideW != 1) line += $", stride=({Text(layer.StrideW)},)";
            if (layer.Padding != "(0,)") line += ", padding=" + layer.Padding;
            if (layer.DilationW != 1) line += $", dilation=({Text(layer.DilationW)},)";
            if (layer.Groups != 1) line += ", groups=" + Text(layer.Groups);
            return line + (layer.Bias ? ")" : ", bias=False)");
        }
        string text = $"({Text(layer.InChannels)}, {Text(layer.OutChannels)}, kernel_size=({Text(layer.KernelH)}, {Text(layer.KernelW)})";
        if (layer.StrideH != 1 || layer.StrideW != 1) text += $", stride=({Text(layer.StrideH)}, {Text(layer.StrideW)})";
        if (layer.Padding != "(0, 0)") text += ", padding=" + layer.Padding;
        if (layer.DilationH != 1 || layer.DilationW != 1) text += $", dilation=({Text(layer.DilationH)}, {Text(layer.DilationW)})";
        if (layer.Groups != 1) text += ", groups=" + Text(layer.Groups);
        return text + (layer.Bias ? ")" : ", bias=False)");
    }

    protected override void EmitForward(Conv2dModel layer, StepContext c) => EmitForward(c, c, relu: false);

    /// <summary>The forward call, also for a Conv2d fused with the ReLU after it (<paramref name="output"/> is the ReLU's step).</summary>
    public static void EmitForward(StepContext conv, StepContext output, bool relu) =>
        output.Kernel("Conv2dForward", relu
            ? [output.Output, conv.Input, conv.Param("weight"), conv.ParamOrEmpty("bias"), "batch", conv.Static(GeometryField), "relu: true"]
            : [output.Output, conv.Input, conv.Param("weight"), conv.ParamOrEmpty("bias"), "batch", conv.Static(GeometryField)]);

    /// <summary>
    /// The Conv2d and the BatchNorm2d after it (eval mode, running statistics) as one convolution with the normalisation
    /// folded into its weights and bias, written to <paramref name="output"/>'s output: the BatchNorm2d's step, or with
    /// <paramref name="relu"/> the ReLU's after it, applied as the convolution stores.
    /// </summary>
    public static void EmitFoldedForward(StepContext conv, BatchNormModel norm, StepContext bn, StepContext output, bool relu) =>
        output.Kernel("Conv2dBatchNormInference", relu
            ? [output.Output, conv.Input, conv.Param("weight"), conv.ParamOrEmpty("bias"), bn.ParamOrEmpty("weight"), bn.ParamOrEmpty("bias"),
                bn.Buffer("running_mean"), bn.Buffer("running_var"), Code.Real(norm.Eps), "batch", conv.Static(GeometryField), "relu: true"]
            : [output.Output, conv.Input, conv.Param("weight"), conv.ParamOrEmpty("bias"), bn.ParamOrEmpty("weight"), bn.ParamOrEmpty("bias"),
                bn.Buffer("running_mean"), bn.Buffer("running_var"), Code.Real(norm.Eps), "batch", conv.Static(GeometryField)]);

    protected override void EmitBackward(Conv2dModel layer, StepContext c) =>
        c.Kernel("Conv2dBackward", c.InputGradTarget, c.Grad("weight"), c.GradOrEmpty("bias"), c.OutputGrad, c.Input, c.Param("weight"), "batch", c.Static(GeometryField));

    /// <summary>
    /// Forward of this convolution, the Sigmoid on its output and the average pooling after that (see Fusions.ConvSigmoidPool);
    /// under Infer the Sigmoid's derivative, which only Backward reads, is not computed.
    /// </summary>
    internal static void EmitForwardThroughSigmoidAvgPool(StepContext conv, Pool2dModel pool, StepContext pooling) =>
        pooling.Kernel("Conv2dSigmoidAvgPool2dForward", [conv.Output, pooling.Output, conv.Input, conv.Param("weight"), conv.ParamOrEmpty("bias"), "batch",
            conv.Static(GeometryField), .. Pool2dLayer.AverageArguments(pool, pooling), "keepDerivative: !Inferring"]);

    /// <summary>
    /// Backward of this convolution, the Sigmoid on its output and the average pooling after that, from the pooling's
    /// output gradient (see Fusions.ConvSigmoidPool).
    /// </summary>
    internal static void EmitBackwardThroughSigmoidAvgPool(StepContext conv, Pool2dModel pool, StepContext pooling) =>
        conv.Kernel("Conv2dSigmoidAvgPool2dBackward", [conv.InputGradTarget, conv.Grad("weight"), conv.GradOrEmpty("bias"), conv.OutputGrad, pooling.OutputGrad,
            conv.Output, conv.Input, conv.Param("weight"), "batch", conv.Static(GeometryField), .. Pool2dLayer.AverageArguments(pool, pooling)]);

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Output sizes of sliding windows, as PyTorch computes them for convolutions and pooling.</summary>
internal static class Windows
{
    /// <summary>floor((size + padding - dilation (kernel - 1) - 1) / stride) + 1, or less than 1 when the window does not fit.</summary>
    public static int Output(int size, int padding, int kernel, int dilation, int stride)
    {
        long span = (long)size + padding - (long)dilation * (kernel - 1) - 1;
        return span < 0 ? 0 : (int)(span / stride) + 1;
    }

    /// <summary>
    /// PyTorch's pooling_output_shape: with ceil mode the division rounds up, but a last window starting in the right
    /// padding is dropped.
    /// </summary>
    public static int Pooled(int size, int pad, int kernel, int dilation, int stride, bool ceil)
    {
        long span = (long)size + 2L * pad - (long)dilation * (kernel - 1) - 1;
        if (span < 0) return 0;
        long output = (span + (ceil ? stride - 1 : 0)) / stride + 1;
        if (ceil && (output - 1) * stride >= size + pad) output--;
        return (int)output;
    }
}
