using System;
using System.Runtime.Intrinsics.X86;

namespace StaticNet;

/// <summary>One batch from a <see cref="DataLoader{TTarget}"/>: views of the loader's buffers, valid until the next batch.</summary>
public readonly ref struct Batch<TTarget>
{
    internal Batch(ReadOnlySpan<float> features, ReadOnlySpan<TTarget> targets, int size)
    {
        Features = features;
        Targets = targets;
        Size = size;
    }

    /// <summary>Size x FeatureSize floats.</summary>
    public ReadOnlySpan<float> Features { get; }

    /// <summary>Size x TargetSize targets.</summary>
    public ReadOnlySpan<TTarget> Targets { get; }

    /// <summary>Samples in this batch (the last one may be smaller unless dropLast).</summary>
    public int Size { get; }
}

/// <summary>
/// Yields batches of a dataset (torch.utils.data.DataLoader): each enumeration is one epoch, reshuffled from the
/// loader's seeded generator when <see cref="Shuffle"/> is set. Batches are copied into buffers the loader owns,
/// so iterating allocates nothing.
/// </summary>
public sealed class DataLoader<TTarget>
{
    private readonly float[] _features;
    private readonly TTarget[] _targets;
    private readonly int[] _order;
    private readonly BatchGather<TTarget> _gather = new();

    /// <summary>Creates a loader; with <paramref name="shuffle"/>, epochs are reshuffled from <paramref name="seed"/>.</summary>
    public DataLoader(Dataset<TTarget> dataset, int batchSize, bool shuffle = false, bool dropLast = false, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch_size must be at least 1.");
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        Generator = new RandomGenerator(seed);
        int size = Math.Min(batchSize, Math.Max(dataset.Count, 1));
        _features = new float[size * dataset.FeatureSize];
        _targets = new TTarget[size * dataset.TargetSize];
        _order = new int[dataset.Count];
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
    }

    /// <summary>The loader's own feature buffer, where <see cref="Enumerator.MoveNext()"/> gathers batches.</summary>
    internal float[] Buffer => _features;

    /// <summary>The dataset.</summary>
    public Dataset<TTarget> Dataset { get; }

    /// <summary>batch_size.</summary>
    public int BatchSize { get; }

    /// <summary>shuffle.</summary>
    public bool Shuffle { get; }

    /// <summary>drop_last: leave out a last batch smaller than BatchSize.</summary>
    public bool DropLast { get; }

    /// <summary>The generator behind the shuffles.</summary>
    public RandomGenerator Generator { get; }

    /// <summary>Batches per epoch.</summary>
    public int BatchCount => DropLast ? Dataset.Count / BatchSize : (Dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>Starts an epoch (reshuffling if asked).</summary>
    public Enumerator GetEnumerator()
    {
        if (Shuffle)
        {
            // Fisher-Yates from the identity: each epoch's permutation depends only on the generator's state, so a
            // checkpoint of that state resumes the same sequence of epochs.
            for (int i = 0; i < _order.Length; i++) _order[i] = i;
            for (int i = _order.Length - 1; i > 0; i--)
            {
                int j = (int)(Generator.NextUInt64() % (ulong)(i + 1));
                (_order[i], _order[j]) = (_order[j], _order[i]);
            }
        }
        return new Enumerator(this);
    }

    /// <summary>Walks one epoch's batches.</summary>
    public struct Enumerator
    {
        private readonly DataLoader<TTarget> _loader;
        private float[] _features;
        private int _next;
        private int _size;

        internal Enumerator(DataLoader<TTarget> loader)
        {
            _loader = loader;
            _features = loader._features;
            _next = 0;
            _size = 0;
        }

        /// <summary>The current batch.</summary>
        public readonly Batch<TTarget> Current =>
            new(_features.AsSpan(0, _size * _loader.Dataset.FeatureSize), _loader._targets.AsSpan(0, _size * _loader.Dataset.TargetSize), _size);

        /// <summary>Copies the next batch into the loader's buffers.</summary>
        public bool MoveNext() => MoveNext(_loader._features);

        /// <summary>
        /// Copies the next batch's features to the start of <paramref name="features"/> instead of the loader's buffer (the
        /// Trainer passes the network's input slot, so that Forward has nothing to copy); it must hold a whole batch.
        /// </summary>
        internal bool MoveNext(float[] features)
        {
            Dataset<TTarget> data = _loader.Dataset;
            int remaining = data.Count - _next;
            int size = Math.Min(_loader.BatchSize, remaining);
            if (size <= 0 || (_loader.DropLast && size < _loader.BatchSize)) return false;
            _features = features;
            _loader._gather.Run(data, _loader._order, _next, size, features, _loader._targets);
            _next += size;
            _size = size;
            return true;
        }
    }
}

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
    private TTarget[]? _targets;

    /// <summary>Copies samples order[start .. start + count) to rows 0 .. count of the buffers.</summary>
    public void Run(Dataset<TTarget> data, int[] order, int start, int count, float[] features, TTarget[] targets)
    {
        int threads = Threading.NumThreads;
        int parts = threads > 1 && count * data.FeatureSize >= ParallelThreshold ? Math.Min(threads, count) : 1;
        if (parts == 1)
        {
            Copy(data, order.AsSpan(start, count), 0, features, targets);
            return;
        }
        (_data, _order, _start, _count, _parts, _features, _targets) = (data, order, start, count, parts, features, targets);
        Simd.WorkerPool.Run(this, parts);
        (_data, _order, _features, _targets) = (null, null, null, null);
    }

    public void Execute(int part)
    {
        int begin = (int)((long)_count * part / _parts), end = (int)((long)_count * (part + 1) / _parts);
        Copy(_data!, _order.AsSpan(_start + begin, end - begin), begin, _features!, _targets!);
    }

    private static void Copy(Dataset<TTarget> data, ReadOnlySpan<int> samples, int firstRow, float[] features, TTarget[] targets)
    {
        int f = data.FeatureSize, t = data.TargetSize;
        for (int i = 0; i < samples.Length; i++)
        {
            if (i + PrefetchDistance < samples.Length) Prefetch(data.Features, samples[i + PrefetchDistance] * f, f);
            int sample = samples[i], row = firstRow + i;
            data.Features.AsSpan(sample * f, f).CopyTo(features.AsSpan(row * f, f));
            data.Targets.AsSpan(sample * t, t).CopyTo(targets.AsSpan(row * t, t));
        }
    }

    private static unsafe void Prefetch(float[] source, int start, int length)
    {
        if (!Sse.IsSupported) return;
        fixed (float* row = &source[start])
        {
            byte* first = (byte*)((nuint)row & ~(nuint)63), end = (byte*)(row + length);
            for (byte* line = first; line < end; line += 64) Sse.Prefetch0(line);
        }
    }
}
