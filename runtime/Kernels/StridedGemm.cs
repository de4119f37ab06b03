using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StaticNet;

/// <summary>
/// C[m, n] (+)= A B through strides (A(i, p) = a[i * aRow + p * aCol], B(p, j) = b[p * bRow + j * bCol], C row-major),
/// for the convolutions: the packed GEMM where the machine has its micro-kernel, otherwise a plain loop that sums every
/// element in the same order (row of A times rows of B, vectorised along the rows of B when they are contiguous).
/// </summary>
internal static class StridedGemm
{
    /// <summary>On the calling thread: for products that are one part of a job already split across threads.</summary>
    public static void MultiplyOnThisThread(ref float c, ref float a, int aRow, int aCol, ref float b, int bRow, int bCol, int m, int n, int k, bool accumulate, bool relu = false)
    {
        if (PackedGemm.IsSupported) PackedGemm.MultiplyOnThisThread(ref c, ref a, aRow, aCol, ref b, bRow, bCol, m, n, k, accumulate, relu);
        else Fallback(ref c, ref a, aRow, aCol, ref b, bRow, bCol, m, n, k, accumulate, relu);
    }

    /// <summary>Split across threads where the product is large enough (every element still summed by one thread, in one order).</summary>
    public static void Multiply(ref float c, ref float a, int aRow, int aCol, ref float b, int bRow, int bCol, int m, int n, int k, bool accumulate)
    {
        if (PackedGemm.IsSupported) PackedGemm.Multiply(ref c, ref a, aRow, aCol, ref b, bRow, bCol, m, n, k, accumulate);
        else Fallback(ref c, ref a, aRow, aCol, ref b, bRow, bCol, m, n, k, accumulate, relu: false);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Fallback(ref float c, ref float a, int aRow, int aCol, ref float b, int bRow, int bCol, int m, int n, int k, bool accumulate, bool relu)
    {
        for (int i = 0; i < m; i++)
        {
            Span<float> row = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref c, i * n), n);
            if (!accumulate) row.Clear();
            for (int p = 0; p < k; p++)
            {
                float x = Unsafe.Add(ref a, i * aRow + p * aCol);
                ref float bp = ref Unsafe.Add(ref b, p * bRow);
                if (bCol == 1)
                {
                    TensorPrimitives.MultiplyAdd(MemoryMarshal.CreateReadOnlySpan(ref bp, n), x, row, row);
                }
                else
                {
                    for (int j = 0; j < n; j++) row[j] += x * Unsafe.Add(ref bp, j * bCol);
                }
            }
            if (relu) TensorPrimitives.Max(row, 0f, row);
        }
    }
}
