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

    /// <summary>A parameter over <paramref name="data"/> and <paramref name="grad"/> from <paramref name="offset"/>; used by generated code.</summary>
    public Parameter(float[] data, float[] grad, int offset, params int[] shape)
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
        if (offset < 0 || offset + numel > data.Length || data.Length != grad.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"A parameter of {numel} floats at offset {offset} does not fit arenas of {data.Length} and {grad.Length} floats.");
        }
        _data = data;
        _grad = grad;
        _shape = (int[])shape.Clone();
        Offset = offset;
        Numel = (int)numel;
    }

    /// <summary>The shape, as in PyTorch's state_dict.</summary>
    public IReadOnlyList<int> Shape => _shape;

    /// <summary>Number of elements (torch's numel()).</summary>
    public int Numel { get; }

    /// <summary>Where this parameter starts in its network's parameter and gradient arenas.</summary>
    public int Offset { get; }

    /// <summary>The values, writable in place (torch's param.data).</summary>
    public Span<float> Data => _data.AsSpan(Offset, Numel);

    /// <summary>The values as memory, for APIs that keep a reference beyond one call.</summary>
    public Memory<float> DataMemory => _data.AsMemory(Offset, Numel);

    /// <summary>The accumulated gradient (torch's param.grad), cleared by ZeroGrad.</summary>
    public Span<float> Grad => _grad.AsSpan(Offset, Numel);

    /// <summary>The arena behind <see cref="Data"/>, so that optimizers can step over neighbouring parameters in one pass.</summary>
    internal float[] DataArena => _data;

    /// <summary>The arena behind <see cref="Grad"/>.</summary>
    internal float[] GradArena => _grad;

    /// <inheritdoc/>
    public override string ToString() => $"Parameter([{string.Join(", ", _shape)}])";
}
