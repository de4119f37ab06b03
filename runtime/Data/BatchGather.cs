using System;
using System.Runtime.CompilerServices;

namespace StaticNet;

/// <summary>
/// Copies the samples a batch lists into contiguous buffers. Large batches are split by rows across
/// <see cref="Threading.NumThreads"/> threads: the reads are random accesses to main memory, and two cores keep twice
/// as many of them in flight.
/// </summary>
internal sealed class BatchGather<TTarget> : Simd.IPartitionedJob
{
    // Below this many floats a batch is gathered on the calling thread: a split would cost more than it saves.
    private const int ParallelThreshold = 1 << 16;

    // Samples are read in random order from a dataset far larger than the caches: asking for a sample a few rows ahead
    // lets its cache misses overlap the copying of the current one, where the hardware prefetcher cannot guess.
    private const int PrefetchDistance = 8;

    private Dataset<TTarget>? _data;
    private int[]? _order;
    private int _start, _count, _parts;
    private float[]? _features;
    private int _featuresStart;
    private TTarget[]? _targets;

    /// <summary>Copies samples order[start .. start + count) to rows 0 .. count of the buffers (features from featuresStart).</summary>
    public void Run(Dataset<TTarget> data, int[] order, int start, int count, float[] features, int featuresStart, TTarget[] targets)
    {
        int threads = Threading.NumThreads;
        // Split across threads where that measured faster for this batch size on this machine (SplitCalibration).
        Simd.SplitCalibration.Trial trial = Simd.SplitCalibration.Begin(Simd.SplitCalibration.Gather, count, data.FeatureSize, 0,
            threads > 1 && count * data.FeatureSize >= ParallelThreshold ? Math.Min(threads, count) : 1);
        if (trial.Parts == 1)
        {
            Copy(data, order.AsSpan(start, count), 0, features, featuresStart, targets);
        }
        else
        {
            (_data, _order, _start, _count, _parts, _features, _featuresStart, _targets) = (data, order, start, count, trial.Parts, features, featuresStart, targets);
            Simd.WorkerPool.Run(this, trial.Parts);
            (_data, _order, _features, _targets) = (null, null, null, null);
        }
        trial.End();
    }

    public void Execute(int part)
    {
        int begin = (int)((long)_count * part / _parts), end = (int)((long)_count * (part + 1) / _parts);
        Copy(_data!, _order.AsSpan(_start + begin, end - begin), begin, _features!, _featuresStart, _targets!);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Copy(Dataset<TTarget> data, ReadOnlySpan<int> samples, int firstRow, float[] features, int featuresStart, TTarget[] targets)
    {
        int f = data.FeatureSize, t = data.TargetSize;
        // First one line of every sample: their page walks and memory accesses then overlap one another, where the copy
        // below would meet each sample's alone (an MLP epoch's gather on one AMD Zen 5 core: 26 -> 18 ms).
        for (int i = 0; i < samples.Length; i++) Prefetch(data.Features, samples[i] * f, 1, toL1: false);
        for (int i = 0; i < samples.Length; i++)
        {
            if (i + PrefetchDistance < samples.Length) Prefetch(data.Features, samples[i + PrefetchDistance] * f, f, toL1: true);
            int sample = samples[i], row = firstRow + i;
            data.Features.AsSpan(sample * f, f).CopyTo(features.AsSpan(featuresStart + row * f, f));
            data.Targets.AsSpan(sample * t, t).CopyTo(targets.AsSpan(row * t, t));
        }
    }

    private static unsafe void Prefetch(float[] source, int start, int length, bool toL1)
    {
        fixed (float* row = &source[start])
        {
            if (toL1) Simd.Prefetch.ToL1(row, length);
            else Simd.Prefetch.ToL2(row, length);
        }
    }
}
