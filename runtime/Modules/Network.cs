using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using StaticNet.Simd;

namespace StaticNet;

/// <summary>
/// The base of every generated network (the counterpart of torch.nn.Sequential): it owns one arena each for parameters,
/// gradients, buffers, activations, activation gradients and saved tensors (dropout masks, normalisation statistics),
/// all allocated once by the constructor,
/// and validates the arguments of Forward and Backward before the generated code runs.
/// </summary>
public abstract class Network : Module
{
    private readonly List<(string, Module)> _layers = [];
    private readonly float[] _parameters;
    private readonly float[] _gradients;
    private readonly float[] _activations;
    private readonly float[] _activationGrads;
    private readonly int _activationsStart, _activationGradsStart, _activationCount;
    private readonly float[] _saved;
    private readonly float[] _buffers;
    // Where the arenas start in their arrays (each on a 64-byte boundary), and where this network's parameters and buffers
    // start in them: all of them when it stands alone, a stretch (not at 0) when it is a block inside another network.
    private readonly int _parameterStart, _gradientStart, _parameterBase, _bufferBase;
    private readonly int _parameterCount, _bufferCount;
    private int _lastBatch;
    // Set while Infer runs: the generated forward reads the input where it is (Input) and keeps nothing for Backward.
    private bool _inferring, _lastWasInference;

