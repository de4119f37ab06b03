using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StaticNet;

/// <summary>The figures of one training epoch: the mean loss over every term, accuracy (classification) and time.</summary>
public sealed record EpochResult(double Loss, double Accuracy, int Samples, TimeSpan Elapsed)
{
    /// <summary>Training throughput.</summary>
    public double SamplesPerSecond => Samples / Math.Max(Elapsed.TotalSeconds, 1e-9);
}

/// <summary>The figures of one evaluation pass: mean loss (NaN without a loss) and accuracy (NaN for non-int targets).</summary>
public sealed record EvaluationResult(double Loss, double Accuracy, int Samples);

/// <summary>What Trainer.Fit reports after each epoch; LearningRate is the rate the epoch trained with (NaN with a custom updater).</summary>
public sealed record EpochReport(int Epoch, EpochResult Train, EvaluationResult? Test, float LearningRate);

/// <summary>Thrown when the loss becomes NaN or infinite during training, naming where.</summary>
public sealed class NonFiniteLossException(int epoch, int batch, float loss)
    : ArithmeticException($"The loss became {loss} at epoch {epoch}, batch {batch}: training stopped. Try a smaller learning rate.")
{
    /// <summary>The 1-based epoch.</summary>
    public int Epoch { get; } = epoch;

    /// <summary>The 1-based batch within the epoch.</summary>
    public int Batch { get; } = batch;

    /// <summary>The loss value.</summary>
    public float Loss { get; } = loss;
}

/// <summary>Thrown when a gradient becomes NaN or infinite during training (with checkGradients), naming where and which parameter.</summary>
public sealed class NonFiniteGradientException(int epoch, int batch, string parameter, int index, float value)
    : ArithmeticException($"The gradient of {parameter} became {value} (element {index}) at epoch {epoch}, batch {batch}: training stopped.")
{
    /// <summary>The 1-based epoch.</summary>
    public int Epoch { get; } = epoch;

    /// <summary>The 1-based batch within the epoch.</summary>
    public int Batch { get; } = batch;

    /// <summary>The parameter's state_dict name.</summary>
    public string Parameter { get; } = parameter;
}

/// <summary>
/// The training loop, as d2l's train_epoch / evaluate_accuracy / train: forward, loss, backward, update, with running
/// sums of loss, correct predictions and samples. The update is an <see cref="Optimizer"/> (gradient of the loss as
/// its reduction says; for Reduction.None, of the mean) or a custom updater called with the batch size after the
/// gradient of the summed loss, as d2l's <c>updater(X.shape[0])</c>. Its buffers are allocated on a network's first
/// epoch and reused, so later epochs allocate nothing but their result.
/// An optional onBatch callback receives (batches done, batches per epoch), for progress bars. With checkGradients, a
/// NaN or infinite gradient stops training with a <see cref="NonFiniteGradientException"/> naming the parameter.
/// Fit's firstEpoch numbers the epochs when resuming from a checkpoint.
/// </summary>
public static class Trainer
{
    /// <summary>
    /// One epoch with an optimizer; the network is put in training mode. <paramref name="beforeStep"/> runs after each
    /// backward pass, before the step: gradient clipping, as <c>() =&gt; Gradients.ClipGradNorm(parameters, 1f)</c>.
    /// </summary>
    public static EpochResult TrainEpoch<TTarget>(Network net, DataLoader<TTarget> data, Loss<TTarget> loss, Optimizer optimizer, int epoch = 1,
        bool stopOnNonFiniteLoss = true, Action<int, int>? onBatch = null, bool checkGradients = false, Action? beforeStep = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return Epoch(net, data, loss, optimizer, null, epoch, new Checks(stopOnNonFiniteLoss, checkGradients), onBatch, beforeStep);
    }

