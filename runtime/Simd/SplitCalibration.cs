using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading;

namespace StaticNet.Simd;

/// <summary>
/// Whether splitting a product across threads pays, decided from what it measures on the machine at hand rather than
/// from a size threshold tuned on one CPU: a second thread can make a product slower where the two vCPUs share a core
/// or the product is bound by memory. For each product (a site and its sizes) and thread count, the first calls
/// alternate in pairs between the split and the calling thread alone, timing each pair's second call, and the faster
/// (the split only if clearly faster) is kept. A shared host can make one moment's measurement wrong (another tenant
/// busy on the second vCPU), so a decision is measured again after 64 calls of its product, then after twice as many
/// each time, up to every <see cref="Revisit"/> calls; each measurement runs ten calls the other way (one in about 400
/// once they come every 4096); a decision is measured again by one product at a time on a thread (<see cref="Turn"/>),
/// the others running as they decided. Results do not depend on the choice: every split computes each output in the
/// same order, so only the time changes. Sizes below a site's own threshold are never split nor measured.
/// </summary>
internal static class SplitCalibration
{
    /// <summary>Timed calls per way; the median of each decides.</summary>
    private const int Trials = 5;

    /// <summary>The most calls of a product between a decision and its next measurement (the first comes after 64).</summary>
    public const int Revisit = 4096;

    private static readonly ConcurrentDictionary<(int Site, long A, long B, long C, int Threads), Entry> s_entries = new();

    /// <summary>The sites that split work, numbered so that two sites with equal sizes keep separate decisions.</summary>
    public const int PackedGemm = 1, NarrowLinear = 2, LaneConv = 3, Convolution = 4, DirectWeightGradient = 5, SigmoidPool = 6,
        Gather = 7, TransposedGemm = 9, BatchNorm = 10;

    /// <summary>
    /// Starts a call that a site would split into <paramref name="parts"/> parts: <see cref="Trial.Parts"/> says how many
    /// to run it in (<paramref name="parts"/>, or 1 where the calling thread alone measured faster for this product), and
    /// <see cref="Trial.End"/>, called when the work is done, records the time while the product is being measured.
    /// With parts at most 1 nothing is looked up or measured.
    /// </summary>
    public static Trial Begin(int site, long a, long b, long c, int parts)
    {
        if (parts <= 1) return new Trial(null, measure: false, 1);
        Entry entry = For(site, a, b, c, parts);
        bool split = entry.Split(out bool measure, t_turn ??= new Turn());
        return new Trial(entry, measure, split ? parts : 1);
    }

    /// <summary>
    /// Which product may measure a decision again on this thread, one at a time. Products measured for the first time
    /// measure together: the first calls of a training step's products alternate in step, each timed with the others
    /// all split or all alone. (One at a time from the start was tried: in two of three runs of d2l's MLP on two AMD
    /// vCPUs, on a busy host, the step settled on running every product alone, the 256 x 10 layer's split then timed at
    /// 45-50 us where it usually takes 12, its worker asleep between calls or its vCPU taken.) But in step, a layer ran
    /// alone exactly when the layer before it did, and found that layer's whole output in this core's cache, which it
    /// never does once that layer splits (that MLP: the 256 x 10 layer's forward timed 9.2 us alone against 12.3 split
    /// and chose to run alone, then took 22 us a step; split it takes 12.5). Measured again one at a time, each product
    /// is timed with the others running as they decided.
    /// </summary>
    [ThreadStatic] private static Turn? t_turn;

    /// <summary>The measuring turn of one thread: the product that holds it, and how many calls of others came since it last measured.</summary>
    internal sealed class Turn
    {
        /// <summary>
        /// A holder not called for this many calls of other products is taken to be gone (the training ended, or its
        /// layer runs only once), and the turn passes on. A step of the networks here calls a few dozen products.
        /// </summary>
        public const int StaleAfter = 512;

        private Entry? _holder;
        private int _othersSince;

        /// <summary>Whether <paramref name="entry"/> may measure now: it holds the turn, takes a free one, or takes one left stale.</summary>
        public bool Take(Entry entry)
        {
            if (_holder == entry || _holder is null || ++_othersSince > StaleAfter)
            {
                _holder = entry;
                _othersSince = 0;
                return true;
            }
            return false;
        }

        /// <summary>Frees the turn if <paramref name="entry"/> holds it (its decision is made).</summary>
        public void Release(Entry entry)
        {
            if (_holder == entry) _holder = null;
        }
    }

