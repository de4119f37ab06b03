using System;
using System.Runtime.CompilerServices;

namespace StaticNet.Simd;

/// <summary>
/// Float arrays whose working stretch starts on a 64-byte boundary, so that no vector load straddles two cache lines
/// (a split load costs two; measured 5% on a weight gradient that reads its input rows in place). They are pinned, so
/// the garbage collector never moves them off the boundary.
/// </summary>
internal static class AlignedArray
{
    /// <summary>A pinned array with room for <paramref name="length"/> floats from a 64-byte boundary.</summary>
    public static float[] Allocate(long length) => GC.AllocateArray<float>(checked((int)(length + 16)), pinned: true);

    /// <summary>The index of the first element of <paramref name="array"/> on a 64-byte boundary.</summary>
    public static unsafe int Start(float[] array) =>
        array.Length == 0 ? 0 : (int)((64 - ((nuint)Unsafe.AsPointer(ref array[0]) & 63)) & 63) / sizeof(float);
}
