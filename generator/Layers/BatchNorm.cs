using System.Collections.Generic;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator.Layers;

/// <summary>[BatchNorm1d] / [BatchNorm2d] as declared: num_features (null when inferred) and the named arguments.</summary>
/// <param name="Momentum">The momentum, null for a cumulative moving average.</param>
/// <param name="MomentumText">Set when Momentum was given something other than a number or null: what it was.</param>
internal sealed record BatchNormArguments(int? NumFeatures, double Eps, double? Momentum, string? MomentumText, bool Affine, bool TrackRunningStats) : LayerArguments;

/// <summary>A BatchNorm layer over the channels of [C], [C, L] (BatchNorm1d) or [C, H, W] (BatchNorm2d) per sample.</summary>
/// <param name="Dims">1 or 2, as in the class name.</param>
/// <param name="NumFeatures">num_features: the channel count C.</param>
/// <param name="Spatial">Values per channel per sample: L, H * W, or 1.</param>
/// <param name="Eps">eps.</param>
/// <param name="Momentum">momentum, or null for a cumulative moving average.</param>
/// <param name="Affine">Whether it has weight and bias.</param>
/// <param name="TrackRunningStats">Whether it keeps running statistics (and uses them in eval mode).</param>
internal sealed record BatchNormModel(int Dims, int NumFeatures, int Spatial, double Eps, double? Momentum, bool Affine, bool TrackRunningStats) : LayerModel
{
    public override LayerKind Kind => Dims == 1 ? BatchNormLayer.OneD : BatchNormLayer.TwoD;
}

/// <summary>
/// torch.nn.BatchNorm1d and BatchNorm2d. Training mode (or no running statistics): normalise with the batch's mean and
/// biased variance, and move the running statistics toward the batch's (unbiased variance), counting the batch in
/// num_batches_tracked. Eval mode: normalise with the running statistics. Forward saves the mean and 1/std it used, and
/// a flag saying which of the two it was, for backward.
/// </summary>
internal sealed class BatchNormLayer : LayerKind<BatchNormArguments, BatchNormModel>
{
    public static readonly BatchNormLayer OneD = new(1);
    public static readonly BatchNormLayer TwoD = new(2);

    private const string BatchStats = "BatchStats";
    private readonly int _dims;

    private BatchNormLayer(int dims) => _dims = dims;

    public override string Name => _dims == 1 ? "BatchNorm1d" : "BatchNorm2d";

    public override LayerArguments Read(AttributeArguments attribute)
    {
        object? momentum = attribute.Has("Momentum") ? attribute.Named("Momentum") : 0.1;
        double? value = momentum switch { double d => d, float f => f, int i => i, _ => null };
        string? text = momentum is null || value is not null ? null : momentum is string s ? "\"" + s + "\"" : momentum.ToString();
        return new BatchNormArguments(attribute.Count > 0 ? attribute.Int(0) : null, attribute.Double("Eps", 1e-5), value, text,
            attribute.Bool("Affine", true), attribute.Bool("TrackRunningStats", true));
    }

    protected override BatchNormModel? Infer(BatchNormArguments arguments, InferenceContext context)
    {
        EquatableArray<int> input = context.Input;
        bool rankOk = _dims == 1 ? input.Count is 1 or 2 : input.Count == 3;
        if (!rankOk)
        {
            context.WrongRank(_dims == 1 ? "[C] or [C, L] per sample" : "[C, H, W] per sample");
            return null;
        }
        int channels = input[0];
        if (arguments.NumFeatures is int stated)
        {
            if (stated <= 0) context.NonPositive(0, "num_features", stated);
            else if (stated != channels)
            {
                context.Error(DiagnosticDescriptors.NormalizedShapeId, 0, context.Label, "num_features", InferenceContext.Text(stated),
                    context.BatchedInput, InferenceContext.Text(channels) + " (its channels)");
            }
        }
        Normalization.CheckEps(arguments.Eps, context);
        if (arguments.MomentumText is not null)
        {
            context.InvalidNamed("Momentum", $"momentum must be a number or null, but it is {arguments.MomentumText}");
        }
        else if (arguments.Momentum is double m && !(m >= 0 && m <= 1))
        {
            context.NamedError(DiagnosticDescriptors.MomentumId, "Momentum", context.Label, InferenceContext.Text(m));
        }
        if (context.HasErrors) return null;

        int spatial = Shapes.Size(input) / channels;
        EquatableArray<int> perChannel = new[] { channels }.ToEquatableArray();
        var parameters = new List<TensorSlot>();
        var buffers = new List<TensorSlot>();
        if (arguments.Affine)
        {
            parameters.Add(new TensorSlot("weight", perChannel));
            parameters.Add(new TensorSlot("bias", perChannel));
        }
        if (arguments.TrackRunningStats)
        {
            buffers.Add(new TensorSlot("running_mean", perChannel));
            buffers.Add(new TensorSlot("running_var", perChannel));
            buffers.Add(new TensorSlot("num_batches_tracked", EquatableArray<int>.Empty, TensorDType.I64));
        }
        return new BatchNormModel(_dims, channels, spatial, arguments.Eps, arguments.Momentum, arguments.Affine, arguments.TrackRunningStats)
        {
            OutputShape = input,
            Parameters = parameters.ToEquatableArray(),
            Buffers = buffers.ToEquatableArray(),
            Saved = new[] { new SavedSlot("mean", 0, channels), new SavedSlot("rstd", 0, channels) }.ToEquatableArray(),
        };
    }

