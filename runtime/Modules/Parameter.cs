using System;
using System.Collections.Generic;

namespace StaticNet;

/// <summary>
/// A trainable tensor, the counterpart of torch.nn.Parameter: a view of the network's parameter arena (Data)
/// and of the same place in its gradient arena (Grad). Shapes are as PyTorch stores them (Linear weight [out, in]).
/// </summary>
public sealed class Parameter
{
    private readonly float[] _data;
    private readonly float[] _grad;
    private readonly int[] _shape;

    /// <summary>A parameter over <paramref name="data"/> and <paramref name="grad"/> from <paramref name="offset"/> in both.</summary>
    public Parameter(float[] data, float[] grad, int offset, params int[] shape) : this(data, 0, grad, 0, offset, shape)
    {
    }

    /// <summary>
    /// A parameter at <paramref name="offset"/> in a network's arenas, which start at <paramref name="dataStart"/> in
    /// <paramref name="data"/> and at <paramref name="gradStart"/> in <paramref name="grad"/> (each arena on its own
    /// 64-byte boundary). Used by generated code.
    /// </summary>
    internal Parameter(float[] data, int dataStart, float[] grad, int gradStart, int offset, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(grad);
        ArgumentNullException.ThrowIfNull(shape);
        long numel = 1;
        foreach (int d in shape)
        {
            if (d <= 0) throw new ArgumentException($"Parameter dimensions must be positive, but the shape is [{string.Join(", ", shape)}].", nameof(shape));
            numel *= d;
        }
        if (offset < 0 || dataStart < 0 || gradStart < 0 || dataStart + offset + numel > data.Length || gradStart + offset + numel > grad.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"A parameter of {numel} floats at offset {offset} does not fit arenas of {data.Length - dataStart} and {grad.Length - gradStart} floats.");
        }
        _data = data;
        _grad = grad;
        _shape = (int[])shape.Clone();
        Offset = offset;
        DataIndex = dataStart + offset;
        GradIndex = gradStart + offset;
        Numel = (int)numel;
    }

    /// <summary>The shape, as in PyTorch's state_dict.</summary>
    public IReadOnlyList<int> Shape => _shape;

    /// <summary>Number of elements (torch's numel()).</summary>
    public int Numel { get; }

    /// <summary>Where this parameter starts in its network's parameter and gradient arenas.</summary>
    public int Offset { get; }

    /// <summary>Where its values start in the array behind the parameter arena.</summary>
    internal int DataIndex { get; }

    /// <summary>Where its gradient starts in the array behind the gradient arena.</summary>
    internal int GradIndex { get; }

    /// <summary>The values, writable in place (torch's param.data).</summary>
    public Span<float> Data => _data.AsSpan(DataIndex, Numel);

    /// <summary>The values as memory, for APIs that keep a reference beyond one call.</summary>
    public Memory<float> DataMemory => _data.AsMemory(DataIndex, Numel);

    /// <summary>The accumulated gradient (torch's param.grad), cleared by ZeroGrad.</summary>
    public Span<float> Grad => _grad.AsSpan(GradIndex, Numel);

    /// <summary>The arena behind <see cref="Data"/>, so that optimizers can step over neighbouring parameters in one pass.</summary>
    internal float[] DataArena => _data;

    /// <summary>The arena behind <see cref="Grad"/>.</summary>
    internal float[] GradArena => _grad;

    /// <inheritdoc/>
    public override string ToString() => $"Parameter([{string.Join(", ", _shape)}])";
}