    /// <summary>Allocates the arenas; called by the generated constructor with the network's compile-time sizes.</summary>
    protected Network(int maxBatch, int inputSize, int outputSize, int parameterCount, int bufferCount, int activationsPerSample,
        int savedPerSample, int savedFixed, ulong seed)
    {
        if (maxBatch <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, "The largest batch must be at least 1.");
        }
        long activations = (long)maxBatch * activationsPerSample, saved = (long)maxBatch * savedPerSample + savedFixed;
        if (activations > Array.MaxLength - 16)
        {
            throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch,
                $"A batch of {maxBatch} needs {activations} floats of activations ({activationsPerSample} per sample), more than an array can hold ({Array.MaxLength - 16}).");
        }
        if (saved > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch,
                $"A batch of {maxBatch} needs {saved} floats of saved tensors ({savedPerSample} per sample and {savedFixed} more), more than an array can hold ({Array.MaxLength}).");
        }
        MaxBatch = maxBatch;
        SampleInputSize = inputSize;
        SampleOutputSize = outputSize;
        // Each arena starts on a 64-byte boundary: a weight streamed row by row (one-sample inference) or packed by
        // 8-float loads must not straddle cache lines.
        _parameters = AlignedArray.Allocate(parameterCount);
        _gradients = AlignedArray.Allocate(parameterCount);
        _parameterStart = AlignedArray.Start(_parameters);
        _gradientStart = AlignedArray.Start(_gradients);
        _parameterCount = parameterCount;
        // Aligned to 64 bytes: the products read input rows in place, and a row that straddles cache lines costs double.
        _activations = AlignedArray.Allocate(activations);
        _activationGrads = AlignedArray.Allocate(activations);
        _activationsStart = AlignedArray.Start(_activations);
        _activationGradsStart = AlignedArray.Start(_activationGrads);
        _activationCount = (int)activations;
        _saved = new float[saved];
        _buffers = new float[bufferCount];
        _bufferCount = bufferCount;
        Generator = new RandomGenerator(seed);
    }

    /// <summary>
    /// Builds a network as a block inside <paramref name="owner"/> (for [Block] and [Residual] layers): its parameters and
    /// buffers are views of the owner's arenas from <paramref name="parameterOffset"/> and <paramref name="bufferOffset"/>,
    /// and it has no activations of its own, since the owner's generated code runs its layers. Called by generated code.
    /// </summary>
    protected Network(Network owner, int parameterOffset, int parameterCount, int bufferOffset, int bufferCount, int inputSize, int outputSize)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (parameterOffset < 0 || parameterCount < 0 || (long)parameterOffset + parameterCount > owner._parameterCount)
        {
            throw new ArgumentOutOfRangeException(nameof(parameterOffset),
                $"A block of {parameterCount} parameters at offset {parameterOffset} does not fit its owner's arena of {owner._parameterCount}.");
        }
        if (bufferOffset < 0 || bufferCount < 0 || (long)bufferOffset + bufferCount > owner._bufferCount)
        {
            throw new ArgumentOutOfRangeException(nameof(bufferOffset),
                $"A block of {bufferCount} buffer floats at offset {bufferOffset} does not fit its owner's arena of {owner._bufferCount}.");
        }
        Owner = owner;
        _parameterStart = owner._parameterStart;
        _gradientStart = owner._gradientStart;
        _parameterBase = owner._parameterBase + parameterOffset;
        _parameters = owner._parameters;
        _gradients = owner._gradients;
        _buffers = owner._buffers;
        _bufferBase = owner._bufferBase + bufferOffset;
        _bufferCount = bufferCount;
        _activations = [];
        _activationGrads = [];
        _saved = [];
        _parameterCount = parameterCount;
        MaxBatch = owner.MaxBatch;
        SampleInputSize = inputSize;
        SampleOutputSize = outputSize;
        Generator = owner.Generator;
    }

    /// <summary>The network this one is a block of, or null when it stands alone.</summary>
    public Network? Owner { get; }

    /// <summary>The largest batch Forward accepts, as given to the constructor.</summary>
    public int MaxBatch { get; }

    /// <summary>Floats in one input sample (the generated class also has it as the constant InputSize).</summary>
    public int SampleInputSize { get; }

    /// <summary>The shape of one input sample (the generated class also has it as the static InputShape).</summary>
    public abstract ReadOnlySpan<int> SampleInputShape { get; }

    /// <summary>The shape of one output sample (the generated class also has it as the static OutputShape).</summary>
    public abstract ReadOnlySpan<int> SampleOutputShape { get; }

    /// <summary>Floats in one output sample (the generated class also has it as the constant OutputSize).</summary>
    public int SampleOutputSize { get; }

    /// <summary>The batch size of the last Forward, or 0 before the first (and after <see cref="Infer"/>, which keeps nothing for Backward).</summary>
    public int LastBatch => _lastBatch;

    /// <summary>The generator behind initialisation and dropout masks, seeded by the constructor.</summary>
    public RandomGenerator Generator { get; }

    /// <summary>
    /// All parameters, contiguous, in the order of <see cref="Module.NamedParameters"/>. Getting the view counts as a
    /// change of the values for prepacked weights, as <see cref="Parameter.Data"/> does.
    /// </summary>
    public Span<float> ParameterArena
    {
        get
        {
            Parameter.ValuesMayChange();
            return _parameters.AsSpan(_parameterStart + _parameterBase, _parameterCount);
        }
    }

    /// <summary>All parameters, read only, for the generated passes (reading them is not a change, unlike <see cref="ParameterArena"/>).</summary>
    protected ReadOnlySpan<float> ParameterValues => _parameters.AsSpan(_parameterStart + _parameterBase, _parameterCount);

    /// <summary>All parameter gradients, laid out like <see cref="ParameterArena"/>.</summary>
    public Span<float> GradientArena => _gradients.AsSpan(_gradientStart + _parameterBase, _parameterCount);

    /// <summary>All F32 buffers (running statistics), contiguous, in the order of <see cref="Module.NamedBuffers"/>.</summary>
    public Span<float> BufferArena => _buffers.AsSpan(_bufferBase, _bufferCount);

    /// <summary>Saved activations: the input and each layer's output, each region sized for the largest batch.</summary>
    protected Span<float> Activations => _activations.AsSpan(_activationsStart, _activationCount);

    /// <summary>
    /// The array that holds the input slot of the activations, and where the slot starts (Forward's first step copies
    /// the input there); null for a block inside another network. The Trainer gathers batches straight into it.
    /// </summary>
    internal (float[] Array, int Start)? InputSlot =>
        Owner is null && _activationCount >= MaxBatch * SampleInputSize ? (_activations, _activationsStart) : null;

    /// <summary>
    /// Forward's first step: the input as the layers read it. Forward copies it into its slot <paramref name="slot"/> at
    /// the start of the activations (unless it is already there: the Trainer gathers batches in place), so that Backward
    /// finds it whatever the caller does with its buffer; <see cref="Infer"/> reads it where it is. The generated forward
    /// only reads the span returned (no layer writes its input), so a read-only input is never written.
    /// </summary>
    protected Span<float> Input(ReadOnlySpan<float> input, Span<float> slot)
    {
        if (_inferring) return MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(input), input.Length);
        if (!Unsafe.AreSame(ref MemoryMarshal.GetReference(input), ref MemoryMarshal.GetReference(slot))) input.CopyTo(slot);
        return slot;
    }

    /// <summary>Gradients with respect to the saved activations, laid out like <see cref="Activations"/>.</summary>
    protected Span<float> ActivationGrads => _activationGrads.AsSpan(_activationGradsStart, _activationCount);

    /// <summary>What the last Forward saved for Backward besides activations: dropout masks, normalisation statistics.</summary>
    protected Span<float> SavedTensors => _saved;

    /// <inheritdoc/>
    public override IReadOnlyList<(string Name, Module Module)> NamedChildren() => _layers;

    /// <summary>The layers as the generator saw them (names, kinds, output shapes, parameters, multiply-adds); see <see cref="Summary"/>.</summary>
    public virtual IReadOnlyList<LayerSummary> LayerSummaries => [];

    /// <summary>
    /// A model summary in the manner of torchinfo: each layer's name, type, output shape, parameter count and
    /// multiply-adds per sample, the totals (trainable and frozen parameters) and the memory the arenas take for
    /// <see cref="MaxBatch"/>. <c>Console.WriteLine(net.Summary())</c> prints the table; the generated class carries the
    /// same table as its doc comment, so hovering the class in the IDE shows it.
    /// </summary>
    public ModelSummary Summary()
    {
        long total = 0, trainable = 0;
        foreach (Parameter p in Parameters())
        {
            total += p.Numel;
            if (p.RequiresGrad) trainable += p.Numel;
        }
        long multiplyAdds = 0;
        foreach (LayerSummary layer in LayerSummaries)
        {
            if (layer.Depth == 0) multiplyAdds += layer.MultiplyAdds;
        }
        return new ModelSummary(GetType().Name, SampleInputShape.ToArray(), MaxBatch, LayerSummaries, total, trainable, multiplyAdds,
            4L * _parameterCount, 4L * _parameterCount, 4L * _bufferCount, 4L * _activationCount, 4L * _activationCount, 4L * _saved.Length);
    }

    /// <summary>
    /// Runs the network on a batch: <paramref name="input"/> holds batch rows of the per-sample input size,
    /// <paramref name="output"/> receives batch rows of the per-sample output size. Keeps what Backward needs.
    /// A network holds one batch's activations, so it serves one thread at a time: a Forward or Backward that starts
    /// while another runs on the same network throws <see cref="InvalidOperationException"/>.
    /// </summary>
    public void Forward(ReadOnlySpan<float> input, Span<float> output)
    {
        Enter();
        try
        {
            ForwardCore(input, output);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>
    /// The forward pass for inference, as under <c>torch.inference_mode()</c>: the input is read where it is instead of
    /// being copied for Backward, and nothing is kept for Backward (a Backward after it throws until the next Forward).
    /// The output is <see cref="Forward"/>'s bit for bit, except with <see cref="PrepackWeights"/> under about in_features / 8
    /// rows (within float rounding, as its remarks say) and where a Conv2d followed by a BatchNorm2d in eval mode
    /// (or a Conv1d by a BatchNorm1d) runs as one convolution with the normalisation folded into its weights and bias (and a ReLU right after applied as
    /// it stores), as inference engines fold them, within float rounding of the separate layers. It does not change the mode: call <see cref="Module.Eval"/> first for
    /// dropout and batch normalisation to behave as at inference. <paramref name="input"/> must not overlap
    /// <paramref name="output"/>, and is only read.
    /// </summary>
    public void Infer(ReadOnlySpan<float> input, Span<float> output)
    {
        if (input.Overlaps(output)) throw new ArgumentException("output overlaps input; Infer reads the input where it is.", nameof(output));
        Enter();
        PrepackedWeights? prepacked = _prepacked, previous = null;
        try
        {
            _inferring = true;
            if (prepacked is not null) previous = prepacked.Activate();
            ForwardCore(input, output);
        }
        finally
        {
            if (prepacked is not null) PrepackedWeights.Restore(previous);
            _inferring = false;
            Volatile.Write(ref _running, 0);
        }
    }

    private PrepackedWeights? _prepacked;

    /// <summary>
    /// With <paramref name="prepack"/> true, keeps a packed copy of every Linear weight whose product runs on the packed
    /// matrix multiply (more than 16 outputs, on a CPU with AVX2 or AVX-512), and <see cref="Infer"/> of 8 samples or
    /// more (24 without AVX-512) reads it instead of packing the weight on every call or reading it in place, as ONNX
    /// Runtime prepacks a session's constant weights.
    /// The copies take as much memory again as those weights. With false, drops them. Returns the network.
    /// </summary>
    /// <remarks>
    /// The copies are packed again at the next Infer whenever the parameters may have changed through the library: an
    /// optimizer step, a state_dict or weights load, and every get of <see cref="Parameter.Data"/>,
    /// <see cref="Parameter.DataMemory"/> or <see cref="ParameterArena"/> count, since those views can be written. A
    /// view taken before an Infer and written after it is not seen: take it again (or call this again) after writing.
    /// Infer's output then differs from <see cref="Forward"/>'s only for batches under
    /// <c>Kernels.StreamedRows</c> (about in_features / 8 rows; there Forward reads the weight in place, and the packed
    /// product sums in another order: within float rounding); from there up it is the same bit for bit.
    /// </remarks>
    public Network PrepackWeights(bool prepack = true)
    {
        Enter();
        try
        {
            if (!prepack) _prepacked = null;
            else if (_prepacked is null) _prepacked = new PrepackedWeights(this);
            else _prepacked.MarkStale(); // packed again at the next Infer, for writes the library could not see
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
        return this;
    }

    /// <summary>Whether <see cref="PrepackWeights"/> is on.</summary>
    public bool WeightsPrepacked => _prepacked is not null;

    /// <summary>
    /// True while <see cref="Infer"/> runs: the generated forward may then fold a Conv2d and the BatchNorm2d after it (in
    /// eval mode) into one convolution, as nothing is kept for Backward.
    /// </summary>
    protected bool Inferring => _inferring;

    /// <summary>The generated forward pass: validates with BeginForward, runs the layers, ends with EndForward.</summary>
    protected abstract void ForwardCore(ReadOnlySpan<float> input, Span<float> output);

    /// <summary>Accumulates into every parameter's gradient the gradients of the last Forward, given the gradient of its output.</summary>
    public void Backward(ReadOnlySpan<float> outputGrad) => Backward(outputGrad, default, wantInputGrad: false);

    /// <summary>As <see cref="Backward(ReadOnlySpan{float})"/>, and also writes the gradient with respect to the input.</summary>
    public void Backward(ReadOnlySpan<float> outputGrad, Span<float> inputGrad) => Backward(outputGrad, inputGrad, wantInputGrad: true);

    private void Backward(ReadOnlySpan<float> outputGrad, Span<float> inputGrad, bool wantInputGrad)
    {
        Enter();
        try
        {
            CheckBackward(outputGrad.Length);
            int expected = _lastBatch * SampleInputSize;
            if (wantInputGrad && inputGrad.Length != expected)
            {
                throw new ArgumentException(
                    $"inputGrad must hold {expected} floats ({_lastBatch} samples of {SampleInputSize}), but it holds {inputGrad.Length}.", nameof(inputGrad));
            }
            BackwardCore(_lastBatch, outputGrad, inputGrad);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>1 while a Forward or Backward runs: a second one at the same time (from another thread) is refused.</summary>
    private int _running;

    private void Enter()
    {
        if (Interlocked.Exchange(ref _running, 1) != 0)
        {
            // The other call keeps running; leave its flag set.
            throw new InvalidOperationException(
                $"{GetType().Name} is already running Forward or Backward (on another thread): a network holds the activations of one batch at a time. " +
                "Use one network per thread, each with the same weights: replica.LoadStateDict(net.StateDict()).");
        }
    }

    /// <summary>Sets every gradient to zero in one pass over the gradient arena.</summary>
    public override void ZeroGrad() => InPlaceUpdate.Clear(GradientArena);

    /// <summary>Re-initialises every layer's parameters from <see cref="Generator"/>, as PyTorch's default initialisation.</summary>
    public void ResetParameters()
    {
        foreach (Module module in Modules())
        {
            if (module != this) module.ResetParameters(Generator);
        }
    }

    /// <summary>The generated backward pass; arguments are already validated. An empty inputGrad means it is not wanted.</summary>
    protected abstract void BackwardCore(int batch, ReadOnlySpan<float> outputGrad, Span<float> inputGrad);

    /// <summary>Registers a layer under its state_dict name; called by the generated constructor.</summary>
    protected void AddLayer(string name, Module layer) => _layers.Add((name, layer));

    /// <summary>Creates a parameter at <paramref name="offset"/> in the arenas; called by the generated constructor.</summary>
    protected Parameter CreateParameter(int offset, params int[] shape) => new(_parameters, _parameterStart, _gradients, _gradientStart, _parameterBase + offset, shape);

    /// <summary>Creates an F32 buffer at <paramref name="offset"/> in the buffer arena; called by the generated constructor.</summary>
    protected ModuleBuffer CreateBuffer(int offset, params int[] shape)
    {
        if (offset < 0 || offset > _bufferCount) throw new ArgumentOutOfRangeException(nameof(offset), offset, $"The buffer arena holds {_bufferCount} floats.");
        return new ModuleBuffer(_buffers, _bufferBase + offset, shape);
    }

    /// <summary>Creates an I64 buffer (a counter) of its own; called by the generated constructor.</summary>
    protected static ModuleBuffer CreateInt64Buffer(params int[] shape) => new(shape);

    /// <summary>Validates Forward's spans and returns the batch size; called first by the generated Forward, which ends with <see cref="EndForward"/>.</summary>
    protected int BeginForward(int inputLength, int outputLength)
    {
        CheckStandalone();
        _lastBatch = 0;
        _lastWasInference = false;
        if (inputLength == 0)
        {
            throw new ArgumentException($"input is empty: expected a multiple of the input size {SampleInputSize}, from 1 to {MaxBatch} samples.", "input");
        }
        if (inputLength % SampleInputSize != 0)
        {
            throw new ArgumentException(
                $"input holds {inputLength} floats, which is not a multiple of the input size {SampleInputSize}.", "input");
        }
        int batch = inputLength / SampleInputSize;
        if (batch > MaxBatch)
        {
            throw new ArgumentException(
                $"input holds a batch of {batch} samples, but this network was created for at most {MaxBatch}.", "input");
        }
        if (outputLength != batch * SampleOutputSize)
        {
            throw new ArgumentException(
                $"output must hold {batch * SampleOutputSize} floats ({batch} samples of {SampleOutputSize}), but it holds {outputLength}.", "output");
        }
        return batch;
    }

    /// <summary>
    /// Forward's last step: records the batch that Backward works on. Until then (and after a Forward that threw) there
    /// are no saved activations for Backward.
    /// </summary>
    protected void EndForward(int batch)
    {
        _lastWasInference = _inferring;
        _lastBatch = _inferring ? 0 : batch;
    }

    private void CheckStandalone()
    {
        if (Owner is not null)
        {
            throw new InvalidOperationException(
                $"This {GetType().Name} is a block inside {Owner.GetType().Name}, which runs its layers: call {Owner.GetType().Name}'s Forward and Backward.");
        }
    }

    private void CheckBackward(int outputGradLength)
    {
        CheckStandalone();
        if (_lastBatch == 0)
        {
            throw new InvalidOperationException(_lastWasInference
                ? "Backward needs a preceding Forward: the last pass was Infer, which keeps nothing for Backward (as under torch.inference_mode()). Call Forward instead."
                : "Backward needs a preceding Forward: there are no saved activations.");
        }
        int expected = _lastBatch * SampleOutputSize;
        if (outputGradLength != expected)
        {
            throw new ArgumentException(
                $"outputGrad must hold {expected} floats ({_lastBatch} samples of {SampleOutputSize}, as the last Forward), but it holds {outputGradLength}.", "outputGrad");
        }
    }
}