    public override bool ReadsModule(LayerModel layer) => true;

    public override EquatableArray<string> Flags(LayerModel layer) =>
        ((BatchNormModel)layer).TrackRunningStats ? new[] { BatchStats }.ToEquatableArray() : EquatableArray<string>.Empty;

    protected override string Construct(BatchNormModel layer, ConstructContext c) =>
        $"new global::StaticNet.{Name}({Code.Int(layer.NumFeatures)}, {Code.Real(layer.Eps)}, {(layer.Momentum is double m ? Code.Real(m) : "null")}, " +
        $"{c.Parameter("weight")}, {c.Parameter("bias")}, {c.Buffer("running_mean")}, {c.Buffer("running_var")}, {c.Buffer("num_batches_tracked")})";

    protected override string Describe(BatchNormModel layer) =>
        $"({Code.Int(layer.NumFeatures)}, eps={Code.Number(layer.Eps)}, momentum={(layer.Momentum is double m ? Code.Number(m) : "None")}" +
        (layer.Affine ? "" : ", affine=False") + (layer.TrackRunningStats ? "" : ", track_running_stats=False") + ")";

    /// <summary>A batch of one sample gives one value per channel only when each sample has one value per channel.</summary>
    public override void EmitPrecondition(LayerModel layer, StepContext c)
    {
        if (((BatchNormModel)layer).Spatial == 1) c.Line($"{c.Module}.CheckBatch(batch, 1);");
    }

    public override void EmitForwardSetup(LayerModel layer, StepContext c)
    {
        if (((BatchNormModel)layer).TrackRunningStats) c.Line($"{c.Flag(BatchStats)} = {c.Module}.Training;");
    }

    protected override void EmitForward(BatchNormModel layer, StepContext c) => EmitForward(layer, c, null);

    protected override void EmitBackward(BatchNormModel layer, StepContext c) => EmitBackward(layer, c, null);

    /// <summary>
    /// Forward of the BatchNorm in <paramref name="c"/>; with <paramref name="relu"/> (the ReLU after it, see
    /// Fusions.BatchNormThenRelu), BatchNormReluForward, writing the ReLU's output instead of the BatchNorm's.
    /// </summary>
    public static void EmitForward(BatchNormModel layer, StepContext c, StepContext? relu)
    {
        string batchStats = layer.TrackRunningStats ? c.Flag(BatchStats) : "true";
        string momentum = layer.TrackRunningStats ? $"{c.Flag(BatchStats)} ? {c.Module}.CountBatch() : 0f" : "0f";
        (relu ?? c).Kernel(relu is null ? "BatchNormForward" : "BatchNormReluForward", relu?.Output ?? c.Output, c.Saved("mean"), c.Saved("rstd"), c.Input,
            c.ParamOrEmpty("weight"), c.ParamOrEmpty("bias"), c.BufferOrEmpty("running_mean"), c.BufferOrEmpty("running_var"), "batch",
            Code.Int(layer.NumFeatures), Code.Int(layer.Spatial), Code.Real(layer.Eps), momentum, batchStats);
    }

    /// <summary>Backward of the BatchNorm in <paramref name="c"/>; with <paramref name="relu"/>, from the ReLU's output gradient through it.</summary>
    public static void EmitBackward(BatchNormModel layer, StepContext c, StepContext? relu)
    {
        string batchStats = layer.TrackRunningStats ? c.Flag(BatchStats) : "true";
        string[] tail = [c.Input, c.Saved("mean"), c.Saved("rstd"), c.ParamOrEmpty("weight"), "batch", Code.Int(layer.NumFeatures), Code.Int(layer.Spatial), batchStats];
        if (relu is null) c.Kernel("BatchNormBackward", [c.InputGradTarget, c.GradOrEmpty("weight"), c.GradOrEmpty("bias"), c.OutputGrad, .. tail]);
        else relu.Kernel("BatchNormReluBackward", [c.InputGradTarget, c.GradOrEmpty("weight"), c.GradOrEmpty("bias"), relu.OutputGrad, relu.Output, .. tail]);
    }
}