    /// <summary>One call of a calibrated site: how many parts to run, and the timing to record while measuring.</summary>
    internal readonly struct Trial
    {
        private readonly Entry? _entry;
        private readonly long _start;

        internal Trial(Entry? entry, bool measure, int parts)
        {
            _entry = measure ? entry : null;
            _start = measure ? Stopwatch.GetTimestamp() : 0;
            Parts = parts;
        }

        /// <summary>The parts to run the work in: 1 means the calling thread alone.</summary>
        public int Parts { get; }

        /// <summary>Records the call's time if this product is still being measured.</summary>
        public void End() => _entry?.Record(Parts > 1, Since(_start));
    }

    /// <summary>The calibration of one product at a thread count: created on its first call (the only allocation).</summary>
    public static Entry For(int site, long a, long b, long c, int threads) =>
        s_entries.TryGetValue((site, a, b, c, threads), out Entry? entry) ? entry : s_entries.GetOrAdd((site, a, b, c, threads), _ => new Entry());

    internal sealed class Entry
    {
        private readonly long[] _alone = new long[Trials], _split = new long[Trials];
        private int _aloneCount, _splitCount;

        // 0 while measuring, 1 once the split was found faster, -1 once running alone was.
        private int _decision;

        // Calls since the decision; at _interval (64, doubling up to Revisit) the product is measured again.
        private int _sinceDecision, _interval = 64;

        // Calls since the measuring began: they go in pairs, see Split.
        private int _measuringCalls;

        // The turn this product holds while it measures a decision again.
        private Turn? _turn;

        /// <summary>Whether this call should split; <paramref name="measure"/> says whether to time it and <see cref="Record"/> the result.</summary>
        public bool Split(out bool measure) => Split(out measure, turn: null);

        /// <summary>
        /// <see cref="Split(out bool)"/>, a decision measured again only while this product holds <paramref name="turn"/>
        /// (none: whenever due); until then it runs as decided.
        /// </summary>
        public bool Split(out bool measure, Turn? turn)
        {
            int decision = Volatile.Read(ref _decision);
            if (decision != 0)
            {
                if (Interlocked.Increment(ref _sinceDecision) < Volatile.Read(ref _interval) || turn?.Take(this) == false)
                {
                    measure = false;
                    return decision > 0;
                }
                _turn = turn;
                lock (this)
                {
                    if (_decision != 0 && _sinceDecision >= _interval)
                    {
                        (_splitCount, _aloneCount, _sinceDecision, _decision, _measuringCalls) = (0, 0, 0, 0, 0);
                        _interval = Math.Min(2 * _interval, Revisit);
                    }
                }
            }
            // Pairs of calls each way, the split first, and only a pair's second call timed: its first brings that way's
            // data into its cores' caches, as they are in every call once the choice is made. Timing single calls
            // alternately, each found the other way's data where it had left it: a batch-1 Linear forward of 784 x 256 on
            // two AMD vCPUs chose to run alone (8.0 us) where the split takes 5.5-6.0 in a row.
            int call = Interlocked.Increment(ref _measuringCalls) - 1;
            measure = (call & 1) == 1;
            return (call & 2) == 0;
        }

        /// <summary>Records a timed call (Stopwatch ticks) made the way <paramref name="split"/> says; decides once both ways have their trials.</summary>
        public void Record(bool split, long ticks)
        {
            lock (this)
            {
                ref int count = ref split ? ref _splitCount : ref _aloneCount;
                if (_decision != 0 || count >= Trials) return;
                (split ? _split : _alone)[count++] = ticks;
                if (_splitCount < Trials || _aloneCount < Trials) return;
                Array.Sort(_alone);
                Array.Sort(_split);
                // Split only when clearly faster: a tie keeps the second core free for whoever else runs.
                Volatile.Write(ref _decision, _split[Trials / 2] < _alone[Trials / 2] * 0.95 ? 1 : -1);
                _turn?.Release(this);
                _turn = null;
            }
        }

        /// <summary>The decision for tests and diagnostics: null while measuring, else whether the product splits.</summary>
        public bool? Decision => Volatile.Read(ref _decision) switch { 0 => null, > 0 => true, _ => false };
    }

    /// <summary>The ticks elapsed since <paramref name="start"/>, for <see cref="Entry.Record"/>.</summary>
    public static long Since(long start) => Stopwatch.GetTimestamp() - start;
}
