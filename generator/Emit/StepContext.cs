using System.Collections.Generic;
using System.Linq;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Emit;

/// <summary>
/// What a kind's emit code sees of one step, as C# expressions over the generated method's locals: the buffers it reads
/// and writes, its tensors by slot name (<c>Param("weight")</c>, <c>Grad("weight")</c>, <c>Buffer("running_mean")</c>,
/// <c>Saved("mean")</c>), its module and its flags. The arenas are the locals <c>a</c> (activations), <c>g</c>
/// (activation gradients), <c>p</c> (parameters), <c>dp</c> (gradients), <c>b</c> (buffers) and <c>s</c> (saved tensors).
/// </summary>
internal sealed class StepContext
{
    private readonly Step _step;
    private readonly BufferPlan _plan;
    private readonly int _index;

    public StepContext(IndentedWriter writer, Step step, BufferPlan plan, int index, string input, string output, string inputGrad, string? inputGradCondition)
    {
        Writer = writer;
        _step = step;
        _plan = plan;
        _index = index;
        Input = input;
        Output = output;
        InputGrad = inputGrad;
        OutputGrad = "d" + output;
        InputGradTarget = inputGradCondition is null ? InputGrad : $"{inputGradCondition} ? {InputGrad} : default";
        InputGradCondition = inputGradCondition;
    }

    public IndentedWriter Writer { get; }

    /// <summary>The buffer the layer reads (h{id} of the step before it, or x).</summary>
    public string Input { get; }

    /// <summary>The layer's output buffer.</summary>
    public string Output { get; }

    /// <summary>The gradient of the input, which backward writes.</summary>
    public string InputGrad { get; }

    /// <summary>The gradient of the output, which backward reads.</summary>
    public string OutputGrad { get; }

    /// <summary>
    /// The input gradient as the argument of a kernel that also computes parameter gradients: at the first layer with
    /// parameters it is <c>default</c> unless the caller asked for the input gradient, so the kernel skips it.
    /// </summary>
    public string InputGradTarget { get; }

    /// <summary>
    /// When the input gradient is needed, as a bool expression (the caller asked for it, or a parameter below trains), or
    /// null when it always is (a network with residuals).
    /// </summary>
    public string? InputGradCondition { get; }

    /// <summary>The layer's module, typed: its field, or for a layer inside a block the field that keeps it.</summary>
    public string Module => _step.IsNested ? ModuleField(_step) : _step.ModuleExpression;

    public string Param(string slot) => Slice("p", _plan.Parameter(_index, slot), ParameterSize(slot));

    /// <summary>The parameter's gradient, or <c>default</c> when it is frozen (RequiresGrad false), so the kernel skips it.</summary>
    public string Grad(string slot) => $"{Trains(slot)} ? {Slice("dp", _plan.Parameter(_index, slot), ParameterSize(slot))} : default";

    /// <summary>Whether the parameter trains: its RequiresGrad, read through the layer's module (Weight for "weight").</summary>
    public string Trains(string slot) => $"{Module}.{char.ToUpperInvariant(slot[0])}{slot.Substring(1)}.RequiresGrad";

    /// <summary>The parameter, or <c>default</c> (an empty span) when the layer does not have it.</summary>
    public string ParamOrEmpty(string slot) => HasParameter(slot) ? Param(slot) : "default";

    public string GradOrEmpty(string slot) => HasParameter(slot) ? Grad(slot) : "default";

    public string Buffer(string slot) => Slice("b", _plan.Buffer(_index, slot), _step.Layer.Buffers.First(b => b.Name == slot).Size);

    public string BufferOrEmpty(string slot) => _step.Layer.Buffers.Any(b => b.Name == slot) ? Buffer(slot) : "default";

