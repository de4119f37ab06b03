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
    // How many steps each parameter has had (torch's per-parameter state['step']): a frozen parameter has none, so one
    // unfrozen later starts its own count (Adam's bias corrections, SGD's first momentum step) as PyTorch's does.
    private readonly int[] _steps;
    private Stretch[] _stretches;
    private int _freezeVersion;
    private bool _stepsChanged;
    private float _learningRate;

    /// <summary>
    /// A run of parameters contiguous in one arena with the same step count (parameters First .. First + Count - 1 of the
    /// list), and where its state starts.
    /// </summary>
    private readonly record struct Stretch(float[] Data, float[] Grad, int DataIndex, int GradIndex, int Length, int StateOffset, int First, int Count);

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
        _steps = new int[_parameters.Length];
        _freezeVersion = Volatile.Read(ref Parameter.FreezeVersion);
        (_stretches, StateLength) = Stretches(_parameters, _steps);
    }

    /// <summary>
    /// The runs of trainable parameters, merged where they sit next to each other and have had as many steps, and the
    /// total state length (over all).
    /// </summary>
    private static (Stretch[] Stretches, int StateLength) Stretches(Parameter[] parameters, int[] steps)
    {
        var stretches = new List<Stretch>();
        int state = 0;
        for (int i = 0; i < parameters.Length; i++)
        {
            Parameter p = parameters[i];
            if (p.RequiresGrad)
            {
                Stretch last = stretches.Count > 0 ? stretches[^1] : default;
                if (stretches.Count > 0 && last.Data == p.DataArena && last.Grad == p.GradArena && last.DataIndex + last.Length == p.DataIndex
                    && last.GradIndex + last.Length == p.GradIndex && last.StateOffset + last.Length == state
                    && last.First + last.Count == i && steps[last.First] == steps[i])
                {
                    stretches[^1] = last with { Length = last.Length + p.Numel, Count = last.Count + 1 };
                }
                else
                {
                    stretches.Add(new Stretch(p.DataArena, p.GradArena, p.DataIndex, p.GradIndex, p.Numel, state, i, 1));
                }
            }
            state += p.Numel;
        }
        return (stretches.ToArray(), state);
    }

    /// <summary>
    /// Rebuilds the stretches when some parameter was frozen or unfrozen since they were built, or a checkpoint set the
    /// step counts (rare, allocating events).
    /// </summary>
    private Stretch[] CurrentStretches()
    {
        int version = Volatile.Read(ref Parameter.FreezeVersion);
        if (version != _freezeVersion || _stepsChanged)
        {
            _stretches = Stretches(_parameters, _steps).Stretches;
            _freezeVersion = version;
            _stepsChanged = false;
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

    /// <summary>
    /// How many steps <paramref name="parameter"/> has had (torch's <c>optimizer.state[p]['step']</c>): the steps taken
    /// while it was trainable. Adam's bias corrections and SGD's first momentum step follow it, so a parameter unfrozen
    /// after training began starts as PyTorch's would.
    /// </summary>
    public int StepCountOf(Parameter parameter)
    {
        int index = Array.IndexOf(_parameters, parameter);
        if (index < 0) throw new ArgumentException("The parameter is not one this optimizer updates.", nameof(parameter));
        return _steps[index];
    }

    /// <summary>Every parameter's step count, in the order of <see cref="Parameters"/> (checkpoints save and restore them).</summary>
    internal int[] ParameterSteps => _steps;

    /// <summary>Sets every parameter's step count (a checkpoint being restored).</summary>
    internal void SetParameterSteps(ReadOnlySpan<int> steps)
    {
        steps.CopyTo(_steps);
        _stepsChanged = true;
    }

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
        Parameter.ValuesMayChange();
        StepCount++;
        int begun = 0;
        foreach (Stretch s in CurrentStretches())
        {
            // A stretch's parameters have had the same number of steps; usually every stretch has.
            int step = _steps[s.First] + 1;
            if (step != begun) BeginStep(step);
            begun = step;
            Update(s.Data.AsSpan(s.DataIndex, s.Length), s.Grad.AsSpan(s.GradIndex, s.Length), s.StateOffset);
            for (int i = s.First; i < s.First + s.Count; i++) _steps[i] = step;
        }
    }

    /// <summary>
    /// Called before updating parameters that are taking their <paramref name="step"/>-th step (1-based; for bias
    /// corrections): once per Step, or once per group of parameters with the same count when freezing made them differ.
    /// </summary>
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
