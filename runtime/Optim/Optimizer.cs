using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using StaticNet.Simd;

namespace StaticNet;

/// <summary>
/// The base of every optimizer (torch.optim.Optimizer): a list of parameters, ZeroGrad and Step. Parameters that sit
/// next to each other in one arena (as all of a generated network's do) are stepped as one contiguous stretch,
/// in fused SIMD passes that allocate nothing. State buffers (moments, momentum) are laid out like the parameters.
/// </summary>
public abstract class Optimizer
{
    private readonly Parameter[] _parameters;
    private Stretch[] _stretches;
    private int _freezeVersion;
    private float _learningRate;

    /// <summary>A run of parameters contiguous in one arena, and where its state starts.</summary>
    private readonly record struct Stretch(float[] Data, float[] Grad, int DataIndex, int GradIndex, int Length, int StateOffset);

    /// <summary>Takes the parameters to optimize (for example <c>net.Parameters()</c>) and the learning rate.</summary>
    protected Optimizer(IEnumerable<Parameter> parameters, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters.ToArray();
        if (_parameters.Length == 0)
        {
            throw new ArgumentException("The optimizer got an empty parameter list: pass the parameters to optimize, such as net.Parameters().", nameof(parameters));
        }
        if (_parameters.Distinct().Count() != _parameters.Length)
        {
            throw new ArgumentException("The optimizer got the same parameter more than once.", nameof(parameters));
        }
        LearningRate = learningRate;
        _freezeVersion = Volatile.Read(ref Parameter.FreezeVersion);
        (_stretches, StateLength) = Stretches(_parameters);
    }

    /// <summary>The runs of trainable parameters, merged where they sit next to each other, and the total state length (over all).</summary>
    private static (Stretch[] Stretches, int StateLength) Stretches(Parameter[] parameters)
    {
        var stretches = new List<Stretch>();
        int state = 0;
        foreach (Parameter p in parameters)
        {
            if (p.RequiresGrad)
            {
                Stretch last = stretches.Count > 0 ? stretches[^1] : default;
                if (stretches.Count > 0 && last.Data == p.DataArena && last.Grad == p.GradArena && last.DataIndex + last.Length == p.DataIndex
                    && last.GradIndex + last.Length == p.GradIndex && last.StateOffset + last.Length == state)
                {
                    stretches[^1] = last with { Length = last.Length + p.Numel };
                }
                else
                {
                    stretches.Add(new Stretch(p.DataArena, p.GradArena, p.DataIndex, p.GradIndex, p.Numel, state));
                }
            }
            state += p.Numel;
        }
        return (stretches.ToArray(), state);
    }

    /// <summary>Rebuilds the stretches when some parameter was frozen or unfrozen since they were built (a rare, allocating event).</summary>
    private Stretch[] CurrentStretches()
    {
        int version = Volatile.Read(ref Parameter.FreezeVersion);
        if (version != _freezeVersion)
        {
            _stretches = Stretches(_parameters).Stretches;
            _freezeVersion = version;
        }
        return _stretches;
    }

    /// <summary>The parameters this optimizer updates.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>The learning rate (a parameter group's 'lr'); schedulers change it between epochs.</summary>
    public float LearningRate
    {
        get => _learningRate;
        set
        {
            if (!(value >= 0) || !float.IsFinite(value))
            {
                // Named 'lr', as the constructors' parameter and PyTorch's parameter group key, not the setter's 'value'.
                throw new ArgumentOutOfRangeException("lr", value, $"The learning rate lr must be finite and not negative, but it is {value}.");
            }
            _learningRate = value;
        }
    }

    /// <summary>How many times Step has run.</summary>
    public int StepCount { get; internal set; }

    /// <summary>The state buffers (momentum, moments), each laid out like the parameters, by the names torch uses in its state dict.</summary>
    protected internal virtual IReadOnlyList<(string Name, float[] Buffer)> StateBuffers() => [];

    /// <summary>
    /// The hyperparameters other than the learning rate (torch's param_groups entries), by torch's names, as text that
    /// round-trips: a checkpoint records them and refuses to load into an optimizer built with other ones.
    /// </summary>
    protected internal virtual IReadOnlyList<(string Name, string Value)> Settings() => [];

    /// <summary>A setting's text: floats as round-trip invariant text, bools as True/False.</summary>
    protected static string Setting(float value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    /// <inheritdoc cref="Setting(float)"/>
    protected static string Setting(bool value) => value ? "True" : "False";

    /// <summary>Total floats over all parameters: the length of each state buffer.</summary>
    protected int StateLength { get; }

    /// <summary>Sets every trainable parameter's gradient to zero (optimizer.zero_grad()); a frozen one's is left as it is.</summary>
    public void ZeroGrad()
    {
        foreach (Stretch s in CurrentStretches()) InPlaceUpdate.Clear(s.Grad.AsSpan(s.GradIndex, s.Length));
    }

    /// <summary>Updates every trainable parameter from its gradient (optimizer.step()); frozen ones and their state are left alone.</summary>
    public void Step()
    {
        StepCount++;
        BeginStep(StepCount);
        foreach (Stretch s in CurrentStretches())
        {
            Update(s.Data.AsSpan(s.DataIndex, s.Length), s.Grad.AsSpan(s.GradIndex, s.Length), s.StateOffset);
        }
    }

    /// <summary>Called once per Step before the updates, with the 1-based step number (for bias corrections).</summary>
    protected virtual void BeginStep(int step)
    {
    }

    /// <summary>Updates one contiguous stretch; its state lives at <paramref name="stateOffset"/> in each state buffer.</summary>
    protected abstract void Update(Span<float> parameters, Span<float> grads, int stateOffset);

    /// <summary>Throws unless <paramref name="value"/> lies in [min, max) (or [min, max] when <paramref name="maxInclusive"/>).</summary>
    protected static float CheckRange(float value, string name, float min, float max, bool maxInclusive = false)
    {
        bool ok = value >= min && (maxInclusive ? value <= max : value < max) && float.IsFinite(value);
        if (!ok)
        {
            string range = maxInclusive ? $"[{min}, {max}]" : $"[{min}, {max})";
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in {range}, but it is {value}.");
        }
        return value;
    }
}
