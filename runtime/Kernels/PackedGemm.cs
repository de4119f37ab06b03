using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace StaticNet;

/// <summary>
/// A packed, register-blocked matrix product for the Linear layer's three products, in the style of BLIS:
/// C[M, N] (+)= A · B, where A and B are read through row and column strides, so that x W^T, dY^T X and dY W all run
/// without a transposing copy of the operands. B is packed into panels of <see cref="Nr"/> columns and A into panels of
/// <see cref="Mr"/> rows (both zero-padded), and a micro-kernel keeps an Mr x Nr block of C in registers:
/// 8 x 32 floats (16 Vector512 accumulators) with AVX-512, 6 x 16 (12 Vector256) with AVX2.
/// Every element of C is summed in the same order whatever the block it falls in, so results do not depend on the
/// blocking or on how the work is split. Packing buffers are per thread and reused: no allocation once warm.
/// </summary>
internal static class PackedGemm
{
    private const int KBlock = 256;
    private const int MBlock = 96;
    private const int NBlock = 512;

    [ThreadStatic] private static float[]? s_packedA;
    [ThreadStatic] private static float[]? s_packedB;

    /// <summary>True where a micro-kernel exists for this machine (AVX-512 or AVX2).</summary>
    public static bool IsSupported => Vector512.IsHardwareAccelerated || Vector256.IsHardwareAccelerated;

    private static int Mr => Vector512.IsHardwareAccelerated ? 8 : 6;

    private static int Nr => Vector512.IsHardwareAccelerated ? 32 : 16;

