using System;

namespace StaticNet;

/// <summary>
/// The base of learning-rate schedules (torch.optim.lr_scheduler): call <see cref="Step"/> once per epoch, after the
/// optimizer's steps; the optimizer's learning rate becomes the schedule's value for the new epoch.
/// </summary>
public abstract class LRScheduler
{
    /// <summary>Remembers the optimizer's current learning rate as the base rate (base_lrs).</summary>
    protected LRScheduler(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        BaseLearningRate = optimizer.LearningRate;
    }

    /// <summary>The optimizer whose learning rate this schedule sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The learning rate at epoch 0.</summary>
    public float BaseLearningRate { get; }

    /// <summary>The number of Step calls so far (last_epoch).</summary>
    public int Epoch { get; internal set; }

    /// <summary>Advances one epoch and sets the optimizer's learning rate.</summary>
    public void Step()
    {
        Epoch++;
        Optimizer.LearningRate = LearningRateAt(Epoch);
    }

    /// <summary>The learning rate for <paramref name="epoch"/>, in closed form.</summary>
    public abstract float LearningRateAt(int epoch);
}

/// <summary>torch.optim.lr_scheduler.StepLR: the base rate times gamma^(epoch / stepSize), rounded down.</summary>
public sealed class StepLR : LRScheduler
{
    /// <summary>Decays by <paramref name="gamma"/> every <paramref name="stepSize"/> epochs.</summary>
    public StepLR(Optimizer optimizer, int stepSize, float gamma = 0.1f) : base(optimizer)
    {
        if (stepSize <= 0) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "step_size must be at least 1.");
        if (!(gamma >= 0) || !float.IsFinite(gamma)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "gamma must be finite and not negative.");
        StepSize = stepSize;
        Gamma = gamma;
    }

    /// <summary>step_size.</summary>
    public int StepSize { get; }

    /// <summary>gamma.</summary>
    public float Gamma { get; }

    /// <inheritdoc/>
    public override float LearningRateAt(int epoch) => (float)(BaseLearningRate * Math.Pow(Gamma, epoch / StepSize));
}

/// <summary>torch.optim.lr_scheduler.CosineAnnealingLR: eta_min + (base - eta_min) (1 + cos(pi epoch / T_max)) / 2.</summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Anneals from the base rate to <paramref name="etaMin"/> over <paramref name="tMax"/> epochs.</summary>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, float etaMin = 0) : base(optimizer)
    {
        if (tMax <= 0) throw new ArgumentOutOfRangeException(nameof(tMax), tMax, "T_max must be at least 1.");
        if (!(etaMin >= 0) || !float.IsFinite(etaMin)) throw new ArgumentOutOfRangeException(nameof(etaMin), etaMin, "eta_min must be finite and not negative.");
        TMax = tMax;
        EtaMin = etaMin;
    }

    /// <summary>T_max.</summary>
    public int TMax { get; }

    /// <summary>eta_min.</summary>
    public float EtaMin { get; }

    /// <inheritdoc/>
    public override float LearningRateAt(int epoch) =>
        (float)(EtaMin + (BaseLearningRate - EtaMin) * (1 + Math.Cos(Math.PI * epoch / TMax)) / 2);
}

/// <summary>torch.optim.lr_scheduler.LambdaLR: the base rate times a factor from a plain callback of the epoch.</summary>
public sealed class LambdaLR(Optimizer optimizer, Func<int, float> lrLambda) : LRScheduler(optimizer)
{
    private readonly Func<int, float> _lrLambda = lrLambda ?? throw new ArgumentNullException(nameof(lrLambda));

    /// <inheritdoc/>
    public override float LearningRateAt(int epoch) => BaseLearningRate * _lrLambda(epoch);
}
