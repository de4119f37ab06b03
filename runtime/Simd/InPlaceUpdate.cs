using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace StaticNet.Simd;

/// <summary>
/// One optimizer update at one position: it loads what it needs from the parameter, the gradient and up to three
/// state buffers, and stores the new values. Buffers an optimizer does not use are empty and must not be touched.
/// </summary>
internal interface IUpdateOperator
{
    void Invoke<TV>(ref float parameter, ref float grad, ref float state1, ref float state2, ref float state3) where TV : struct, IVector<TV>;
}

/// <summary>
/// The loop skeleton of the fused optimizer steps: one pass over a stretch of parameters with the widest accelerated
/// vector, then one lane at a time for the remainder (updates are in place, so the tail cannot overlap).
/// </summary>
internal static class InPlaceUpdate
{
    // Below this many parameters an update stays on the calling thread: a split would cost more than it saves.
    private const int ParallelThreshold = 1 << 16;

    /// <summary>
    /// Runs <paramref name="op"/> over every position. Large arenas are split into contiguous stretches across
    /// <see cref="Threading.NumThreads"/> threads, the first stretch on the caller: the same way a split weight gradient
    /// falls, so each core updates the rows it just computed. Positions are independent, so the split changes no result.
    /// </summary>
    public static unsafe void Run<TOp>(Span<float> parameters, Span<float> grads, Span<float> state1, Span<float> state2, Span<float> state3, TOp op)
        where TOp : struct, IUpdateOperator
    {
        int n = parameters.Length;
        if (grads.Length != n || (!state1.IsEmpty && state1.Length != n) || (!state2.IsEmpty && state2.Length != n) || (!state3.IsEmpty && state3.Length != n))
        {
            throw new ArgumentException($"Optimizer buffers must all hold {n} floats.");
        }
        int threads = Threading.NumThreads;
        // Not calibrated (SplitCalibration): timed alone, an update sometimes measured no slower than split, but the
        // split is what keeps each core on the rows of the weight gradient it just computed and will read in the next
        // forward; with the update calibrated, the MLP epoch on two threads ran about 15% slower (AMD Zen 5, alternating
        // runs: 218-245 ms against 184-194).
        if (threads > 1 && n >= ParallelThreshold)
        {
            // The caller waits for every part, so the buffers stay pinned for as long as the workers use them.
            fixed (float* p = parameters, g = grads, s1 = state1, s2 = state2, s3 = state3)
            {
                UpdateJob<TOp> job = UpdateJob<TOp>.ForThisThread;
                job.Set(p, g, s1, s2, s3, n, op, threads);
                WorkerPool.Run(job, threads);
            }
            return;
        }
        RunSerial(parameters, grads, state1, state2, state3, op);
    }

    /// <summary>Sets every element of <paramref name="values"/> to zero, split across threads like <see cref="Run{TOp}"/> (ZeroGrad).</summary>
    public static void Clear(Span<float> values) => Run(values, values, default, default, default, default(ZeroOperator));

    private readonly struct ZeroOperator : IUpdateOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TV>(ref float parameter, ref float grad, ref float state1, ref float state2, ref float state3) where TV : struct, IVector<TV> =>
            TV.Store(TV.Create(0f), ref parameter);
    }

    /// <summary>One stretch of a split update, aligned to 16 floats.</summary>
    private sealed unsafe class UpdateJob<TOp> : IPartitionedJob where TOp : struct, IUpdateOperator
    {
        [ThreadStatic] private static UpdateJob<TOp>? t_current;

        private float* _p, _g, _s1, _s2, _s3;
        private int _n, _parts;
        private TOp _op;

        public static UpdateJob<TOp> ForThisThread => t_current ??= new UpdateJob<TOp>();

        public void Set(float* p, float* g, float* s1, float* s2, float* s3, int n, TOp op, int parts)
        {
            _p = p;
            _g = g;
            _s1 = s1;
            _s2 = s2;
            _s3 = s3;
            (_n, _op, _parts) = (n, op, parts);
        }

        public void Execute(int part)
        {
            int blocks = (_n + 15) / 16;
            int begin = (int)((long)blocks * part / _parts) * 16, end = Math.Min(_n, (int)((long)blocks * (part + 1) / _parts) * 16);
            if (begin >= end) return;
            int length = end - begin;
            RunSerial(new Span<float>(_p + begin, length), new Span<float>(_g + begin, length), Stretch(_s1, begin, length),
                Stretch(_s2, begin, length), Stretch(_s3, begin, length), _op);
        }

        private static Span<float> Stretch(float* state, int begin, int length) => state is null ? default : new Span<float>(state + begin, length);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunSerial<TOp>(Span<float> parameters, Span<float> grads, Span<float> state1, Span<float> state2, Span<float> state3, TOp op)
        where TOp : struct, IUpdateOperator
    {
        int n = parameters.Length;
        if (Vector512.IsHardwareAccelerated && n >= Vec512.Count) Run<TOp, Vec512>(parameters, grads, state1, state2, state3, op);
        else if (Vector256.IsHardwareAccelerated && n >= Vec256.Count) Run<TOp, Vec256>(parameters, grads, state1, state2, state3, op);
        else if (Vector128.IsHardwareAccelerated && n >= Vec128.Count) Run<TOp, Vec128>(parameters, grads, state1, state2, state3, op);
        else Run<TOp, Scalar>(parameters, grads, state1, state2, state3, op);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]

    private static void Run<TOp, TV>(Span<float> parameters, Span<float> grads, Span<float> state1, Span<float> state2, Span<float> state3, TOp op)
        where TOp : struct, IUpdateOperator where TV : struct, IVector<TV>
    {
        ref float p = ref MemoryMarshal.GetReference(parameters);
        ref float g = ref MemoryMarshal.GetReference(grads);
        // An unused state buffer stands in as the gradient, so that no reference ever points nowhere; the operator ignores it.
        ref float s1 = ref MemoryMarshal.GetReference(state1.IsEmpty ? grads : state1);
        ref float s2 = ref MemoryMarshal.GetReference(state2.IsEmpty ? grads : state2);
        ref float s3 = ref MemoryMarshal.GetReference(state3.IsEmpty ? grads : state3);
        int n = parameters.Length, i = 0;
        for (; i + TV.Count <= n; i += TV.Count)
        {
            op.Invoke<TV>(ref Unsafe.Add(ref p, i), ref Unsafe.Add(ref g, i), ref Unsafe.Add(ref s1, i), ref Unsafe.Add(ref s2, i), ref Unsafe.Add(ref s3, i));
        }
        for (; i < n; i++)
        {
            op.Invoke<Scalar>(ref Unsafe.Add(ref p, i), ref Unsafe.Add(ref g, i), ref Unsafe.Add(ref s1, i), ref Unsafe.Add(ref s2, i), ref Unsafe.Add(ref s3, i));
        }
    }
}
