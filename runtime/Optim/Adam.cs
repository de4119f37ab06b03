using System;
using System.Runtime.CompilerServices;
using System.Collections.Generic;
using StaticNet.Simd;

namespace StaticNet;

/// <summary>
/// Adam (torch.optim.Adam), with L2 weight decay added to the gradient and the AMSGrad variant, updating as
/// torch 1.13 does: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
/// </summary>
public class Adam : Optimizer
{
    private readonly float[] _expAvg, _expAvgSq, _maxExpAvgSq;
    private float _stepSize, _biasCorrection2Sqrt;

    /// <summary>Creates the optimizer; the arguments and their defaults are torch.optim.Adam's.</summary>
    public Adam(IEnumerable<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
        float weightDecay = 0, bool amsgrad = false)
        : this(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: false)
    {
    }

    private protected Adam(IEnumerable<Parameter> parameters, float lr, float beta1, float beta2, float eps, float weightDecay, bool amsgrad, bool decoupled)
        : base(parameters, lr)
    {
        Beta1 = CheckRange(beta1, nameof(beta1), 0, 1);
        Beta2 = CheckRange(beta2, nameof(beta2), 0, 1);
        Eps = CheckRange(eps, nameof(eps), 0, float.MaxValue);
        WeightDecay = CheckRange(weightDecay, nameof(weightDecay), 0, float.MaxValue);
        Amsgrad = amsgrad;
        Decoupled = decoupled;
        _expAvg = new float[StateLength];
        _expAvgSq = new float[StateLength];
        _maxExpAvgSq = amsgrad ? new float[StateLength] : [];
    }

    /// <summary>betas[0].</summary>
    public float Beta1 { get; }

    /// <summary>betas[1].</summary>
    public float Beta2 { get; }

    /// <summary>eps.</summary>
    public float Eps { get; }

    /// <summary>weight_decay.</summary>
    public float WeightDecay { get; }

    /// <summary>amsgrad.</summary>
    public bool Amsgrad { get; }

    /// <summary>True for AdamW: weight decay shrinks the parameter directly instead of adding to the gradient.</summary>
    protected bool Decoupled { get; }

    /// <inheritdoc/>
    protected internal override IReadOnlyList<(string Name, string Value)> Settings() =>
        [("beta1", Setting(Beta1)), ("beta2", Setting(Beta2)), ("eps", Setting(Eps)), ("weight_decay", Setting(WeightDecay)), ("amsgrad", Setting(Amsgrad))];

    /// <summary>The first moment (exp_avg), laid out like the parameters.</summary>
    public ReadOnlySpan<float> ExpAvg => _expAvg;

    /// <summary>The second moment (exp_avg_sq), laid out like the parameters.</summary>
    public ReadOnlySpan<float> ExpAvgSq => _expAvgSq;

    /// <inheritdoc/>
    protected override void BeginStep(int step)
    {
        // As torch: the corrections in double, then used as float scalars.
        double biasCorrection1 = 1 - Math.Pow(Beta1, step);
        double biasCorrection2 = 1 - Math.Pow(Beta2, step);
        _stepSize = (float)(LearningRate / biasCorrection1);
        _biasCorrection2Sqrt = (float)Math.Sqrt(biasCorrection2);
    }

    /// <inheritdoc/>
    protected internal override IReadOnlyList<(string Name, float[] Buffer)> StateBuffers() =>
        [("exp_avg", _expAvg), ("exp_avg_sq", _expAvgSq), ("max_exp_avg_sq", _maxExpAvgSq)];

    /// <inheritdoc/>
    protected override void Update(Span<float> parameters, Span<float> grads, int stateOffset)
    {
        int n = parameters.Length;
        Span<float> max = Amsgrad ? _maxExpAvgSq.AsSpan(stateOffset, n) : default;
        float decay = Decoupled ? 1 - LearningRate * WeightDecay : 1;
        InPlaceUpdate.Run(parameters, grads, _expAvg.AsSpan(stateOffset, n), _expAvgSq.AsSpan(stateOffset, n), max,
            new AdamOperator(Beta1, Beta2, Eps, Decoupled ? 0 : WeightDecay, decay, _stepSize, _biasCorrection2Sqrt, Amsgrad));
    }

    private readonly struct AdamOperator(float beta1, float beta2, float eps, float weightDecay, float decay, float stepSize, float biasCorrection2Sqrt, bool amsgrad)
        : IUpdateOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TV>(ref float parameter, ref float grad, ref float expAvg, ref float expAvgSq, ref float maxExpAvgSq) where TV : struct, IVector<TV>
        {
            TV p = TV.Load(ref parameter);
            if (decay != 1) p = TV.Multiply(p, TV.Create(decay));
            TV g = TV.Load(ref grad);
            if (weightDecay != 0) g = TV.MultiplyAdd(p, TV.Create(weightDecay), g);
            TV m = TV.MultiplyAdd(g, TV.Create(1 - beta1), TV.Multiply(TV.Load(ref expAvg), TV.Create(beta1)));
            TV v = TV.MultiplyAdd(TV.Multiply(g, g), TV.Create(1 - beta2), TV.Multiply(TV.Load(ref expAvgSq), TV.Create(beta2)));
            TV.Store(m, ref expAvg);
            TV.Store(v, ref expAvgSq);
            if (amsgrad)
            {
                v = TV.Max(TV.Load(ref maxExpAvgSq), v);
                TV.Store(v, ref maxExpAvgSq);
            }
            TV denom = TV.Add(TV.Divide(TV.Sqrt(v), TV.Create(biasCorrection2Sqrt)), TV.Create(eps));
            TV.Store(TV.MultiplyAdd(TV.Divide(m, denom), TV.Create(-stepSize), p), ref parameter);
        }
    }
}

/// <summary>
/// AdamW (torch.optim.AdamW): Adam with decoupled weight decay, p = p (1 - lr wd) before the Adam update.
/// The default weight decay is torch's, 0.01.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer; the arguments and their defaults are torch.optim.AdamW's.</summary>
    public AdamW(IEnumerable<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
        float weightDecay = 1e-2f, bool amsgrad = false)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: true)
    {
    }
}
