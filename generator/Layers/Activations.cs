using System.Collections.Generic;
using System.Linq;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator.Layers;

/// <summary>
/// The elementwise activations, one row each: a new one is a row here, its kernel pair (Kernels.{Kernel}Forward /
/// {Kernel}Backward), its attribute and its module class.
/// </summary>
internal static class Activations
{
    public static readonly IReadOnlyList<ActivationLayer> All =
    [
        new("ReLU", "Relu", BackwardReads.Output),
        new("LeakyReLU", "LeakyRelu", BackwardReads.Input, new ActivationParameter("negative_slope", 0.01)),
        new("Sigmoid", "Sigmoid", BackwardReads.Input),
        new("Tanh", "Tanh", BackwardReads.Input),
        new("GELU", "Gelu", BackwardReads.Input, approximations: ["none", "tanh"]),
        new("SiLU", "Silu", BackwardReads.Input),
    ];
}

/// <summary>What an activation's backward kernel reads besides the output gradient.</summary>
internal enum BackwardReads
{
    /// <summary>The layer's input (GELU, LeakyReLU, and Sigmoid and Tanh, whose derivatives from the output lose their digits where it saturates).</summary>
    Input,

    /// <summary>The layer's output, which forward saved anyway (ReLU).</summary>
    Output,
}

/// <summary>An activation's one real argument, positional in its attribute and passed to both kernels (LeakyReLU's negative_slope).</summary>
/// <param name="Name">PyTorch's argument name, for messages and comments.</param>
/// <param name="Default">Its default value.</param>
internal sealed record ActivationParameter(string Name, double Default);

/// <summary>An activation's arguments as declared: its parameter, and the Approximate variant where it has one.</summary>
internal sealed record ActivationArguments(double Parameter, string? Approximate) : LayerArguments;

/// <summary>An elementwise activation: same shape out as in.</summary>
/// <param name="Activation">The activation's name, such as <c>GELU</c>.</param>
/// <param name="Parameter">Its real argument (0 when it has none).</param>
/// <param name="Approximate">Its variant (GELU: "none" or "tanh"), or "" when it has none.</param>
internal sealed record ActivationModel(string Activation, double Parameter, string Approximate) : LayerModel
{
    public override LayerKind Kind => Activations.All.First(a => a.Name == Activation);
}

/// <summary>One row of <see cref="Activations"/>: how to read, construct and run one activation.</summary>
internal sealed class ActivationLayer : LayerKind<ActivationArguments, ActivationModel>
{
    private readonly string _name;
    private readonly string _kernel;
    private readonly BackwardReads _reads;
    private readonly ActivationParameter? _parameter;
    private readonly string[] _approximations;

    /// <param name="name">PyTorch's class name.</param>
    /// <param name="kernel">The kernel pair's stem: <c>Relu</c> for ReluForward / ReluBackward.</param>
    /// <param name="reads">What backward reads.</param>
    /// <param name="parameter">The real argument, if any.</param>
    /// <param name="approximations">The values of an Approximate argument, the default first; any other adds its
    /// name to the kernel stem (GELU's "tanh" runs GeluTanhForward).</param>
    public ActivationLayer(string name, string kernel, BackwardReads reads, ActivationParameter? parameter = null, string[]? approximations = null)
    {
        _name = name;
        _kernel = kernel;
        _reads = reads;
        _parameter = parameter;
        _approximations = approximations ?? [];
    }

    public override string Name => _name;

    /// <summary>Whether backward reads the output: the Linear+ReLU fusion needs that the ReLU's input is read by nothing else.</summary>
    public BackwardReads Reads => _reads;

    public override LayerArguments Read(AttributeArguments attribute) =>
        new ActivationArguments(attribute.Double(0, _parameter?.Default ?? 0), _approximations.Length == 0 ? null : attribute.String("Approximate", _approximations[0]));

    protected override ActivationModel? Infer(ActivationArguments arguments, InferenceContext context)
    {
        if (_parameter is not null && (double.IsNaN(arguments.Parameter) || double.IsInfinity(arguments.Parameter)))
        {
            context.Invalid(0, $"{_parameter.Name} must be finite, but it is {InferenceContext.Text(arguments.Parameter)}");
        }
        if (_approximations.Length > 0 && !_approximations.Contains(arguments.Approximate))
        {
            string allowed = string.Join(" or ", _approximations.Select(a => "\"" + a + "\""));
            string actual = arguments.Approximate is null ? "null" : "\"" + arguments.Approximate + "\"";
            context.InvalidNamed("Approximate", $"approximate must be {allowed}, but it is {actual}");
        }
        return new ActivationModel(_name, _parameter is null ? 0 : arguments.Parameter, arguments.Approximate ?? "") { OutputShape = context.Input };
    }

    protected override string Construct(ActivationModel layer, ConstructContext context)
    {
        string arguments = _parameter is not null ? Code.Real(layer.Parameter) : _approximations.Length > 0 ? "\"" + layer.Approximate + "\"" : "";
        return $"new global::StaticNet.{_name}({arguments})";
    }

    protected override string Describe(ActivationModel layer) =>
        _parameter is not null ? $"({_parameter.Name}={Code.Number(layer.Parameter)})"
        : _approximations.Length > 0 && layer.Approximate != _approximations[0] ? $"(approximate='{layer.Approximate}')"
        : "";

    protected override void EmitForward(ActivationModel layer, StepContext c) =>
        c.Kernel(Kernel(layer) + "Forward", Arguments(layer, c.Output, c.Input));

    protected override void EmitBackward(ActivationModel layer, StepContext c) =>
        c.Kernel(Kernel(layer) + "Backward", Arguments(layer, c.InputGrad, c.OutputGrad, _reads == BackwardReads.Output ? c.Output : c.Input));

    private string Kernel(ActivationModel layer) =>
        _approximations.Length == 0 || layer.Approximate == _approximations[0] ? _kernel : _kernel + char.ToUpperInvariant(layer.Approximate[0]) + layer.Approximate.Substring(1);

    private string[] Arguments(ActivationModel layer, params string[] spans) =>
        _parameter is null ? spans : spans.Append(Code.Real(layer.Parameter)).ToArray();
}
