using System;
using System.Collections.Generic;

namespace StaticNet;

/// <summary>The element type of a state_dict tensor, as safetensors names it.</summary>
public enum TensorDType
{
    /// <summary>32-bit float: every parameter, and buffers such as running_mean.</summary>
    F32,

    /// <summary>64-bit integer: counters such as a BatchNorm's num_batches_tracked, as PyTorch keeps them.</summary>
    I64,
}

/// <summary>
/// A tensor in a module's state_dict: a <see cref="Parameter"/> (trainable) or a <see cref="ModuleBuffer"/> (state the
/// optimizer never touches). Shapes are as PyTorch stores them.
/// </summary>
public abstract class StateTensor
{
    private readonly int[] _shape;

    private protected StateTensor(int[] shape, TensorDType dtype)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long numel = 1;
        foreach (int d in shape)
        {
            if (d <= 0) throw new ArgumentException($"Tensor dimensions must be positive, but the shape is [{string.Join(", ", shape)}].", nameof(shape));
            numel *= d;
            if (numel > Array.MaxLength) throw new ArgumentException($"A tensor of shape [{string.Join(", ", shape)}] has more elements than an array can hold.", nameof(shape));
        }
        _shape = (int[])shape.Clone();
        Numel = (int)numel;
        DType = dtype;
    }

    /// <summary>The shape, as in PyTorch's state_dict ([] for a scalar).</summary>
    public IReadOnlyList<int> Shape => _shape;

    /// <summary>Number of elements (torch's numel()).</summary>
    public int Numel { get; }

    /// <summary>F32, or I64 for counters.</summary>
    public TensorDType DType { get; }

    /// <summary>The F32 values as memory, for serialisation; empty for an I64 tensor.</summary>
    internal abstract Memory<float> FloatMemory { get; }

    /// <summary>The I64 values as memory, for serialisation; empty for an F32 tensor.</summary>
    internal virtual Memory<long> Int64Memory => Memory<long>.Empty;

    /// <summary>The shape as PyTorch prints it: [256, 784].</summary>
    internal string ShapeText => "[" + string.Join(", ", _shape) + "]";
}
