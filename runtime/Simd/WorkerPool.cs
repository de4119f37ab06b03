using System;
using System.Threading;

namespace StaticNet.Simd;

/// <summary>A job cut into parts that may run on different threads; each part writes its own outputs only.</summary>
internal interface IPartitionedJob
{
    void Execute(int part);
}

/// <summary>
/// A small pool of background threads for the matrix products: the caller takes part in its own job and waits for the
/// rest, nothing is allocated per job, and one job runs at a time (callers from several threads take turns).
/// </summary>
internal static class WorkerPool
{
    private static readonly object RunLock = new();
    private static readonly SemaphoreSlim StartSignal = new(0);
    private static readonly ManualResetEventSlim Finished = new(false);
    private static int s_workers;
    private static IPartitionedJob? s_job;
    private static int s_parts, s_next, s_remaining;

    /// <summary>Runs parts 0..parts-1 of <paramref name="job"/>, on the calling thread and up to parts - 1 workers, and returns when all are done.</summary>
    public static void Run(IPartitionedJob job, int parts)
    {
        if (parts <= 1)
        {
            job.Execute(0);
            return;
        }
        lock (RunLock)
        {
            while (s_workers < parts - 1)
            {
                new Thread(WorkerLoop) { IsBackground = true, Name = "StaticNet worker " + s_workers }.Start();
                s_workers++;
            }
            s_job = job;
            s_parts = parts;
            s_remaining = parts;
            Finished.Reset();
            Volatile.Write(ref s_next, 0);
            StartSignal.Release(parts - 1);
            Work();
            Finished.Wait();
            s_job = null;
        }
    }

    private static void WorkerLoop()
    {
        while (true)
        {
            StartSignal.Wait();
            Work();
        }
    }

    /// <summary>Takes parts until none is left; a worker that wakes after its job ended finds none and goes back to waiting.</summary>
    private static void Work()
    {
        int part;
        while ((part = Interlocked.Increment(ref s_next) - 1) < Volatile.Read(ref s_parts))
        {
            try
            {
                s_job!.Execute(part);
            }
            finally
            {
                if (Interlocked.Decrement(ref s_remaining) == 0) Finished.Set();
            }
        }
    }
}
