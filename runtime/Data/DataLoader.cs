using System;

namespace StaticNet;

/// <summary>One batch from a <see cref="DataLoader{TTarget}"/>: views of the loader's buffers, valid until the next batch.</summary>
public readonly ref struct Batch<TTarget>
{
    internal Batch(ReadOnlySpan<float> features, ReadOnlySpan<TTarget> targets, ReadOnlySpan<int> indices)
    {
        Features = features;
        Targets = targets;
        Indices = indices;
        Size = indices.Length;
    }

    /// <summary>The dataset index of each sample in the batch, in batch order (the sampler's indices, in PyTorch's terms).</summary>
    public ReadOnlySpan<int> Indices { get; }

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
        private int _start;
        private int _next;
        private int _size;

        internal Enumerator(DataLoader<TTarget> loader)
        {
            _loader = loader;
            _features = loader._features;
            _start = 0;
            _next = 0;
            _size = 0;
        }

        /// <summary>The current batch.</summary>
        public readonly Batch<TTarget> Current =>
            new(_features.AsSpan(_start, _size * _loader.Dataset.FeatureSize), _loader._targets.AsSpan(0, _size * _loader.Dataset.TargetSize),
                _loader._order.AsSpan(_next - _size, _size));

        /// <summary>Copies the next batch into the loader's buffers.</summary>
        public bool MoveNext() => MoveNext(_loader._features, 0);

        /// <summary>
        /// Copies the next batch's features to <paramref name="features"/> from index <paramref name="start"/> instead of the
        /// loader's buffer (the Trainer passes the network's input slot, so that Forward has nothing to copy); there must
        /// be room for a whole batch.
        /// </summary>
        internal bool MoveNext(float[] features, int start)
        {
            Dataset<TTarget> data = _loader.Dataset;
            int remaining = data.Count - _next;
            int size = Math.Min(_loader.BatchSize, remaining);
            if (size <= 0 || (_loader.DropLast && size < _loader.BatchSize)) return false;
            _features = features;
            _start = start;
            _loader._gather.Run(data, _loader._order, _next, size, features, start, _loader._targets);
            _next += size;
            _size = size;
            return true;
        }
    }
}
