using System.Linq;
using StaticNet.Generator.Layers;

namespace StaticNet.Generator.Model;

/// <summary>
/// One layer after shape inference: what every kind has in common. Each kind derives a record of its own with its typed
/// arguments (<see cref="LinearModel"/>, <see cref="BatchNormModel"/>, ...), in the kind's file under Layers/.
/// Records of this hierarchy must stay immutable and equatable (they are cached by the incremental pipeline): strings,
/// numbers, enums and <see cref="EquatableArray{T}"/> only, never a Roslyn symbol, syntax node or location.
/// </summary>
internal abstract record LayerModel
{
    /// <summary>The layer's position in its network, from 0.</summary>
    public int Index { get; init; }

    /// <summary>The layer's state_dict name: its index, or the Name the attribute gives.</summary>
    public string Name { get; init; } = "";

    /// <summary>The per-sample shape that arrives (the batch dimension is implicit).</summary>
    public EquatableArray<int> InputShape { get; init; }

    /// <summary>The per-sample shape it produces.</summary>
    public EquatableArray<int> OutputShape { get; init; }

    /// <summary>Trainable tensors the layer owns, in state_dict order (a Linear's weight, then its bias).</summary>
    public EquatableArray<TensorSlot> Parameters { get; init; }

    /// <summary>Non-trainable state that belongs in the state_dict (a BatchNorm's running statistics), in its order.</summary>
    public EquatableArray<TensorSlot> Buffers { get; init; }

    /// <summary>What forward keeps for backward beyond the layer's output: dropout masks, normalisation statistics.</summary>
    public EquatableArray<SavedSlot> Saved { get; init; }

    /// <summary>The kind that reads, checks and emits this layer.</summary>
    public abstract LayerKind Kind { get; }

    public int InputSize => Shapes.Size(InputShape);

    public int OutputSize => Shapes.Size(OutputShape);

    /// <summary>Floats of parameters this layer owns, its nested layers' included.</summary>
    public virtual int ParameterFloats => Parameters.Sum(p => p.Size);

    /// <summary>Floats of F32 buffers this layer owns, its nested layers' included (I64 buffers are held by their modules).</summary>
    public virtual int BufferFloats => Buffers.Where(b => b.DType == TensorDType.F32).Sum(b => b.Size);
}

/// <summary>The element type of a tensor in the state_dict, as safetensors names it.</summary>
internal enum TensorDType
{
    F32,
    I64,
}

/// <summary>A named tensor of a layer: a parameter or a buffer, with its shape as in PyTorch's state_dict.</summary>
/// <param name="Name">The name within the layer, such as <c>weight</c> or <c>running_mean</c>.</param>
/// <param name="Shape">The full shape ([] for a scalar).</param>
/// <param name="DType">F32, or I64 for counters such as num_batches_tracked.</param>
internal sealed record TensorSlot(string Name, EquatableArray<int> Shape, TensorDType DType = TensorDType.F32)
{
    public int Size => Shapes.Size(Shape);
}

/// <summary>A tensor forward saves for backward, sized per sample (a dropout mask) or once per batch (a BatchNorm's per-channel statistics).</summary>
/// <param name="Name">The name within the layer, such as <c>mask</c> or <c>mean</c>.</param>
/// <param name="PerSample">Floats per sample of the batch.</param>
/// <param name="Fixed">Floats however large the batch.</param>
internal sealed record SavedSlot(string Name, int PerSample, int Fixed);

/// <summary>One layer as declared, before shape inference: its kind, its Name argument, and its other arguments unchecked.</summary>
internal sealed record LayerSpec(LayerKind Kind, string? Name, LayerArguments Arguments);

/// <summary>The arguments a layer attribute was given, as its kind reads them; checked only by shape inference.</summary>
internal abstract record LayerArguments;

/// <summary>A layer attribute without arguments (ReLU, Identity).</summary>
internal sealed record NoArguments : LayerArguments
{
    public static readonly NoArguments Instance = new();
}
