using System;
using System.Runtime.CompilerServices;
using System.Collections.Generic;
using StaticNet.Simd;

namespace StaticNet;

/// <summary>
/// RMSprop (torch.optim.RMSprop), with weight decay, momentum and the centered variant, updating as torch does:
/// s = alpha s + (1 - alpha) g^2; avg = sqrt(s - gavg^2 if centered) + eps; p = p - lr g / avg (or through momentum).
/// </summary>
public sealed class RMSprop : Optimizer
{
    private readonly float[] _squareAvg, _momentumBuffer, _gradAvg;

    /// <summary>Creates the optimizer; the arguments and their defaults are torch.optim.RMSprop's.</summary>
    public RMSprop(IEnumerable<Parameter> parameters, float lr = 1e-2f, float alpha = 0.99f, float eps = 1e-8f, float weightDecay = 0,
        float momentum = 0, bool centered = false)
        : base(parameters, lr)
    {
        Alpha = CheckRange(alpha, nameof(alpha), 0, 1, maxInclusive: true);
        Eps = CheckRange(eps, nameof(eps), 0, float.MaxValue);
        WeightDecay = CheckRange(weightDecay, nameof(weightDecay), 0, float.MaxValue);
        Momentum = CheckRange(momentum, nameof(momentum), 0, float.MaxValue);
        Centered = centered;
        _squareAvg = new float[StateLength];
        _momentumBuffer = momentum > 0 ? new float[StateLength] : [];
        _gradAvg = centered ? new float[StateLength] : [];
    }

    /// <summary>alpha (smoothing constant).</summary>
    public float Alpha { get; }

    /// <summary>eps.</summary>
    public float Eps { get; }

    /// <summary>weight_decay.</summary>
    public float WeightDecay { get; }

    /// <summary>momentum.</summary>
    public float Momentum { get; }

    /// <summary>centered.</summary>
    public bool Centered { get; }

    /// <inheritdoc/>
    protected internal override IReadOnlyList<(string Name, float[] Buffer)> StateBuffers() =>
        [("square_avg", _squareAvg), ("momentum_buffer", _momentumBuffer), ("grad_avg", _gradAvg)];

    /// <inheritdoc/>
    protected internal override IReadOnlyList<(string Name, string Value)> Settings() =>
        [("alpha", Setting(Alpha)), ("eps", Setting(Eps)), ("weight_decay", Setting(WeightDecay)), ("momentum", Setting(Momentum)), ("centered", Setting(Centered))];

    /// <inheritdoc/>
    protected override void Update(Span<float> parameters, Span<float> grads, int stateOffset)
    {
        int n = parameters.Length;
        InPlaceUpdate.Run(parameters, grads, _squareAvg.AsSpan(stateOffset, n),
            Momentum > 0 ? _momentumBuffer.AsSpan(stateOffset, n) : default,
            Centered ? _gradAvg.AsSpan(stateOffset, n) : default,
            new RmsPropOperator(LearningRate, Alpha, Eps, WeightDecay, Momentum, Centered));
    }

    private readonly struct RmsPropOperator(float lr, float alpha, float eps, float weightDecay, float momentum, bool centered) : IUpdateOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TV>(ref float parameter, ref float grad, ref float squareAvg, ref float buffer, ref float gradAvg) where TV : struct, IVector<TV>
        {
            TV p = TV.Load(ref parameter);
            TV g = TV.Load(ref grad);
            if (weightDecay != 0) g = TV.MultiplyAdd(p, TV.Create(weightDecay), g);
            TV s = TV.MultiplyAdd(TV.Multiply(g, g), TV.Create(1 - alpha), TV.Multiply(TV.Load(ref squareAvg), TV.Create(alpha)));
            TV.Store(s, ref squareAvg);
            TV avg;
            if (centered)
            {
                TV ga = TV.MultiplyAdd(g, TV.Create(1 - alpha), TV.Multiply(TV.Load(ref gradAvg), TV.Create(alpha)));
                TV.Store(ga, ref gradAvg);
                avg = TV.Add(TV.Sqrt(TV.Subtract(s, TV.Multiply(ga, ga))), TV.Create(eps));
            }
            else
            {
                avg = TV.Add(TV.Sqrt(s), TV.Create(eps));
            }
            if (momentum > 0)
            {
                TV b = TV.Add(TV.Multiply(TV.Load(ref buffer), TV.Create(momentum)), TV.Divide(g, avg));
                TV.Store(b, ref buffer);
                TV.Store(TV.MultiplyAdd(b, TV.Create(-lr), p), ref parameter);
            }
            else
            {
                TV.Store(TV.MultiplyAdd(TV.Divide(g, avg), TV.Create(-lr), p), ref parameter);
            }
        }
    }
}
