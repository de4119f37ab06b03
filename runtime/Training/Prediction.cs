using System;

namespace StaticNet;

/// <summary>What <see cref="Predictions.Predict"/> returns: per sample the predicted class and every class's probability.</summary>
/// <param name="Classes">The index of the largest output per sample (torch.argmax, the first on ties).</param>
/// <param name="Probabilities">softmax of the outputs, [samples, classes] row-major.</param>
/// <param name="ClassCount">The number of classes (the network's output size).</param>
public sealed record Prediction(int[] Classes, float[] Probabilities, int ClassCount)
{
    /// <summary>The probabilities of sample <paramref name="sample"/>.</summary>
    public ReadOnlySpan<float> ProbabilitiesOf(int sample) => Probabilities.AsSpan(sample * ClassCount, ClassCount);
}

/// <summary>The common inference case without managing output buffers.</summary>
public static class Predictions
{
    /// <summary>
    /// Runs a classifier over any number of samples (in pieces of its largest batch) in evaluation mode, putting the
    /// network back in the mode it was in, and returns each sample's class and the softmax of its outputs (read as
    /// logits: a network that already ends in Softmax gets a softmax of probabilities). Allocates the result and one
    /// batch of outputs; for a loop without allocation, call Infer (or Forward) with buffers of your own.
    /// </summary>
    public static Prediction Predict(this Network net, ReadOnlySpan<float> input)
    {
        ArgumentNullException.ThrowIfNull(net);
        if (net.SampleOutputShape.Length != 1)
        {
            throw new InvalidOperationException($"Predict takes a classifier whose output is [classes], but this network's output is " +
                $"[{string.Join(", ", net.SampleOutputShape.ToArray())}] per sample (flatten it, or call Forward).");
        }
        if (input.Length % net.SampleInputSize != 0)
        {
            throw new ArgumentException($"input holds {input.Length} floats, which is not a multiple of the input size {net.SampleInputSize}.", nameof(input));
        }
        int samples = input.Length / net.SampleInputSize, classes = net.SampleOutputSize;
        var result = new Prediction(new int[samples], new float[(long)samples * classes], classes);
        var output = new float[(long)Math.Min(samples, net.MaxBatch) * classes];
        bool training = net.Training;
        net.Eval();
        try
        {
            for (int start = 0; start < samples; start += net.MaxBatch)
            {
                int count = Math.Min(net.MaxBatch, samples - start);
                Span<float> y = output.AsSpan(0, count * classes);
                net.Infer(input.Slice(start * net.SampleInputSize, count * net.SampleInputSize), y);
                for (int i = 0; i < count; i++) result.Classes[start + i] = Metrics.ArgMax(y.Slice(i * classes, classes));
                Kernels.SoftmaxForward(result.Probabilities.AsSpan(start * classes, count * classes), y, count, classes, 1);
            }
        }
        finally
        {
            net.Train(training);
        }
        return result;
    }
}
