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
/// order, as the other kernels do. (The backward products of such layers go through NarrowLinear.) With AVX2 alone, the
/// same per input as two Vector256 halves, four rows at a time: every lane's sum is the same chain, so the same bits.
/// </summary>
internal static class SmallLinear
{
    public const int MaxOutputs = 16;
    public const int MaxInputs = 32;

    public static bool Applies(int outFeatures, int inFeatures) =>
        (Vector512.IsHardwareAccelerated || In256) && outFeatures <= MaxOutputs && inFeatures <= MaxInputs;

    /// <summary>AVX2 and FMA without AVX-512: the 256-bit form.</summary>
    private static bool In256 => !Vector512.IsHardwareAccelerated && Vector256.IsHardwareAccelerated && Fma.IsSupported;

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
        if (In256)
        {
            RowsTimesColumns256(y, ref MemoryMarshal.GetReference(x), k, ref wt, rows, n, k, Vector256.Create<float>(start), Vector256.Create<float>(start.Slice(8)));
            return;
        }
        Vector512<float> init = Vector512.Create<float>(start);
        RowsTimesColumns(y, ref MemoryMarshal.GetReference(x), k, ref wt, rows, n, k, init);
    }

    /// <summary>
    /// <see cref="RowsTimesColumns"/> with AVX2: each 16-lane column as two halves (the upper one only for more than 8
    /// outputs), four rows at a time (8 accumulators of AVX2's 16 registers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsTimesColumns256(Span<float> y, ref float a, int stride, ref float columns, int rows, int width, int count, Vector256<float> low, Vector256<float> high)
    {
        bool upper = width > 8;
        int r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            Vector256<float> a0 = low, a1 = low, a2 = low, a3 = low, b0 = high, b1 = high, b2 = high, b3 = high;
            ref float row0 = ref Unsafe.Add(ref a, r * stride);
            for (int p = 0; p < count; p++)
            {
                ref float ap = ref Unsafe.Add(ref row0, p);
                Vector256<float> x0 = Vector256.Create(ap), x1 = Vector256.Create(Unsafe.Add(ref ap, stride));
                Vector256<float> x2 = Vector256.Create(Unsafe.Add(ref ap, 2 * stride)), x3 = Vector256.Create(Unsafe.Add(ref ap, 3 * stride));
                Vector256<float> column = Vector256.LoadUnsafe(ref columns, (nuint)(p * MaxOutputs));
                a0 = Fma.MultiplyAdd(x0, column, a0);
                a1 = Fma.MultiplyAdd(x1, column, a1);
                a2 = Fma.MultiplyAdd(x2, column, a2);
                a3 = Fma.MultiplyAdd(x3, column, a3);
                if (!upper) continue;
                column = Vector256.LoadUnsafe(ref columns, (nuint)(p * MaxOutputs + 8));
                b0 = Fma.MultiplyAdd(x0, column, b0);
                b1 = Fma.MultiplyAdd(x1, column, b1);
                b2 = Fma.MultiplyAdd(x2, column, b2);
                b3 = Fma.MultiplyAdd(x3, column, b3);
            }
            Store(y, r, width, a0, b0);
            Store(y, r + 1, width, a1, b1);
            Store(y, r + 2, width, a2, b2);
            Store(y, r + 3, width, a3, b3);
        }
        for (; r < rows; r++)
        {
            Vector256<float> acc = low, accHigh = high;
            ref float ar = ref Unsafe.Add(ref a, r * stride);
            for (int p = 0; p < count; p++)
            {
                Vector256<float> x = Vector256.Create(Unsafe.Add(ref ar, p));
                acc = Fma.MultiplyAdd(x, Vector256.LoadUnsafe(ref columns, (nuint)(p * MaxOutputs)), acc);
                if (upper) accHigh = Fma.MultiplyAdd(x, Vector256.LoadUnsafe(ref columns, (nuint)(p * MaxOutputs + 8)), accHigh);
            }
            Store(y, r, width, acc, accHigh);
        }
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
    /// <summary><see cref="Store(Span{float}, int, int, Vector512{float})"/> for two halves (the upper one ignored for at most 8 outputs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Span<float> y, int r, int n, Vector256<float> low, Vector256<float> high)
    {
        if (r * n + MaxOutputs <= y.Length)
        {
            low.StoreUnsafe(ref MemoryMarshal.GetReference(y), (nuint)(r * n));
            if (n > 8) high.StoreUnsafe(ref MemoryMarshal.GetReference(y), (nuint)(r * n + 8));
            return;
        }
        for (int j = 0; j < n; j++) y[r * n + j] = j < 8 ? low.GetElement(j) : high.GetElement(j - 8);
    }

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