    /// <summary>One epoch with a custom updater, called with the batch size after the gradient of the summed loss.</summary>
    public static EpochResult TrainEpoch<TTarget>(Network net, DataLoader<TTarget> data, Loss<TTarget> loss, Action<int> updater, int epoch = 1,
        bool stopOnNonFiniteLoss = true, Action<int, int>? onBatch = null, bool checkGradients = false)
    {
        ArgumentNullException.ThrowIfNull(updater);
        return Epoch(net, data, loss, null, updater, epoch, new Checks(stopOnNonFiniteLoss, checkGradients), onBatch, null);
    }

    /// <summary>Runs the network over <paramref name="data"/> in evaluation mode, without gradients.</summary>
    public static EvaluationResult Evaluate<TTarget>(Network net, DataLoader<TTarget> data, Loss<TTarget>? loss = null)
    {
        CheckArguments(net, data, loss);
        net.Eval();
        (float[] output, _, float[] terms) = Buffers.GetValue(net, NewBuffers);
        double lossSum = 0, termCount = 0, correct = 0, labels = 0;
        int samples = 0;
        (float[] features, int slotStart) = net.InputSlot ?? (data.Buffer, 0);
        DataLoader<TTarget>.Enumerator batches = data.GetEnumerator();
        while (batches.MoveNext(features, slotStart))
        {
            Batch<TTarget> batch = batches.Current;
            Span<float> y = output.AsSpan(0, batch.Size * net.SampleOutputSize);
            net.Infer(batch.Features, y);
            if (loss is not null)
            {
                try
                {
                    loss.Forward(y, batch.Targets, default, Terms(loss, terms, y.Length, batch.Targets.Length, net.SampleOutputShape), net.SampleOutputShape);
                }
                catch (LabelOutOfRangeException e) when (e.DatasetIndex is null)
                {
                    throw new LabelOutOfRangeException(e.Label, e.Sample, e.Classes, batch.Indices[e.Sample], "in evaluation", e);
                }
                lossSum += loss.LastSum;
                termCount += loss.LastCount;
            }
            correct += CountCorrect(y, batch.Targets, net.SampleOutputShape);
            samples += batch.Size;
            labels += batch.Targets.Length;
        }
        return new EvaluationResult(loss is null ? double.NaN : lossSum / termCount, IsClassification<TTarget>() ? correct / labels : double.NaN, samples);
    }

    /// <summary>
    /// Trains for <paramref name="epochs"/> epochs with an optimizer, evaluating on <paramref name="test"/> after each;
    /// <paramref name="beforeStep"/> runs between each backward pass and its step (gradient clipping).
    /// </summary>
    public static IReadOnlyList<EpochReport> Fit<TTarget>(Network net, DataLoader<TTarget> train, DataLoader<TTarget>? test, Loss<TTarget> loss,
        Optimizer optimizer, int epochs, LRScheduler? scheduler = null, Action<EpochReport>? onEpoch = null, bool stopOnNonFiniteLoss = true,
        Action<int, int>? onBatch = null, bool checkGradients = false, int firstEpoch = 1, Action? beforeStep = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return Fit(net, train, test, loss, optimizer, null, epochs, scheduler, onEpoch, new Checks(stopOnNonFiniteLoss, checkGradients), onBatch, firstEpoch, beforeStep);
    }

    /// <summary>Trains for <paramref name="epochs"/> epochs with a custom updater, evaluating on <paramref name="test"/> after each.</summary>
    public static IReadOnlyList<EpochReport> Fit<TTarget>(Network net, DataLoader<TTarget> train, DataLoader<TTarget>? test, Loss<TTarget> loss,
        Action<int> updater, int epochs, Action<EpochReport>? onEpoch = null, bool stopOnNonFiniteLoss = true, Action<int, int>? onBatch = null,
        bool checkGradients = false, int firstEpoch = 1)
    {
        ArgumentNullException.ThrowIfNull(updater);
        return Fit(net, train, test, loss, null, updater, epochs, null, onEpoch, new Checks(stopOnNonFiniteLoss, checkGradients), onBatch, firstEpoch, null);
    }

