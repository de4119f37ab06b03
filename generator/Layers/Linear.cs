using System.Linq;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator.Layers;

/// <summary>[Linear(out)] or [Linear(in, out)], Bias = true.</summary>
internal sealed record LinearArguments(int? InFeatures, int OutFeatures, bool Bias) : LayerArguments;

/// <summary>A Linear layer over the last dimension: weight [out, in], bias [out].</summary>
/// <param name="InFeatures">in_features: the last dimension of the shape that arrives.</param>
/// <param name="OutFeatures">out_features.</param>
/// <param name="Bias">Whether it has a bias.</param>
internal sealed record LinearModel(int InFeatures, int OutFeatures, bool Bias) : LayerModel
{
    public override LayerKind Kind => LinearLayer.Instance;

    /// <summary>Every leading dimension of a sample adds rows.</summary>
    public string Rows => Code.PerBatch(InputSize / InFeatures);
}

/// <summary>torch.nn.Linear: y = x W^T + b on the packed GEMM (or the narrow and small kernels the runtime picks).</summary>
internal sealed class LinearLayer : LayerKind<LinearArguments, LinearModel>
{
    public static readonly LinearLayer Instance = new();

    public override string Name => "Linear";

    public override LayerArguments Read(AttributeArguments attribute)
    {
        int[] sizes = attribute.Ints();
        return new LinearArguments(sizes.Length == 2 ? sizes[0] : null, sizes[sizes.Length - 1], attribute.Bool("Bias", true));
    }

    protected override LinearModel? Infer(LinearArguments arguments, InferenceContext context)
    {
        int arriving = context.Input[context.Input.Count - 1];
        int outPosition = arguments.InFeatures is null ? 0 : 1;
        bool ok = true;
        if (arguments.InFeatures is int stated && stated <= 0)
        {
            context.NonPositive(0, "in_features", stated);
            ok = false;
        }
        else if (arguments.InFeatures is int declared && declared != arriving)
        {
            context.ErrorWithFix(DiagnosticDescriptors.LinearInFeaturesId, 0, InferenceContext.Text(arriving),
                context.Label, InferenceContext.Text(declared), context.BatchedInput, InferenceContext.Text(arriving));
        }
        if (arguments.OutFeatures <= 0)
        {
            context.NonPositive(outPosition, "out_features", arguments.OutFeatures);
            ok = false;
        }
        if (!ok) return null;
        var output = context.Input.Take(context.Input.Count - 1).Append(arguments.OutFeatures).ToEquatableArray();
        if (!context.Fits((long)arriving * arguments.OutFeatures + arguments.OutFeatures) || !context.Fits(Shapes.LongSize(output))) return null;
        var parameters = new[] { new TensorSlot("weight", new[] { arguments.OutFeatures, arriving }.ToEquatableArray()) }.ToList();
        if (arguments.Bias) parameters.Add(new TensorSlot("bias", new[] { arguments.OutFeatures }.ToEquatableArray()));
        return new LinearModel(arriving, arguments.OutFeatures, arguments.Bias) { OutputShape = output, Parameters = parameters.ToEquatableArray() };
    }

    protected override string Construct(LinearModel layer, ConstructContext context) =>
        $"new global::StaticNet.Linear({Code.Int(layer.InFeatures)}, {Code.Int(layer.OutFeatures)}, {context.Parameter("weight")}, {context.Parameter("bias")})";

    public override long MultiplyAdds(LayerModel layer)
    {
        var linear = (LinearModel)layer;
        return (long)(linear.InputSize / linear.InFeatures) * linear.InFeatures * linear.OutFeatures;
    }

    protected override string Describe(LinearModel layer) =>
        $"({Code.Int(layer.InFeatures)} -> {Code.Int(layer.OutFeatures)}{(layer.Bias ? "" : ", bias=False")})";

    protected override void EmitForward(LinearModel layer, StepContext c) =>
        c.Kernel("LinearForward", c.Output, c.Input, c.Param("weight"), c.ParamOrEmpty("bias"), layer.Rows, Code.Int(layer.InFeatures), Code.Int(layer.OutFeatures));

    protected override void EmitBackward(LinearModel layer, StepContext c) =>
        c.Kernel("LinearBackward", c.InputGradTarget, c.Grad("weight"), c.GradOrEmpty("bias"), c.OutputGrad, c.Input, c.Param("weight"),
            layer.Rows, Code.Int(layer.InFeatures), Code.Int(layer.OutFeatures));
}
