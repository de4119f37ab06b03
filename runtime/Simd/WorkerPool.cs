using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace StaticNet.Simd;

/// <summary>A job cut into parts that may run on different threads; each part writes its own outputs only.</summary>
internal interface IPartitionedJob
{
    void Execute(int part);
}

/// <summary>
/// A small pool of background threads for the matrix products and optimizer steps. The caller runs part 0 and worker
/// w runs part w + 1, so the same rows of a weight stay in the same core's cache from one product to the next.
/// A worker spins for a while after each job before it goes to sleep: training issues a product every few hundred
/// microseconds, and waking a sleeping thread (tens of microseconds on a virtual machine) cost more than the split saved.
/// A part that its worker has not claimed by the time the caller finishes part 0 (the worker asleep, or its core busy
/// with another process) is run by the caller instead, so a missing worker costs no more than running alone.
/// Nothing is allocated per job, and one job runs at a time (callers from several threads take turns).
/// </summary>
internal static class WorkerPool
{
    private static readonly long SpinTicks = Stopwatch.Frequency / 2000; // half a millisecond

    private static readonly object RunLock = new();
    private static readonly List<Worker> Workers = [];
    private static int s_generation, s_remaining;
    private static IPartitionedJob? s_job;
    private static Exception? s_failure;

    /// <summary>
    /// One background thread; <see cref="Assignment"/> changes when it has a part of a new job to run, and whoever runs
    /// that part, the worker or the caller, first sets <see cref="Claimed"/> to the job's generation.
    /// </summary>
    private sealed class Worker(int part)
    {
        public readonly int Part = part;
        public readonly SemaphoreSlim Wake = new(0);
        public int Assignment;
        public int Claimed;
        public int Sleeping;

        /// <summary>
        /// True for exactly one of the threads that ask for the part of job <paramref name="generation"/>, and for none
        /// once a later job's part has been claimed: a worker preempted between seeing a job and claiming its part may
        /// come back after the caller ran that part and started the next job. (The difference, not the comparison, of
        /// generations stays right when the counter wraps.)
        /// </summary>
        public bool Claim(int generation)
        {
            int claimed = Volatile.Read(ref Claimed);
            return generation - claimed > 0 && Interlocked.CompareExchange(ref Claimed, generation, claimed) == claimed;
        }
    }

    /// <summary>Runs parts 0..parts-1 of <paramref name="job"/>, part 0 on the calling thread, and returns when all are done.</summary>
    public static void Run(IPartitionedJob job, int parts)
    {
        if (parts <= 1)
        {
            job.Execute(0);
            return;
        }
        lock (RunLock)
        {
            while (Workers.Count < parts - 1)
            {
                var worker = new Worker(Workers.Count + 1);
                Workers.Add(worker);
                new Thread(() => WorkerLoop(worker)) { IsBackground = true, Name = "StaticNet worker " + worker.Part }.Start();
            }
            s_job = job;
            s_failure = null;
            s_remaining = parts - 1;
            int generation = ++s_generation;
            for (int w = 0; w < parts - 1; w++)
            {
                // The exchange is a full fence: a worker about to sleep either sees its assignment or is seen sleeping here.
                Worker worker = Workers[w];
                Interlocked.Exchange(ref worker.Assignment, generation);
                if (Volatile.Read(ref worker.Sleeping) == 1) worker.Wake.Release();
            }
            try
            {
                job.Execute(0);
            }
            finally
            {
                for (int w = 0; w < parts - 1; w++)
                {
                    if (Workers[w].Claim(generation)) RunPart(job, w + 1);
                }
                // Polled every SpinWait(1), about 45 ns here: SpinWait(20), 0.77 us on this AMD VM, on both sides of a job
                // added about 0.5 us to each (a batch-1 784 x 256 forward split in two, in a row: 6.1-6.7 -> 5.5-5.9 us).
                while (Volatile.Read(ref s_remaining) > 0) Thread.SpinWait(1);
                s_job = null;
            }
            if (s_failure is not null) ExceptionDispatchInfo.Throw(s_failure);
        }
    }

    private static void WorkerLoop(Worker worker)
    {
        int seen = 0;
        while (true)
        {
            seen = WaitForAssignment(worker, seen);
            // The job is still running while its part is unclaimed: the caller waits for every claimed part.
            if (worker.Claim(seen)) RunPart(s_job!, worker.Part);
        }
    }

    /// <summary>Runs one part, keeping the first exception for the caller, and counts it done.</summary>
    private static void RunPart(IPartitionedJob job, int part)
    {
        try
        {
            job.Execute(part);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref s_failure, e, null);
        }
        finally
        {
            Interlocked.Decrement(ref s_remaining);
        }
    }

    /// <summary>Returns the worker's next assignment after <paramref name="seen"/>: spinning first, then asleep.</summary>
    private static int WaitForAssignment(Worker worker, int seen)
    {
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            do
            {
                int assignment = Volatile.Read(ref worker.Assignment);
                if (assignment != seen) return assignment;
                Thread.SpinWait(1);
            }
            while (Stopwatch.GetTimestamp() - start < SpinTicks);
            Interlocked.Exchange(ref worker.Sleeping, 1);
            // An assignment made after the exchange releases the signal; one made before it is seen here. A release for
            // an assignment already seen only sends the worker round the loop once more.
            if (Volatile.Read(ref worker.Assignment) == seen) worker.Wake.Wait();
            Volatile.Write(ref worker.Sleeping, 0);
        }
    }
}
