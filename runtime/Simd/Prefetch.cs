using System.Runtime.Intrinsics.X86;

namespace StaticNet.Simd;

/// <summary>Software prefetches of a range of floats, a cache line at a time (nothing where SSE is missing).</summary>
internal static unsafe class Prefetch
{
    /// <summary>Into every cache level, for data read soon.</summary>
    public static void ToL1(float* start, long floats)
    {
        if (!Sse.IsSupported) return;
        for (byte* line = (byte*)((nuint)start & ~(nuint)63), end = (byte*)(start + floats); line < end; line += 64) Sse.Prefetch0(line);
    }

    /// <summary>Into L2 (not L1), for data read after the current work: it does not evict what that work keeps in L1.</summary>
    public static void ToL2(float* start, long floats)
    {
        if (!Sse.IsSupported) return;
        for (byte* line = (byte*)((nuint)start & ~(nuint)63), end = (byte*)(start + floats); line < end; line += 64) Sse.Prefetch1(line);
    }
}
