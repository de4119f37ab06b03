using System;
using System.Runtime.CompilerServices;
using System.Collections.Generic;
using StaticNet.Simd;

namespace StaticNet;

/// <summary>
/// Stochastic gradient descent with momentum, dampening, weight decay and Nesterov momentum, updating exactly as
/// torch.optim.SGD does: d = g + wd p; b = d on the first step, else momentum b + (1 - dampening) d;
/// d = d + momentum b (Nesterov) or b; p = p - lr d.
/// </summary>
public sealed class SGD : Optimizer
{
    private readonly float[] _momentumBuffer;
    private bool _hasBuffer;

    /// <summary>Creates the optimizer; the arguments and their defaults are torch.optim.SGD's.</summary>
    public SGD(IEnumerable<Parameter> parameters, float lr, float momentum = 0, float dampening = 0, float weightDecay = 0, bool nesterov = false)
        : base(parameters, lr)
    {
        Momentum = CheckRange(momentum, nameof(momentum), 0, float.MaxValue);
        Dampening = CheckRange(dampening, nameof(dampening), 0, 1, maxInclusive: true);
        WeightDecay = CheckRange(weightDecay, nameof(weightDecay), 0, float.MaxValue);
        if (nesterov && (momentum <= 0 || dampening != 0))
        {
            throw new ArgumentException($"Nesterov momentum requires a momentum above 0 and zero dampening, but momentum is {momentum} and dampening {dampening}.");
        }
        Nesterov = nesterov;
        _momentumBuffer = momentum != 0 ? new float[StateLength] : [];
    }

    /// <summary>momentum.</summary>
    public float Momentum { get; }

    /// <summary>dampening.</summary>
    public float Dampening { get; }

    /// <summary>weight_decay (L2 penalty).</summary>
    public float WeightDecay { get; }

    /// <summary>nesterov.</summary>
    public bool Nesterov { get; }

    /// <summary>The momentum buffer, laid out like the parameters (empty without momentum).</summary>
    public ReadOnlySpan<float> MomentumBuffer => _momentumBuffer;

    /// <inheritdoc/>
    protected override void BeginStep(int step) => _hasBuffer = step > 1;

    /// <inheritdoc/>
    protected internal override IReadOnlyList<(string Name, float[] Buffer)> StateBuffers() => [("momentum_buffer", _momentumBuffer)];

    /// <inheritdoc/>
    protected internal override IReadOnlyList<(string Name, string Value)> Settings() =>
        [("momentum", Setting(Momentum)), ("dampening", Setting(Dampening)), ("weight_decay", Setting(WeightDecay)), ("nesterov", Setting(Nesterov))];

    /// <inheritdoc/>
    protected override void Update(Span<float> parameters, Span<float> grads, int stateOffset)
    {
        Span<float> buffer = Momentum != 0 ? _momentumBuffer.AsSpan(stateOffset, parameters.Length) : default;
        InPlaceUpdate.Run(parameters, grads, buffer, default, default,
            new SgdOperator(LearningRate, Momentum, 1 - Dampening, WeightDecay, Nesterov, _hasBuffer));
    }

    private readonly struct SgdOperator(float lr, float momentum, float oneMinusDampening, float weightDecay, bool nesterov, bool hasBuffer)
        : IUpdateOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TV>(ref float parameter, ref float grad, ref float buffer, ref float unused2, ref float unused3) where TV : struct, IVector<TV>
        {
            TV p = TV.Load(ref parameter);
            TV d = TV.Load(ref grad);
            if (weightDecay != 0) d = TV.MultiplyAdd(p, TV.Create(weightDecay), d);
            if (momentum != 0)
            {
                TV b = hasBuffer ? TV.MultiplyAdd(d, TV.Create(oneMinusDampening), TV.Multiply(TV.Load(ref buffer), TV.Create(momentum))) : d;
                TV.Store(b, ref buffer);
                d = nesterov ? TV.MultiplyAdd(b, TV.Create(momentum), d) : b;
            }
            TV.Store(TV.MultiplyAdd(d, TV.Create(-lr), p), ref parameter);
        }
    }
}
