using System.Collections.Generic;
using System.Linq;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator.Layers;

/// <summary>[LayerNorm(normalized_shape...)] as declared.</summary>
internal sealed record LayerNormArguments(EquatableArray<int> NormalizedShape, double Eps, bool ElementwiseAffine, bool Bias) : LayerArguments;

/// <summary>A LayerNorm over the trailing dimensions; it saves each row's mean and 1/std for backward.</summary>
/// <param name="NormalizedShape">normalized_shape: the trailing dimensions normalised together.</param>
/// <param name="Eps">eps.</param>
/// <param name="ElementwiseAffine">Whether it has a weight (and a bias, unless Bias is false).</param>
/// <param name="Bias">Whether it has a bias.</param>
internal sealed record LayerNormModel(EquatableArray<int> NormalizedShape, double Eps, bool ElementwiseAffine, bool Bias) : LayerModel
{
    public override LayerKind Kind => LayerNormLayer.Instance;

    /// <summary>Floats normalised together: the product of normalized_shape.</summary>
    public int Size => Shapes.Size(NormalizedShape);

    /// <summary>Rows per sample: the leading dimensions.</summary>
    public int RowsPerSample => InputSize / Size;
}

/// <summary>torch.nn.LayerNorm: the same in training and eval mode.</summary>
internal sealed class LayerNormLayer : LayerKind<LayerNormArguments, LayerNormModel>
{
    public static readonly LayerNormLayer Instance = new();

    public override string Name => "LayerNorm";

    public override LayerArguments Read(AttributeArguments attribute) =>
        new LayerNormArguments(attribute.Ints().ToEquatableArray(), attribute.Double("Eps", 1e-5), attribute.Bool("ElementwiseAffine", true), attribute.Bool("Bias", true));

    protected override LayerNormModel? Infer(LayerNormArguments arguments, InferenceContext context)
    {
        EquatableArray<int> input = context.Input, normalized = arguments.NormalizedShape;
        if (normalized.Count == 0)
        {
            context.Invalid(ShapeError.WholeAttribute, "normalized_shape must name at least one dimension, such as [LayerNorm(256)]");
            return null;
        }
        bool matches = normalized.Count <= input.Count && input.Skip(input.Count - normalized.Count).SequenceEqual(normalized);
        if (!matches)
        {
            string expected = normalized.Count <= input.Count
                ? $"its last {InferenceContext.Text(normalized.Count)} dimension{(normalized.Count == 1 ? "" : "s")}, {InferenceContext.Text(input.Skip(input.Count - normalized.Count))}"
                : $"at most its {InferenceContext.Text(input.Count)} dimension{(input.Count == 1 ? "" : "s")}";
            context.Error(DiagnosticDescriptors.NormalizedShapeId, ShapeError.WholeAttribute, context.Label, "normalized_shape", InferenceContext.Text(normalized),
                context.BatchedInput, expected);
        }
        Normalization.CheckEps(arguments.Eps, context);
        if (context.HasErrors) return null;

        var parameters = new List<TensorSlot>();
        if (arguments.ElementwiseAffine)
        {
            parameters.Add(new TensorSlot("weight", normalized));
            if (arguments.Bias) parameters.Add(new TensorSlot("bias", normalized));
        }
        int rows = Shapes.Size(input) / Shapes.Size(normalized);
        return new LayerNormModel(normalized, arguments.Eps, arguments.ElementwiseAffine, arguments.ElementwiseAffine && arguments.Bias)
        {
            OutputShape = input,
            Parameters = parameters.ToEquatableArray(),
            Saved = new[] { new SavedSlot("mean", rows, 0), new SavedSlot("rstd", rows, 0) }.ToEquatableArray(),
        };
    }

    protected override string Construct(LayerNormModel layer, ConstructContext c) =>
        $"new global::StaticNet.LayerNorm(new int[] {{ {Code.Ints(layer.NormalizedShape)} }}, {Code.Real(layer.Eps)}, {c.Parameter("weight")}, {c.Parameter("bias")})";

    protected override string Describe(LayerNormModel layer) =>
        $"(({Code.Ints(layer.NormalizedShape)}{(layer.NormalizedShape.Count == 1 ? "," : "")}), eps={Code.Number(layer.Eps)}" +
        (layer.ElementwiseAffine ? layer.Bias ? "" : ", bias=False" : ", elementwise_affine=False") + ")";

    protected override void EmitForward(LayerNormModel layer, StepContext c) =>
        c.Kernel("LayerNormForward", c.Output, c.Saved("mean"), c.Saved("rstd"), c.Input, c.ParamOrEmpty("weight"), c.ParamOrEmpty("bias"),
            Code.PerBatch(layer.RowsPerSample), Code.Int(layer.Size), Code.Real(layer.Eps));

    protected override void EmitBackward(LayerNormModel layer, StepContext c) =>
        c.Kernel("LayerNormBackward", c.InputGradTarget, c.GradOrEmpty("weight"), c.GradOrEmpty("bias"), c.OutputGrad, c.Input,
            c.Saved("mean"), c.Saved("rstd"), c.ParamOrEmpty("weight"), Code.PerBatch(layer.RowsPerSample), Code.Int(layer.Size));
}

/// <summary>Checks the normalisation layers share.</summary>
internal static class Normalization
{
    /// <summary>SN0023 unless eps is positive and finite.</summary>
    public static void CheckEps(double eps, InferenceContext context)
    {
        if (!(eps > 0) || double.IsInfinity(eps))
        {
            context.NamedError(DiagnosticDescriptors.EpsId, "Eps", context.Label, InferenceContext.Text(eps));
        }
    }
}
