using System;
using System.Collections.Generic;
using System.Globalization;

namespace StaticNet;

/// <summary>
/// The common part of <see cref="BatchNorm1d"/> and <see cref="BatchNorm2d"/> (torch's _BatchNorm): per-channel weight
/// and bias (when affine) and running statistics (when tracked). Created by generated code over the network's arenas.
/// </summary>
public abstract class BatchNorm : Module
{
    private readonly List<(string, Parameter)> _parameters = [];
    private readonly List<(string, ModuleBuffer)> _buffers = [];

    private protected BatchNorm(int numFeatures, float eps, float? momentum, Parameter? weight, Parameter? bias,
        ModuleBuffer? runningMean, ModuleBuffer? runningVar, ModuleBuffer? numBatchesTracked)
    {
        if (numFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(numFeatures), numFeatures, "num_features must be positive.");
        if (!(eps > 0) || float.IsInfinity(eps)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be positive and finite.");
        if (momentum is float m && !(m >= 0 && m <= 1)) throw new ArgumentOutOfRangeException(nameof(momentum), m, "momentum must be from 0 to 1, or null.");
        if ((weight is null) != (bias is null)) throw new ArgumentException("weight and bias come together (affine) or not at all.", nameof(bias));
        if ((runningMean is null) != (runningVar is null) || (runningMean is null) != (numBatchesTracked is null))
        {
            throw new ArgumentException("running_mean, running_var and num_batches_tracked come together (track_running_stats) or not at all.", nameof(runningMean));
        }
        Check(weight, numFeatures, nameof(weight));
        Check(bias, numFeatures, nameof(bias));
        Check(runningMean, numFeatures, nameof(runningMean));
        Check(runningVar, numFeatures, nameof(runningVar));
        if (numBatchesTracked is not null && (numBatchesTracked.DType != TensorDType.I64 || numBatchesTracked.Shape.Count != 0))
        {
            throw new ArgumentException($"num_batches_tracked must be an I64 scalar, but it is {numBatchesTracked}.", nameof(numBatchesTracked));
        }
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Weight = weight;
        Bias = bias;
        RunningMean = runningMean;
        RunningVar = runningVar;
        NumBatchesTracked = numBatchesTracked;
        if (weight is not null) _parameters.AddRange([("weight", weight), ("bias", bias!)]);
        if (runningMean is not null) _buffers.AddRange([("running_mean", runningMean), ("running_var", runningVar!), ("num_batches_tracked", numBatchesTracked!)]);
    }

    /// <summary>num_features: the channel count C.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance before its square root.</summary>
    public float Eps { get; }

    /// <summary>How far the running statistics move toward each batch's; null for a cumulative moving average.</summary>
    public float? Momentum { get; }

    /// <summary>Whether it has a learnable weight and bias.</summary>
    public bool Affine => Weight is not null;

    /// <summary>Whether it keeps running statistics (and uses them in eval mode).</summary>
    public bool TrackRunningStats => RunningMean is not null;

    /// <summary>The per-channel scale (gamma), or null when not affine.</summary>
    public Parameter? Weight { get; }

    /// <summary>The per-channel shift (beta), or null when not affine.</summary>
    public Parameter? Bias { get; }

    /// <summary>running_mean, or null when statistics are not tracked.</summary>
    public ModuleBuffer? RunningMean { get; }

    /// <summary>running_var (of the unbiased batch variances), or null when statistics are not tracked.</summary>
    public ModuleBuffer? RunningVar { get; }

    /// <summary>num_batches_tracked (I64 scalar), or null when statistics are not tracked.</summary>
    public ModuleBuffer? NumBatchesTracked { get; }

    /// <summary>Whether Forward normalises with the batch's statistics: in training mode, or always without running statistics.</summary>
    public bool UsesBatchStatistics => Training || !TrackRunningStats;

    /// <inheritdoc/>
    protected override IReadOnlyList<(string Name, Parameter Parameter)> LocalParameters() => _parameters;

    /// <inheritdoc/>
    protected override IReadOnlyList<(string Name, ModuleBuffer Buffer)> LocalBuffers() => _buffers;

    /// <summary>PyTorch's reset_parameters: running statistics reset, weight ones, bias zeros.</summary>
    public override void ResetParameters(RandomGenerator generator)
    {
        ResetRunningStats();
        if (Weight is not null) Init.Ones(Weight);
        if (Bias is not null) Init.Zeros(Bias);
    }

    /// <summary>running_mean zeros, running_var ones, num_batches_tracked 0 (torch's reset_running_stats()).</summary>
    public void ResetRunningStats()
    {
        RunningMean?.Data.Clear();
        RunningVar?.Data.Fill(1f);
        NumBatchesTracked?.Int64Data.Clear();
    }

    /// <summary>
    /// Throws as PyTorch does when batch statistics would come from one value per channel. Called by generated Forward,
    /// before any layer runs, with the batch and the values per channel per sample.
    /// </summary>
    public void CheckBatch(int batch, int valuesPerSample)
    {
        if (UsesBatchStatistics && (long)batch * valuesPerSample <= 1)
        {
            throw new ArgumentException(
                $"{GetType().Name} expects more than 1 value per channel when training, but the batch of {batch} sample(s) has {(long)batch * valuesPerSample} per channel.", "input");
        }
    }

    /// <summary>
    /// Counts a training batch in num_batches_tracked and returns how far the running statistics move toward it: the
    /// momentum, or 1 / num_batches_tracked for a cumulative moving average. Called by generated Forward.
    /// </summary>
    public float CountBatch()
    {
        if (NumBatchesTracked is null) return 0f;
        long count = ++NumBatchesTracked.Int64Data[0];
        return Momentum ?? (float)(1.0 / count);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{NumFeatures}, eps={PythonRepr.Float(Eps)}, momentum={(Momentum is float m ? PythonRepr.Float(m) : "None")}, " +
        $"affine={PythonRepr.Bool(Affine)}, track_running_stats={PythonRepr.Bool(TrackRunningStats)}";

    private static void Check(StateTensor? tensor, int numFeatures, string name)
    {
        if (tensor is not null && (tensor.Shape.Count != 1 || tensor.Shape[0] != numFeatures || tensor.DType != TensorDType.F32))
        {
            throw new ArgumentException($"{name} must be F32 of shape [{numFeatures}], but it is {tensor}.", name);
        }
    }
}

/// <summary>The module of a [BatchNorm1d] layer (torch.nn.BatchNorm1d), over [C] or [C, L] per sample.</summary>
public sealed class BatchNorm1d(int numFeatures, float eps, float? momentum, Parameter? weight, Parameter? bias,
    ModuleBuffer? runningMean, ModuleBuffer? runningVar, ModuleBuffer? numBatchesTracked)
    : BatchNorm(numFeatures, eps, momentum, weight, bias, runningMean, runningVar, numBatchesTracked);

/// <summary>The module of a [BatchNorm2d] layer (torch.nn.BatchNorm2d), over [C, H, W] per sample.</summary>
public sealed class BatchNorm2d(int numFeatures, float eps, float? momentum, Parameter? weight, Parameter? bias,
    ModuleBuffer? runningMean, ModuleBuffer? runningVar, ModuleBuffer? numBatchesTracked)
    : BatchNorm(numFeatures, eps, momentum, weight, bias, runningMean, runningVar, numBatchesTracked);

/// <summary>The module of a [LayerNorm] layer (torch.nn.LayerNorm): normalises over the trailing normalized_shape.</summary>
public sealed class LayerNorm : Module
{
    private readonly int[] _normalizedShape;
    private readonly List<(string, Parameter)> _parameters = [];

    /// <summary>Created by generated code over the network's arenas.</summary>
    public LayerNorm(int[] normalizedShape, float eps, Parameter? weight, Parameter? bias)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0) throw new ArgumentException("normalized_shape must name at least one dimension.", nameof(normalizedShape));
        if (!(eps > 0) || float.IsInfinity(eps)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be positive and finite.");
        if (weight is null && bias is not null) throw new ArgumentException("A bias needs a weight (elementwise_affine).", nameof(bias));
        _normalizedShape = (int[])normalizedShape.Clone();
        foreach (Parameter? p in new[] { weight, bias })
        {
            if (p is not null && !System.Linq.Enumerable.SequenceEqual(p.Shape, _normalizedShape))
            {
                throw new ArgumentException($"LayerNorm parameters must have shape [{string.Join(", ", _normalizedShape)}], but one is {p}.", nameof(weight));
            }
        }
        Eps = eps;
        Weight = weight;
        Bias = bias;
        if (weight is not null) _parameters.Add(("weight", weight));
        if (bias is not null) _parameters.Add(("bias", bias));
    }

    /// <summary>normalized_shape: the trailing dimensions normalised together.</summary>
    public IReadOnlyList<int> NormalizedShape => _normalizedShape;

    /// <summary>Added to the variance before its square root.</summary>
    public float Eps { get; }

    /// <summary>Whether it has a learnable weight (elementwise_affine).</summary>
    public bool ElementwiseAffine => Weight is not null;

    /// <summary>The elementwise scale, or null.</summary>
    public Parameter? Weight { get; }

    /// <summary>The elementwise shift, or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    protected override IReadOnlyList<(string Name, Parameter Parameter)> LocalParameters() => _parameters;

    /// <summary>PyTorch's reset_parameters: weight ones, bias zeros.</summary>
    public override void ResetParameters(RandomGenerator generator)
    {
        if (Weight is not null) Init.Ones(Weight);
        if (Bias is not null) Init.Zeros(Bias);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"({string.Join(", ", _normalizedShape)}{(_normalizedShape.Length == 1 ? "," : "")}), eps={PythonRepr.Float(Eps)}, elementwise_affine={PythonRepr.Bool(ElementwiseAffine)}";
}

/// <summary>Values as Python's repr writes them, for module representations that read like PyTorch's.</summary>
internal static class PythonRepr
{
    /// <summary>0.1, 1e-05, 1.0.</summary>
    public static string Float(float value)
    {
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        int e = text.IndexOf('E');
        if (e >= 0) return text.Substring(0, e) + "e" + text.Substring(e + 1);
        return text.Contains('.') || text.Contains("Infinity") || text == "NaN" ? text : text + ".0";
    }

    public static string Bool(bool value) => value ? "True" : "False";
}
