using System.Collections.Generic;
using StaticNet.Generator.Layers;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Emit;

/// <summary>
/// Peephole fusions: two adjacent layer steps, the second reading the first's output, run as one kernel. Adjacency is
/// all it takes for that output to have no other reader: a block boundary or a residual's skip (which reads the output
/// of the step before its block starts) puts a step in between. Each rule is a class here; the emitter asks
/// <see cref="Forward"/> and <see cref="Backward"/> and knows nothing of the kinds involved.
/// </summary>
internal static class Fusions
{
    private static readonly IReadOnlyList<ForwardFusion> ForwardRules = [new LinearThenRelu(), new Conv2dThenRelu(), new SigmoidThenAvgPool(), new BatchNormThenRelu()];
    private static readonly IReadOnlyList<BackwardFusion> BackwardRules = [new ReluThenLinear(), new SigmoidThenAvgPoolBackward(), new BatchNormThenReluBackward()];

    /// <summary>The forward fusion of steps <paramref name="first"/> and first + 1, if any.</summary>
    public static ForwardFusion? Forward(IReadOnlyList<Step> steps, BufferPlan plan, int first) => Unshared(ForwardRules, steps, plan, first);

    /// <summary>The backward fusion of steps <paramref name="first"/> and first + 1, if any.</summary>
    public static BackwardFusion? Backward(IReadOnlyList<Step> steps, BufferPlan plan, int first) => Unshared(BackwardRules, steps, plan, first);

    /// <summary>
    /// A step fuses with one neighbour at most: where the pairs (first, first + 1) and (first + 1, first + 2) both match
    /// (a BatchNorm, a ReLU and a Linear backward), the second pair is fused and the first runs as two steps.
    /// </summary>
    private static T? Unshared<T>(IReadOnlyList<T> rules, IReadOnlyList<Step> steps, BufferPlan plan, int first) where T : Fusion =>
        Find(rules, steps, plan, first + 1) is null ? Find(rules, steps, plan, first) : null;

    private static T? Find<T>(IReadOnlyList<T> rules, IReadOnlyList<Step> steps, BufferPlan plan, int first) where T : Fusion
    {
        if (first < 0 || first + 1 >= steps.Count) return null;
        Step a = steps[first], b = steps[first + 1];
        if (a.Kind != StepKind.Layer || b.Kind != StepKind.Layer || b.Input != first) return null;
        foreach (T rule in rules)
        {
            if (rule.Matches(a.Layer, b.Layer)) return rule;
        }
        return null;
    }
}

/// <summary>A pair of layers that run as one kernel.</summary>
internal abstract class Fusion
{
    public abstract bool Matches(LayerModel first, LayerModel second);
}

/// <summary>Forward: the first step writes nothing (its output has no reader); the second computes both.</summary>
internal abstract class ForwardFusion : Fusion
{
    /// <summary>The comment that stands in for the first step's forward.</summary>
    public abstract string FirstComment { get; }

    /// <summary>The second step's forward: writes second.Output from first.Input.</summary>
    public abstract void Emit(LayerModel firstLayer, StepContext first, LayerModel secondLayer, StepContext second);
}

/// <summary>Backward: the second step writes the first's input gradient directly; the first's backward is a comment.</summary>
internal abstract class BackwardFusion : Fusion
{
    public abstract string FirstComment(StepContext first);

    public abstract void Emit(LayerModel firstLayer, StepContext first, LayerModel secondLayer, StepContext second);
}

/// <summary>A Linear and the ReLU after it: the packed GEMM applies max(v, 0) as it stores each tile.</summary>
internal sealed class LinearThenRelu : ForwardFusion
{
    public override bool Matches(LayerModel first, LayerModel second) =>
        first is LinearModel && second is ActivationModel { Activation: "ReLU" };

    public override string FirstComment => "computed with the ReLU below, which keeps only its output";

    public override void Emit(LayerModel firstLayer, StepContext first, LayerModel secondLayer, StepContext second)
    {
        var linear = (LinearModel)firstLayer;
        second.Kernel("LinearReluForward", second.Output, first.Input, first.Param("weight"), first.ParamOrEmpty("bias"),
            linear.Rows, Code.Int(linear.InFeatures), Code.Int(linear.OutFeatures));
    }
}

/// <summary>A Conv2d (or Conv1d) and the ReLU after it: max(v, 0) applied as the convolution's output tiles are stored.</summary>
internal sealed class Conv2dThenRelu : ForwardFusion
{
    public override bool Matches(LayerModel first, LayerModel second) =>
        first is Conv2dModel && second is ActivationModel { Activation: "ReLU" };