    private static IReadOnlyList<EpochReport> Fit<TTarget>(Network net, DataLoader<TTarget> train, DataLoader<TTarget>? test, Loss<TTarget> loss,
        Optimizer? optimizer, Action<int>? updater, int epochs, LRScheduler? scheduler, Action<EpochReport>? onEpoch, Checks checks,
        Action<int, int>? onBatch, int firstEpoch, Action? beforeStep)
    {
        if (epochs < 0) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "epochs must not be negative.");
        if (firstEpoch < 1) throw new ArgumentOutOfRangeException(nameof(firstEpoch), firstEpoch, "firstEpoch counts from 1.");
        CheckArguments(net, train, loss); // both loaders before the first epoch, not the test loader after it
        if (test is not null) CheckArguments(net, test, loss);
        var reports = new List<EpochReport>(epochs);
        for (int epoch = firstEpoch; epoch < firstEpoch + epochs; epoch++)
        {
            float learningRate = optimizer?.LearningRate ?? float.NaN;
            EpochResult result = Epoch(net, train, loss, optimizer, updater, epoch, checks, onBatch, beforeStep);
            EvaluationResult? evaluation = test is null ? null : Evaluate(net, test, loss);
            scheduler?.Step();
            var report = new EpochReport(epoch, result, evaluation, learningRate);
            reports.Add(report);
            onEpoch?.Invoke(report);
        }
        return reports;
    }

    private static EpochResult Epoch<TTarget>(Network net, DataLoader<TTarget> data, Loss<TTarget> loss, Optimizer? optimizer, Action<int>? updater,
        int epoch, Checks checks, Action<int, int>? onBatch, Action? beforeStep)
    {
        ArgumentNullException.ThrowIfNull(loss);
        CheckArguments(net, data, loss);
        net.Train();
        (float[] output, float[] outputGrad, float[] terms) = Buffers.GetValue(net, NewBuffers);
        double lossSum = 0, termCount = 0, correct = 0, labels = 0;
        int samples = 0, batchIndex = 0;
        long start = Stopwatch.GetTimestamp();
        // Batches are gathered straight into the network's input slot, so Forward copies nothing.
        (float[] features, int slotStart) = net.InputSlot ?? (data.Buffer, 0);
        DataLoader<TTarget>.Enumerator batches = data.GetEnumerator();
        while (batches.MoveNext(features, slotStart))
        {
            Batch<TTarget> batch = batches.Current;
            batchIndex++;
            int length = batch.Size * net.SampleOutputSize;
            Span<float> y = output.AsSpan(0, length), dy = outputGrad.AsSpan(0, length);
            net.Forward(batch.Features, y);
            float value;
            try
            {
                value = loss.Forward(y, batch.Targets, dy, Terms(loss, terms, length, batch.Targets.Length, net.SampleOutputShape), net.SampleOutputShape);
            }
            catch (LabelOutOfRangeException e) when (e.DatasetIndex is null)
            {
                throw new LabelOutOfRangeException(e.Label, e.Sample, e.Classes, batch.Indices[e.Sample], $"epoch {epoch}, batch {batchIndex}", e);
            }
            if (checks.Loss && !float.IsFinite(value)) throw new NonFiniteLossException(epoch, batchIndex, value);
            // The optimizer path takes the mean where the loss reports unreduced terms; a custom updater takes the sum.
            float scale = optimizer is not null
                ? (loss.Reduction == Reduction.None ? 1f / loss.LastCount : 1f)
                : (loss.Reduction == Reduction.Mean ? loss.LastCount : 1f);
            if (scale != 1f) System.Numerics.Tensors.TensorPrimitives.Multiply(dy, scale, dy);
            if (optimizer is not null) optimizer.ZeroGrad();
            else net.ZeroGrad();
            net.Backward(dy);
            if (checks.Gradients) CheckGradients(net, epoch, batchIndex);
            beforeStep?.Invoke();
            if (optimizer is not null) optimizer.Step();
            else updater!(batch.Size);
            lossSum += loss.LastSum;
            termCount += loss.LastCount;
            correct += CountCorrect(y, batch.Targets, net.SampleOutputShape);
            samples += batch.Size;
            labels += batch.Targets.Length;
            onBatch?.Invoke(batchIndex, data.BatchCount);
        }
        return new EpochResult(termCount == 0 ? double.NaN : lossSum / termCount, IsClassification<TTarget>() ? correct / Math.Max(labels, 1) : double.NaN,
            samples, Stopwatch.GetElapsedTime(start));
    }

    // Output, output-gradient and loss-term buffers per network, allocated on its first epoch and reused after.
    private static readonly ConditionalWeakTable<Network, Tuple<float[], float[], float[]>> Buffers = new();

    private static Tuple<float[], float[], float[]> NewBuffers(Network net)
    {
        int length = net.MaxBatch * net.SampleOutputSize;
        return Tuple.Create(new float[length], new float[length], new float[length]);
    }

    /// <summary>Which non-finite values stop training.</summary>
    private readonly record struct Checks(bool Loss, bool Gradients);

    /// <summary>Scans the gradient arena; only on a hit does it look up which parameter the element belongs to.</summary>
    private static void CheckGradients(Network net, int epoch, int batch)
    {
        ReadOnlySpan<float> grads = net.GradientArena;
        for (int i = 0; i < grads.Length; i++)
        {
            if (float.IsFinite(grads[i])) continue;
            foreach ((string name, Parameter p) in net.NamedParameters())
            {
                ReadOnlySpan<float> grad = p.Grad;
                for (int j = 0; j < grad.Length; j++)
                {
                    if (!float.IsFinite(grad[j])) throw new NonFiniteGradientException(epoch, batch, name, j, grad[j]);
                }
            }
        }
    }

    /// <summary>Where the unreduced terms go: needed only with Reduction.None; a loss has at most one term per output float.</summary>
    private static Span<float> Terms<TTarget>(Loss<TTarget> loss, float[] buffer, int outputLength, int targetLength, ReadOnlySpan<int> sampleShape) =>
        loss.Reduction == Reduction.None ? buffer.AsSpan(0, loss.TermCount(outputLength, targetLength, sampleShape)) : default;

    private static void CheckArguments<TTarget>(Network net, DataLoader<TTarget> data, Loss<TTarget>? loss)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(data);
        if (data.BatchSize > net.MaxBatch)
        {
            throw new ArgumentException($"The loader's batch size {data.BatchSize} is larger than the network's largest batch {net.MaxBatch}.", nameof(data));
        }
        if (data.Dataset.FeatureSize != net.SampleInputSize)
        {
            throw new ArgumentException($"The dataset's samples hold {data.Dataset.FeatureSize} floats, but the network takes {net.SampleInputSize}.", nameof(data));
        }
        if (data.BatchCount == 0)
        {
            // An epoch of nothing would report a NaN loss and zero accuracy as if they were results.
            throw new ArgumentException(data.Dataset.Count == 0
                ? "The loader's dataset holds no samples: there is nothing to train on or evaluate."
                : $"The loader yields no batches: its {data.Dataset.Count} samples are fewer than one batch of {data.BatchSize}, and dropLast drops it.", nameof(data));
        }
        // The loss meets the network's output shape and the dataset's targets before any training: one sample tells
        // whether they fit (cross-entropy refuses one label per sample for an output of shape [1, 28, 10], say).
        loss?.TermCount(net.SampleOutputSize, data.Dataset.TargetSize, net.SampleOutputShape);
    }

    private static bool IsClassification<TTarget>() => typeof(TTarget) == typeof(int);

    private static int CountCorrect<TTarget>(ReadOnlySpan<float> output, ReadOnlySpan<TTarget> targets, ReadOnlySpan<int> sampleShape)
    {
        if (!IsClassification<TTarget>()) return 0;
        ReadOnlySpan<int> labels = MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<TTarget, int>(ref MemoryMarshal.GetReference(targets)), targets.Length);
        return Metrics.CountCorrect(output, labels, sampleShape);
    }
}