    /// <summary>A saved tensor of this batch: <c>s.Slice(256 * n, batch * 256)</c>.</summary>
    public string Saved(string slot)
    {
        SavedSlot saved = _step.Layer.Saved.First(s => s.Name == slot);
        (int perSample, int fixedOffset) = _plan.Saved(_index, slot);
        string start = fixedOffset == 0 ? Code.Scaled(perSample) : perSample == 0 ? Code.Int(fixedOffset) : $"{Code.Scaled(perSample)} + {Code.Int(fixedOffset)}";
        string length = saved.PerSample > 0 ? Code.PerBatch(saved.PerSample) : Code.Int(saved.Fixed);
        return $"s.Slice({start}, {length})";
    }

    /// <summary>A bool field forward sets and backward reads, one of the kind's Flags.</summary>
    public string Flag(string name) => StepField(_step, name);

    /// <summary>One of the kind's StaticFields.</summary>
    public string Static(string name) => StepField(_step, name);

    public void Line(string line) => Writer.Line(line);

    /// <summary>A kernel call: <c>global::StaticNet.Kernels.{name}({arguments});</c>.</summary>
    public void Kernel(string name, params string[] arguments) => Writer.Line($"{Code.Kernels}.{name}({string.Join(", ", arguments)});");

    public static string StepField(Step step, string name) => "_" + Camel(step.Layer.Kind.Name) + step.Id + name;

    public static string ModuleField(Step step) => "_" + Camel(step.Layer.Kind.Name) + step.Id;

    private bool HasParameter(string slot) => _step.Layer.Parameters.Any(p => p.Name == slot);

    private int ParameterSize(string slot) => _step.Layer.Parameters.First(p => p.Name == slot).Size;

    private static string Slice(string arena, int offset, int length) => $"{arena}.Slice({Code.Int(offset)}, {Code.Int(length)})";

    private static string Camel(string name) => char.ToLowerInvariant(name[0]) + name.Substring(1);
}

/// <summary>What a kind's Construct sees: how to create its tensors where the plan put them, and a block's offsets.</summary>
internal sealed class ConstructContext
{
    private readonly LayerModel _layer;
    private readonly BufferPlan _plan;
    private readonly int _index, _shortcut;

    public ConstructContext(LayerModel layer, BufferPlan plan, int index, int shortcut)
    {
        _layer = layer;
        _plan = plan;
        _index = index;
        _shortcut = shortcut;
    }

    /// <summary><c>CreateParameter(offset, shape...)</c> for the slot, or <c>null</c> when the layer does not have it.</summary>
    public string Parameter(string slot)
    {
        TensorSlot? tensor = _layer.Parameters.FirstOrDefault(p => p.Name == slot);
        return tensor is null ? "null" : $"CreateParameter({Code.Int(_plan.Parameter(_index, slot))}{Dims(tensor.Shape)})";
    }

    /// <summary><c>CreateBuffer(offset, shape...)</c> (F32) or <c>CreateInt64Buffer(shape...)</c> for the slot, or <c>null</c>.</summary>
    public string Buffer(string slot)
    {
        TensorSlot? tensor = _layer.Buffers.FirstOrDefault(b => b.Name == slot);
        if (tensor is null) return "null";
        return tensor.DType == TensorDType.F32
            ? $"CreateBuffer({Code.Int(_plan.Buffer(_index, slot))}{Dims(tensor.Shape)})"
            : $"CreateInt64Buffer({Code.Ints(tensor.Shape)})";
    }

    /// <summary>For a BlockStart: the owner and the offsets a nested network's block constructor takes.</summary>
    public string BlockArguments => $"this, {Code.Int(_plan.BlockParameterOffset[_index])}, {Code.Int(_plan.BlockBufferOffset[_index])}";

    /// <summary>For a residual's BlockStart: the same for its shortcut network.</summary>
    public string ShortcutArguments => $"this, {Code.Int(_plan.BlockParameterOffset[_shortcut])}, {Code.Int(_plan.BlockBufferOffset[_shortcut])}";

    private static string Dims(IEnumerable<int> shape) => string.Concat(shape.Select(d => ", " + Code.Int(d)));
}