    public override string FirstComment => "computed with the ReLU below, which keeps only its output";

    public override void Emit(LayerModel firstLayer, StepContext first, LayerModel secondLayer, StepContext second) =>
        Conv2dLayer.EmitForward(first, second, relu: true);
}

/// <summary>A ReLU and the Linear after it: the Linear's input gradient is masked by the ReLU's output as it is stored.</summary>
internal sealed class ReluThenLinear : BackwardFusion
{
    public override bool Matches(LayerModel first, LayerModel second) =>
        first is ActivationModel { Activation: "ReLU" } && second is LinearModel;

    public override string FirstComment(StepContext first) => $"{first.InputGrad} was written by the Linear above, through this ReLU";

    public override void Emit(LayerModel firstLayer, StepContext first, LayerModel secondLayer, StepContext second)
    {
        var linear = (LinearModel)secondLayer;
        string target = second.InputGradCondition is string condition ? $"{condition} ? {first.InputGrad} : default" : first.InputGrad;
        second.Kernel("LinearBackwardThroughRelu", target, second.Grad("weight"), second.GradOrEmpty("bias"), second.OutputGrad, second.Input,
            second.Param("weight"), linear.Rows, Code.Int(linear.InFeatures), Code.Int(linear.OutFeatures));
    }
}

/// <summary>
/// A BatchNorm and the ReLU after it (ResNet's pattern): the ReLU is applied to each normalised row while it is in cache,
/// so the BatchNorm's output is never written. Valid because nothing else reads it: the BatchNorm's backward reads its
/// input, the ReLU's its output.
/// </summary>
internal sealed class BatchNormThenRelu : ForwardFusion
{
    public override bool Matches(LayerModel first, LayerModel second) =>
        first is BatchNormModel && second is ActivationModel { Activation: "ReLU" };

    public override string FirstComment => "computed with the ReLU below, which keeps only its output";

    public override void Emit(LayerModel firstLayer, StepContext first, LayerModel secondLayer, StepContext second) =>
        BatchNormLayer.EmitForward((BatchNormModel)firstLayer, first, second);
}

/// <summary>
/// The same pair backward: the ReLU's mask applied to its output gradient in place, a row at a time as the BatchNorm's
/// sums read it, instead of a pass of its own writing the BatchNorm's output gradient.
/// </summary>
internal sealed class BatchNormThenReluBackward : BackwardFusion
{
    public override bool Matches(LayerModel first, LayerModel second) =>
        first is BatchNormModel && second is ActivationModel { Activation: "ReLU" };

    public override string FirstComment(StepContext first) => $"{first.InputGrad} was written by the ReLU above, through this BatchNorm";

    public override void Emit(LayerModel firstLayer, StepContext first, LayerModel secondLayer, StepContext second) =>
        BatchNormLayer.EmitBackward((BatchNormModel)firstLayer, first, second);
}

/// <summary>
/// A Sigmoid and the average pooling after it (LeNet's pattern): the pooling applies the sigmoid as it reads, so the
/// sigmoid's output (as large as the convolution's) is never written. Valid because neither backward reads it: the
/// Sigmoid's derivative comes from its input, and average pooling's backward reads nothing of its input.
/// </summary>
internal sealed class SigmoidThenAvgPool : ForwardFusion
{
    public override bool Matches(LayerModel first, LayerModel second) =>
        first is ActivationModel { Activation: "Sigmoid" } && second is Pool2dModel { Max: false };

    public override string FirstComment => "computed with the average pooling below, which applies it as it reads";

    public override void Emit(LayerModel firstLayer, StepContext first, LayerModel secondLayer, StepContext second) =>
        Pool2dLayer.EmitAverageOfSigmoid((Pool2dModel)secondLayer, second, first.Input);
}

/// <summary>The same pair backward: the pooling's spread gradient times the Sigmoid's derivative, in one pass.</summary>
internal sealed class SigmoidThenAvgPoolBackward : BackwardFusion
{
    public override bool Matches(LayerModel first, LayerModel second) =>
        first is ActivationModel { Activation: "Sigmoid" } && second is Pool2dModel { Max: false };

    public override string FirstComment(StepContext first) => $"{first.InputGrad} was written by the average pooling above, through this Sigmoid";

    public override void Emit(LayerModel firstLayer, StepContext first, LayerModel secondLayer, StepContext second) =>
        Pool2dLayer.EmitAverageOfSigmoidBackward((Pool2dModel)secondLayer, second, first.InputGrad, first.Input);
}

