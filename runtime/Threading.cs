using System;

namespace StaticNet;

/// <summary>
/// How many threads the matrix products may use (torch.set_num_threads / get_num_threads). Work is split only where a
/// product is large enough to pay for it (for the Linear layers' products, where the split measured faster on this
/// machine in their first calls), and always so that every output element is computed by one thread in the same
/// order: results are identical bit for bit whatever the thread count.
/// </summary>
public static class Threading
{
    private static int s_numThreads = Math.Max(1, Environment.ProcessorCount);

    /// <summary>The most threads a product may use, the caller's included; 1 keeps everything on the calling thread. Defaults to the processor count.</summary>
    public static int NumThreads
    {
        get => s_numThreads;
        set
        {
            if (value < 1 || value > 256) throw new ArgumentOutOfRangeException(nameof(value), value, "The thread count must be from 1 to 256.");
            s_numThreads = value;
        }
    }
}
