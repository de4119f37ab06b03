using System;

namespace StaticNet;

/// <summary>
/// A trainable tensor, the counterpart of torch.nn.Parameter: a view of the network's parameter arena (Data)
/// and of the same place in its gradient arena (Grad). Shapes are as PyTorch stores them (Linear weight [out, in]).
/// </summary>
public sealed class Parameter : StateTensor
{
    private readonly float[] _data;
    private readonly float[] _grad;

    /// <summary>A parameter over <paramref name="data"/> and <paramref name="grad"/> from <paramref name="offset"/> in both.</summary>
    public Parameter(float[] data, float[] grad, int offset, params int[] shape) : this(data, 0, grad, 0, offset, shape)
    {
    }

    /// <summary>
    /// A parameter at <paramref name="offset"/> in a network's arenas, which start at <paramref name="dataStart"/> in
    /// <paramref name="data"/> and at <paramref name="gradStart"/> in <paramref name="grad"/> (each arena on its own
    /// 64-byte boundary). Used by generated code.
    /// </summary>
    internal Parameter(float[] data, int dataStart, float[] grad, int gradStart, int offset, int[] shape) : base(shape, TensorDType.F32)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(grad);
        long numel = Numel;
        if (offset < 0 || dataStart < 0 || gradStart < 0 || dataStart + offset + numel > data.Length || gradStart + offset + numel > grad.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"A parameter of {numel} floats at offset {offset} does not fit arenas of {data.Length - dataStart} and {grad.Length - gradStart} floats.");
        }
        _data = data;
        _grad = grad;
        Offset = offset;
        DataIndex = dataStart + offset;
        GradIndex = gradStart + offset;
    }

    private bool _requiresGrad = true;

    /// <summary>Counts every change of any parameter's <see cref="RequiresGrad"/>, so optimizers notice and skip frozen ones.</summary>
    internal static int FreezeVersion;

    /// <summary>
    /// Whether backward computes this parameter's gradient and optimizers update it (torch's requires_grad; true by
    /// default). A frozen parameter's gradient is neither computed nor accumulated (it keeps what it held), and every
    /// optimizer leaves the parameter and its state alone, as PyTorch does for a parameter whose grad is None.
    /// <see cref="Module.RequiresGrad"/> sets it for a whole module.
    /// </summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (_requiresGrad == value) return;
            _requiresGrad = value;
            System.Threading.Interlocked.Increment(ref FreezeVersion);
        }
    }

    /// <summary>Where this parameter starts in its network's parameter and gradient arenas.</summary>
    public int Offset { get; }

    /// <summary>Where its values start in the array behind the parameter arena.</summary>
    internal int DataIndex { get; }

    /// <summary>Where its gradient starts in the array behind the gradient arena.</summary>
    internal int GradIndex { get; }

    /// <summary>
    /// Counts every time any parameter's values may have been written: each get of <see cref="Data"/>,
    /// <see cref="DataMemory"/> or <see cref="Network.ParameterArena"/> (the views can be written), each optimizer step
    /// and each state_dict load. Prepacked weights (<see cref="Network.PrepackWeights"/>) are packed again when it moves.
    /// </summary>
    internal static long DataVersion;

    /// <summary>Records that parameter values may have changed (<see cref="DataVersion"/>).</summary>
    internal static void ValuesMayChange() => System.Threading.Interlocked.Increment(ref DataVersion);

    /// <summary>
    /// The values, writable in place (torch's param.data). Getting the view counts as a change of the values for
    /// prepacked weights (<see cref="Network.PrepackWeights"/>), which are packed again at the next Infer.
    /// </summary>
    public Span<float> Data
    {
        get
        {
            ValuesMayChange();
            return _data.AsSpan(DataIndex, Numel);
        }
    }

    /// <summary>The values as memory, for APIs that keep a reference beyond one call (counts as a change, as <see cref="Data"/>).</summary>
    public Memory<float> DataMemory
    {
        get
        {
            ValuesMayChange();
            return _data.AsMemory(DataIndex, Numel);
        }
    }

    /// <summary>The values, read only: does not count as a change.</summary>
    internal ReadOnlySpan<float> Values => _data.AsSpan(DataIndex, Numel);

    internal override Memory<float> FloatMemory => _data.AsMemory(DataIndex, Numel);

    /// <summary>The accumulated gradient (torch's param.grad), cleared by ZeroGrad.</summary>
    public Span<float> Grad => _grad.AsSpan(GradIndex, Numel);

    /// <summary>The arena behind <see cref="Data"/>, so that optimizers can step over neighbouring parameters in one pass.</summary>
    internal float[] DataArena => _data;

    /// <summary>The arena behind <see cref="Grad"/>.</summary>
    internal float[] GradArena => _grad;

    /// <inheritdoc/>
    public override string ToString() => RequiresGrad ? $"Parameter({ShapeText})" : $"Parameter({ShapeText}, requires_grad=False)";
}
