using System;

namespace StaticNet;

/// <summary>
/// Non-trainable state that belongs in the state_dict, the counterpart of a tensor registered with PyTorch's
/// register_buffer: a BatchNorm's running_mean and running_var (F32, views of the network's buffer arena) and its
/// num_batches_tracked (I64, held here). Saved and loaded with the parameters; optimizers never touch it.
/// </summary>
public sealed class ModuleBuffer : StateTensor
{
    private readonly float[] _data;
    private readonly int _start;
    private readonly long[] _int64;

    /// <summary>An F32 buffer over <paramref name="data"/> from <paramref name="offset"/>; used by generated code.</summary>
    internal ModuleBuffer(float[] data, int offset, int[] shape) : base(shape, TensorDType.F32)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (offset < 0 || (long)offset + Numel > data.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"A buffer of {Numel} floats at offset {offset} does not fit an arena of {data.Length}.");
        }
        _data = data;
        _start = offset;
        _int64 = [];
    }

    /// <summary>An I64 buffer of its own, zeroed.</summary>
    internal ModuleBuffer(int[] shape) : base(shape, TensorDType.I64)
    {
        _data = [];
        _int64 = new long[Numel];
    }

    /// <summary>The values of an F32 buffer, writable in place.</summary>
    public Span<float> Data => DType == TensorDType.F32
        ? _data.AsSpan(_start, Numel)
        : throw new InvalidOperationException($"This buffer holds I64 values: use {nameof(Int64Data)}.");

    /// <summary>The values of an I64 buffer (a counter), writable in place.</summary>
    public Span<long> Int64Data => DType == TensorDType.I64
        ? _int64
        : throw new InvalidOperationException($"This buffer holds F32 values: use {nameof(Data)}.");

    internal override Memory<float> FloatMemory => DType == TensorDType.F32 ? _data.AsMemory(_start, Numel) : Memory<float>.Empty;

    internal override Memory<long> Int64Memory => _int64;

    /// <inheritdoc/>
    public override string ToString() => $"Buffer({ShapeText}, {DType})";
}