    /// <summary>
    /// C[i, j] = (accumulate ? C[i, j] : 0) + sum over p of A(i, p) B(p, j), with A(i, p) = a[i * aRow + p * aCol],
    /// B(p, j) = b[p * bRow + j * bCol] and C row-major [m, n]. Callers have checked every length.
    /// </summary>
    public static void Multiply(ref float c, ref float a, int aRow, int aCol, ref float b, int bRow, int bCol, int m, int n, int k, bool accumulate)
    {
        int mr = Mr, nr = Nr;
        float[] packedA = Scratch(ref s_packedA, MBlock * KBlock);
        float[] packedB = Scratch(ref s_packedB, NBlock * KBlock);
        for (int j0 = 0; j0 < n; j0 += NBlock)
        {
            int nc = Math.Min(NBlock, n - j0);
            for (int p0 = 0; p0 < k; p0 += KBlock)
            {
                int kc = Math.Min(KBlock, k - p0);
                bool add = accumulate || p0 > 0;
                PackB(packedB, ref Unsafe.Add(ref b, p0 * bRow + j0 * bCol), bRow, bCol, kc, nc, nr);
                for (int i0 = 0; i0 < m; i0 += MBlock)
                {
                    int mc = Math.Min(MBlock, m - i0);
                    PackA(packedA, ref Unsafe.Add(ref a, i0 * aRow + p0 * aCol), aRow, aCol, mc, kc, mr);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int cols = Math.Min(nr, nc - jr);
                        ref float bPanel = ref packedB[jr * kc];
                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            int rows = Math.Min(mr, mc - ir);
                            ref float cTile = ref Unsafe.Add(ref c, (i0 + ir) * n + j0 + jr);
                            ref float aPanel = ref packedA[ir * kc];
                            if (rows == mr && cols == nr)
                            {
                                MicroKernel(kc, ref aPanel, ref bPanel, ref cTile, n, add);
                            }
                            else
                            {
                                EdgeTile(kc, ref aPanel, ref bPanel, ref cTile, n, add, rows, cols, mr, nr);
                            }
                        }
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MicroKernel(int kc, ref float a, ref float b, ref float c, int ldc, bool add)
    {
        if (Vector512.IsHardwareAccelerated) Kernel8x32(kc, ref a, ref b, ref c, ldc, add);
        else Kernel6x16(kc, ref a, ref b, ref c, ldc, add);
    }

    /// <summary>A partial tile at the bottom or right edge: the full micro-kernel into a scratch tile, then its valid part into C.</summary>
    private static void EdgeTile(int kc, ref float a, ref float b, ref float c, int ldc, bool add, int rows, int cols, int mr, int nr)
    {
        Span<float> tile = stackalloc float[8 * 32];
        ref float t = ref MemoryMarshal.GetReference(tile);
        MicroKernel(kc, ref a, ref b, ref t, nr, add: false);
        for (int i = 0; i < rows; i++)
        {
            ref float cRow = ref Unsafe.Add(ref c, i * ldc);
            ref float tRow = ref Unsafe.Add(ref t, i * nr);
            for (int j = 0; j < cols; j++)
            {
                Unsafe.Add(ref cRow, j) = add ? Unsafe.Add(ref cRow, j) + Unsafe.Add(ref tRow, j) : Unsafe.Add(ref tRow, j);
            }
        }
    }

    private static void Kernel8x32(int kc, ref float a, ref float b, ref float c, int ldc, bool add)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            ref float bp = ref Unsafe.Add(ref b, p * 32);
            ref float ap = ref Unsafe.Add(ref a, p * 8);
            Vector512<float> b0 = Vector512.LoadUnsafe(ref bp), b1 = Vector512.LoadUnsafe(ref bp, 16);
            Vector512<float> x = Vector512.Create(ap);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(Unsafe.Add(ref ap, 1));
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(Unsafe.Add(ref ap, 2));
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(Unsafe.Add(ref ap, 3));
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(Unsafe.Add(ref ap, 4));
            c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(Unsafe.Add(ref ap, 5));
            c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(Unsafe.Add(ref ap, 6));
            c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(Unsafe.Add(ref ap, 7));
            c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
        }
        Store512(ref c, c00, c01, add);
        Store512(ref Unsafe.Add(ref c, ldc), c10, c11, add);
        Store512(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, add);
        Store512(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, add);
        Store512(ref Unsafe.Add(ref c, 4 * ldc), c40, c41, add);
        Store512(ref Unsafe.Add(ref c, 5 * ldc), c50, c51, add);
        Store512(ref Unsafe.Add(ref c, 6 * ldc), c60, c61, add);
        Store512(ref Unsafe.Add(ref c, 7 * ldc), c70, c71, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(ref float c, Vector512<float> left, Vector512<float> right, bool add)
    {
        if (add)
        {
            left += Vector512.LoadUnsafe(ref c);
            right += Vector512.LoadUnsafe(ref c, 16);
        }
        left.StoreUnsafe(ref c);
        right.StoreUnsafe(ref c, 16);
    }

    private static void Kernel6x16(int kc, ref float a, ref float b, ref float c, int ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            ref float bp = ref Unsafe.Add(ref b, p * 16);
            ref float ap = ref Unsafe.Add(ref a, p * 6);
            Vector256<float> b0 = Vector256.LoadUnsafe(ref bp), b1 = Vector256.LoadUnsafe(ref bp, 8);
            Vector256<float> x = Vector256.Create(ap);
            c00 = Vector256.MultiplyAddEstimate(x, b0, c00); c01 = Vector256.MultiplyAddEstimate(x, b1, c01);
            x = Vector256.Create(Unsafe.Add(ref ap, 1));
            c10 = Vector256.MultiplyAddEstimate(x, b0, c10); c11 = Vector256.MultiplyAddEstimate(x, b1, c11);
            x = Vector256.Create(Unsafe.Add(ref ap, 2));
            c20 = Vector256.MultiplyAddEstimate(x, b0, c20); c21 = Vector256.MultiplyAddEstimate(x, b1, c21);
            x = Vector256.Create(Unsafe.Add(ref ap, 3));
            c30 = Vector256.MultiplyAddEstimate(x, b0, c30); c31 = Vector256.MultiplyAddEstimate(x, b1, c31);
            x = Vector256.Create(Unsafe.Add(ref ap, 4));
            c40 = Vector256.MultiplyAddEstimate(x, b0, c40); c41 = Vector256.MultiplyAddEstimate(x, b1, c41);
            x = Vector256.Create(Unsafe.Add(ref ap, 5));
            c50 = Vector256.MultiplyAddEstimate(x, b0, c50); c51 = Vector256.MultiplyAddEstimate(x, b1, c51);
        }
        Store256(ref c, c00, c01, add);
        Store256(ref Unsafe.Add(ref c, ldc), c10, c11, add);
        Store256(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, add);
        Store256(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, add);
        Store256(ref Unsafe.Add(ref c, 4 * ldc), c40, c41, add);
        Store256(ref Unsafe.Add(ref c, 5 * ldc), c50, c51, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(ref float c, Vector256<float> left, Vector256<float> right, bool add)
    {
        if (add)
        {
            left += Vector256.LoadUnsafe(ref c);
            right += Vector256.LoadUnsafe(ref c, 8);
        }
        left.StoreUnsafe(ref c);
        right.StoreUnsafe(ref c, 8);
    }

    /// <summary>Packs B[kc, nc] into panels of nr columns: panel j holds, for each p, the nr values B(p, j*nr ..), zero-padded.</summary>
    private static void PackB(float[] packed, ref float b, int bRow, int bCol, int kc, int nc, int nr)
    {
        for (int j0 = 0; j0 < nc; j0 += nr)
        {
            int cols = Math.Min(nr, nc - j0);
            Span<float> panel = packed.AsSpan(j0 * kc, kc * nr);
            ref float dst = ref MemoryMarshal.GetReference(panel);
            if (bCol == 1)
            {
                for (int p = 0; p < kc; p++)
                {
                    ref float src = ref Unsafe.Add(ref b, p * bRow + j0);
                    ref float row = ref Unsafe.Add(ref dst, p * nr);
                    if (cols == nr) MemoryMarshal.CreateReadOnlySpan(ref src, nr).CopyTo(MemoryMarshal.CreateSpan(ref row, nr));
                    else CopyPadded(ref src, 1, ref row, cols, nr);
                }
            }
            else
            {
                if (cols < nr) panel.Clear();
                for (int j = 0; j < cols; j++)
                {
                    ref float src = ref Unsafe.Add(ref b, (j0 + j) * bCol);
                    for (int p = 0; p < kc; p++) Unsafe.Add(ref dst, p * nr + j) = Unsafe.Add(ref src, p * bRow);
                }
            }
        }
    }

    /// <summary>Packs A[mc, kc] into panels of mr rows: panel i holds, for each p, the mr values A(i*mr .., p), zero-padded.</summary>
    private static void PackA(float[] packed, ref float a, int aRow, int aCol, int mc, int kc, int mr)
    {
        for (int i0 = 0; i0 < mc; i0 += mr)
        {
            int rows = Math.Min(mr, mc - i0);
            Span<float> panel = packed.AsSpan(i0 * kc, kc * mr);
            ref float dst = ref MemoryMarshal.GetReference(panel);
            if (aRow == 1)
            {
                for (int p = 0; p < kc; p++) CopyPadded(ref Unsafe.Add(ref a, i0 + p * aCol), 1, ref Unsafe.Add(ref dst, p * mr), rows, mr);
            }
            else
            {
                if (rows < mr) panel.Clear();
                for (int i = 0; i < rows; i++)
                {
                    ref float src = ref Unsafe.Add(ref a, (i0 + i) * aRow);
                    for (int p = 0; p < kc; p++) Unsafe.Add(ref dst, p * mr + i) = Unsafe.Add(ref src, p * aCol);
                }
            }
        }
    }

    private static void CopyPadded(ref float src, int stride, ref float dst, int count, int width)
    {
        int i = 0;
        for (; i < count; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref src, i * stride);
        for (; i < width; i++) Unsafe.Add(ref dst, i) = 0f;
    }

    private static float[] Scratch(ref float[]? buffer, int length) => buffer ??= new float[length];
}
