using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace StaticNet;

/// <summary>
/// The forward product of tiny Linear layers (at most 16 outputs and 32 inputs, as in a 2-16-16-1 network): W^T is held
/// as one Vector512 per input in a small stack buffer, and each row of output is a single vector of multiply-adds. No
/// packing, no tiling: for layers this small those cost more than the arithmetic. Every output is summed in input
/// order, as the other kernels do. (The backward products of such layers go through NarrowLinear.)
/// </summary>
internal static class SmallLinear
{
    public const int MaxOutputs = 16;
    public const int MaxInputs = 32;

    public static bool Applies(int outFeatures, int inFeatures) =>
        Vector512.IsHardwareAccelerated && outFeatures <= MaxOutputs && inFeatures <= MaxInputs;

    /// <summary>y[r, :n] = bias + sum over p of x[r, p] W[:, p], for W [n, k] row-major.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit] // the buffers are cleared where they must be, not zeroed whole on every call

    public static void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, int rows, int n, int k)
    {
        // W^T, one 16-lane vector per input, lanes past n zero.
        Span<float> transposed = stackalloc float[MaxInputs * MaxOutputs];
        transposed.Slice(0, k * MaxOutputs).Clear();
        ref float wt = ref MemoryMarshal.GetReference(transposed);
        ref float ws = ref MemoryMarshal.GetReference(w);
        if (n == MaxOutputs && Avx.IsSupported)
        {
            // W^T as the packed GEMM lays out a transposed panel of 16 columns: 8 x 8 register transposes.
            PackedGemm.PackTransposed(ref wt, ref ws, k, k, MaxOutputs);
        }
        else
        {
            for (int j = 0; j < n; j++)
            {
                for (int p = 0; p < k; p++) Unsafe.Add(ref wt, p * MaxOutputs + j) = Unsafe.Add(ref ws, j * k + p);
            }
        }
        Span<float> start = stackalloc float[MaxOutputs];
        start.Clear();
        bias.CopyTo(start);
        Vector512<float> init = Vector512.Create<float>(start);
        RowsTimesColumns(y, ref MemoryMarshal.GetReference(x), k, ref wt, rows, n, k, init);
    }

    /// <summary>
    /// y[r, :width] = init + sum over p &lt; count of a[r * stride + p] columns[p, :], eight rows at a time so that eight
    /// independent chains of multiply-adds cover the latency of both FMA pipes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsTimesColumns(Span<float> y, ref float a, int stride, ref float columns, int rows, int width, int count, Vector512<float> init)
    {
        int r = 0;
        for (; r + 8 <= rows; r += 8)
        {
            Vector512<float> a0 = init, a1 = init, a2 = init, a3 = init, a4 = init, a5 = init, a6 = init, a7 = init;
            ref float row0 = ref Unsafe.Add(ref a, r * stride);
            for (int p = 0; p < count; p++)
            {
                Vector512<float> column = Vector512.LoadUnsafe(ref columns, (nuint)(p * MaxOutputs));
                ref float ap = ref Unsafe.Add(ref row0, p);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Create(ap), column, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref ap, stride)), column, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref ap, 2 * stride)), column, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref ap, 3 * stride)), column, a3);
                a4 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref ap, 4 * stride)), column, a4);
                a5 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref ap, 5 * stride)), column, a5);
                a6 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref ap, 6 * stride)), column, a6);
                a7 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref ap, 7 * stride)), column, a7);
            }
            Store(y, r, width, a0);
            Store(y, r + 1, width, a1);
            Store(y, r + 2, width, a2);
            Store(y, r + 3, width, a3);
            Store(y, r + 4, width, a4);
            Store(y, r + 5, width, a5);
            Store(y, r + 6, width, a6);
            Store(y, r + 7, width, a7);
        }
        for (; r < rows; r++)
        {
            Vector512<float> acc = init;
            ref float ar = ref Unsafe.Add(ref a, r * stride);
            for (int p = 0; p < count; p++)
            {
                acc = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref ar, p)), Vector512.LoadUnsafe(ref columns, (nuint)(p * MaxOutputs)), acc);
            }
            Store(y, r, width, acc);
        }
    }

    /// <summary>
    /// Writes row r's n outputs. A full-width store may spill into the following rows, which are stored after it (rows go
    /// in order); only near the end of y, where it would run past, are the n lanes copied on their own.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Span<float> y, int r, int n, Vector512<float> value)
    {
        if (r * n + MaxOutputs <= y.Length)
        {
            value.StoreUnsafe(ref MemoryMarshal.GetReference(y), (nuint)(r * n));
            return;
        }
        for (int j = 0; j < n; j++) y[r * n + j] = value.GetElement(j);
    }
}