/// <summary>
/// A Conv2d (or Conv1d), the Sigmoid on its output and an average pooling after that (LeNet's pattern), each as one
/// kernel. Forward (emitted by the pooling's step): the pooling's output, and in the convolution's output buffer the
/// Sigmoid's derivative there (computed with the exponential the Sigmoid needs anyway, so the backward needs none); a
/// convolution that runs a sample at a time takes each sample through the Sigmoid and the pooling while it is in cache.
/// Backward (emitted by the convolution's step): from the pooling's output gradient, times that derivative, to the
/// convolution's gradients; when no input gradient is asked (a first layer), it forms the convolution's output gradient
/// as its weight gradient reads it, a sample at a time, so that gradient (as large as the convolution's output) is
/// neither written nor read back. Valid because nothing else reads the convolution's output: the Sigmoid is its only
/// reader, and the pooling's backward reads nothing of its input. The other steps' code is a comment.
/// </summary>
internal static class ConvSigmoidPool
{
    /// <summary>Whether steps <paramref name="conv"/>, conv + 1 and conv + 2 are such a chain, each reading the one before.</summary>
    public static bool Applies(IReadOnlyList<Step> steps, int conv) =>
        conv >= 0 && conv + 2 < steps.Count && steps[conv].Kind == StepKind.Layer && steps[conv].Layer is Conv2dModel
        && steps[conv + 1].Kind == StepKind.Layer && steps[conv + 1].Input == conv && steps[conv + 1].Layer is ActivationModel { Activation: "Sigmoid" }
        && steps[conv + 2].Kind == StepKind.Layer && steps[conv + 2].Input == conv + 1 && steps[conv + 2].Layer is Pool2dModel { Max: false };
}

/// <summary>
/// A Conv2d and the BatchNorm2d after it (with running statistics; a Conv1d and a BatchNorm1d likewise, as the same
/// per-channel arithmetic), and a ReLU after that if there is one: under <c>Infer</c> with the BatchNorm in eval mode,
/// one convolution with the normalisation folded into its weights and bias (and the ReLU applied as it stores), as
/// inference engines do: nothing is kept for Backward, so the outputs in between are not needed. Otherwise the layers run as usual. The convolution's step declares the flag and skips its own forward
/// when it is set, the BatchNorm2d's too when a ReLU follows, and the last step of the chain runs the folded convolution.
/// </summary>
internal static class ConvBatchNormFold
{
    /// <summary>Whether step <paramref name="relu"/> is a ReLU right after a folded pair that starts at relu - 2.</summary>
    public static bool EndsWithRelu(IReadOnlyList<Step> steps, int relu) =>
        Applies(steps, relu - 2) && relu < steps.Count && steps[relu].Kind == StepKind.Layer && steps[relu].Input == relu - 1
        && steps[relu].Layer is ActivationModel { Activation: "ReLU" };

    /// <summary>Whether steps <paramref name="first"/> and first + 1 are such a pair (the second reading the first's output).</summary>
    public static bool Applies(IReadOnlyList<Step> steps, int first)
    {
        if (first < 0 || first + 1 >= steps.Count) return false;
        Step a = steps[first], b = steps[first + 1];
        return a.Kind == StepKind.Layer && b.Kind == StepKind.Layer && b.Input == first
            && a.Layer is Conv2dModel && b.Layer is BatchNormModel { TrackRunningStats: true };
    }

    /// <summary>The local that says whether the pair starting at <paramref name="conv"/> runs folded.</summary>
    public static string Flag(Step conv) => "fold" + conv.Id;
}

/// <summary>
/// A [Residual] and the ReLU right after it (ResNet's pattern). Forward: the sum and the ReLU in one pass
/// (ResidualReluForward), so the sum is never written; nothing else reads it. Backward: the ReLU's gradient written
/// straight to the block's output gradient and to the skip's (the shortcut's output gradient, or the sum's own, which the
/// skip adds to the input's gradient), in place of the sum's copies; not where the ReLU's backward is fused with the
/// step after it (a Linear).
/// </summary>
internal static class ResidualRelu
{
    /// <summary>Whether step <paramref name="residual"/> is a residual sum and the next step a ReLU reading it.</summary>
    public static bool Applies(IReadOnlyList<Step> steps, int residual) =>
        residual >= 0 && residual + 1 < steps.Count && steps[residual].Kind == StepKind.ResidualAdd
        && steps[residual + 1].Kind == StepKind.Layer && steps[residual + 1].Input == residual
        && steps[residual + 1].Layer is ActivationModel { Activation: "ReLU" };

    /// <summary>Whether the pair also runs fused backward.</summary>
    public static bool AppliesBackward(IReadOnlyList<Step> steps, BufferPlan plan, int residual) =>
        Applies(steps, residual) && Fusions.Backward(steps, plan, residual + 1) is null;
}
