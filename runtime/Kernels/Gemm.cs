using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using StaticNet.Simd;

namespace StaticNet;

/// <summary>
/// The three matrix products of a Linear layer on row-major buffers, each written once over <see cref="IVector{TSelf}"/>.
/// Loops are tiled so that the block of weights in use stays in cache; every sum runs in a fixed order,
/// so results do not depend on anything but the inputs. Callers have validated all lengths.
/// </summary>
internal static class Gemm
{
    // Rows of B kept hot while the rows of A stream past, and the width of a K slice in the accumulating products.
    private const int RowBlock = 64;
    private const int KSlice = 256;

    // With few rows a product streams its weights once and is bound by reading them. From this many weights (256 KB, out
    // of L1's reach) they are split across threads, each core reading its own share from its own cache, and streamed
    // a row at a time; below it the split costs more than it saves.
    private const int LargeWeights = 1 << 16;

    [ThreadStatic] private static TransposedJob? s_transposedJob;
    [ThreadStatic] private static float[]? t_rows;

    /// <summary>
    /// C[m, n] = dot(A[m, :], B[n, :]) + bias[n], for A [M, K], B [N, K], C [M, N] (x W^T + b). Large weights are split by
    /// output columns across <see cref="Threading.NumThreads"/> threads; every column is summed the same way whatever the split.
    /// </summary>
    public static unsafe void MultiplyTransposed(ref float c, ref float a, ref float b, ref float bias, bool hasBias, int m, int n, int k)
    {
        if (m >= 4 && n > NarrowLinear.MaxOutputs && k % 16 == 0 && ((nuint)Unsafe.AsPointer(ref a) & 63) != 0 && Vector512.IsHardwareAccelerated)
        {
            // The streaming tiles below load a vector of each of three rows of A for every four of B, and a row that
            // starts off a cache line (a user's float[] starts anywhere) splits every such load across two lines. Copied
            // first to a line boundary (with k a multiple of 16 every row then starts on one): one AMD core, rows 16
            // bytes off, both ways in one process, three rounds, us: 784 x 256 at 4 / 8 / 16 / 23 rows 11.6-11.7 /
            // 20.0-20.4 / 43.3-46.4 / 60.7-64.8 -> 10.9-11.1 / 18.7-20.3 / 39.2-44.0 / 55.5-60.0; 1024 x 1024 at 8 / 16
            // 129 / 254-256 -> 115-116 / 216-239. Two rows gain nothing (the copy costs what it saves), nor do the AVX2
            // tiles, whose 32-byte loads split only every other time.
            float[]? buffer = t_rows;
            if (buffer is null || buffer.Length < m * k + 16) t_rows = buffer = AlignedArray.Allocate((long)m * k);
            ref float rows = ref buffer[AlignedArray.Start(buffer)];
            MemoryMarshal.CreateReadOnlySpan(ref a, m * k).CopyTo(MemoryMarshal.CreateSpan(ref rows, m * k));
            a = ref rows;
        }
        int threads = Threading.NumThreads;
        // Split across threads where that measured faster for this product on this machine (SplitCalibration).
        SplitCalibration.Trial trial = SplitCalibration.Begin(SplitCalibration.TransposedGemm, m, n, k * 2L + (hasBias ? 1 : 0),
            threads > 1 && (long)n * k >= LargeWeights && n >= 8 * threads ? threads : 1);
        if (trial.Parts > 1)
        {
            // The caller waits for every part, so the operands stay pinned for as long as the workers use them.
            fixed (float* pc = &c, pa = &a, pb = &b, pbias = &bias)
            {
                TransposedJob job = s_transposedJob ??= new TransposedJob();
                job.Set(pc, pa, pb, pbias, hasBias, m, n, k, threads);
                WorkerPool.Run(job, threads);
            }
        }
        else
        {
            MultiplyTransposedColumns(ref c, ref a, ref b, ref bias, hasBias, m, n, k, 0, n);
        }
        trial.End();
    }

    /// <summary>Columns [n0, n1) of <see cref="MultiplyTransposed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyTransposedColumns(ref float c, ref float a, ref float b, ref float bias, bool hasBias, int m, int n, int k, int n0, int n1)
    {
        if (Vector512.IsHardwareAccelerated && k >= Vec512.Count) MultiplyTransposed<Vec512>(ref c, ref a, ref b, ref bias, hasBias, m, n, k, n0, n1);
        else if (Vector256.IsHardwareAccelerated && k >= Vec256.Count) MultiplyTransposed<Vec256>(ref c, ref a, ref b, ref bias, hasBias, m, n, k, n0, n1);
        else if (Vector128.IsHardwareAccelerated && k >= Vec128.Count) MultiplyTransposed<Vec128>(ref c, ref a, ref b, ref bias, hasBias, m, n, k, n0, n1);
        else MultiplyTransposed<Scalar>(ref c, ref a, ref b, ref bias, hasBias, m, n, k, n0, n1);
    }

    /// <summary>One part of a split <see cref="MultiplyTransposed"/>: a range of output columns, in whole groups of 8.</summary>
    private sealed unsafe class TransposedJob : IPartitionedJob
    {
        private float* _c, _a, _b, _bias;
        private bool _hasBias;
        private int _m, _n, _k, _parts;

        public void Set(float* c, float* a, float* b, float* bias, bool hasBias, int m, int n, int k, int parts)
        {
            _c = c;
            _a = a;
            _b = b;
            _bias = bias;
            (_hasBias, _m, _n, _k, _parts) = (hasBias, m, n, k, parts);
        }

        public void Execute(int part)
        {
            int groups = (_n + 7) / 8;
            int n0 = (int)((long)groups * part / _parts) * 8, n1 = Math.Min(_n, (int)((long)groups * (part + 1) / _parts) * 8);
            if (n0 < n1) MultiplyTransposedColumns(ref *_c, ref *_a, ref *_b, ref *_bias, _hasBias, _m, _n, _k, n0, n1);
        }
    }

    /// <summary>
    /// C[i, j] += dot(A[i, :], B[j, :]) for A [M, K], B [N, K] and C [M, N] with row stride <paramref name="ldc"/>, on the
    /// calling thread: a convolution's weight gradient from the output gradient's rows and the patch matrix's rows, both
    /// contiguous along the long dimension, so nothing is packed. With AVX-512, tiles of 4 x 4 dot products share their
    /// loads (8 loads feed 16 multiply-adds); otherwise one row of A against four of B.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AccumulateDotTiles(ref float c, int ldc, ref float a, ref float b, int m, int n, int k)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 4 <= m; i += 4)
            {
                int j = 0;
                for (; j + 4 <= n; j += 4) DotTile4x4(ref Unsafe.Add(ref c, i * ldc + j), ldc, ref Unsafe.Add(ref a, i * k), ref Unsafe.Add(ref b, j * k), k);
                for (; j < n; j++)
                {
                    for (int r = 0; r < 4; r++) Unsafe.Add(ref c, (i + r) * ldc + j) += Dot<Vec512>(ref Unsafe.Add(ref a, (i + r) * k), ref Unsafe.Add(ref b, j * k), k);
                }
            }
        }
        for (; i < m; i++)
        {
            ref float row = ref Unsafe.Add(ref c, i * ldc);
            if (Vector128.IsHardwareAccelerated)
            {
                MultiplyTransposedColumns(ref row, ref Unsafe.Add(ref a, i * k), ref b, ref row, hasBias: true, 1, n, k, 0, n);
                continue;
            }
            // One lane: the sums run over thousands of positions (a chunk of samples), so they are kept in double.
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++) sum += (double)Unsafe.Add(ref a, i * k + p) * Unsafe.Add(ref b, j * k + p);
                Unsafe.Add(ref row, j) += (float)sum;
            }
        }
    }

    /// <summary>A 4 x 4 tile of <see cref="AccumulateDotTiles"/>: sixteen accumulators over the shared dimension, then their sums added to C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotTile4x4(ref float c, int ldc, ref float a, ref float b, int k)
    {
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        nint a1 = k, a2 = 2 * k, a3 = 3 * k;
        int p = 0;
        for (; p + 16 <= k; p += 16)
        {
            Vector512<float> x0 = Vector512.LoadUnsafe(ref a, (nuint)p), x1 = Vector512.LoadUnsafe(ref Unsafe.Add(ref a, a1), (nuint)p);
            Vector512<float> x2 = Vector512.LoadUnsafe(ref Unsafe.Add(ref a, a2), (nuint)p), x3 = Vector512.LoadUnsafe(ref Unsafe.Add(ref a, a3), (nuint)p);
            Vector512<float> y = Vector512.LoadUnsafe(ref b, (nuint)p);
            c00 = Vector512.FusedMultiplyAdd(x0, y, c00); c10 = Vector512.FusedMultiplyAdd(x1, y, c10); c20 = Vector512.FusedMultiplyAdd(x2, y, c20); c30 = Vector512.FusedMultiplyAdd(x3, y, c30);
            y = Vector512.LoadUnsafe(ref Unsafe.Add(ref b, a1), (nuint)p);
            c01 = Vector512.FusedMultiplyAdd(x0, y, c01); c11 = Vector512.FusedMultiplyAdd(x1, y, c11); c21 = Vector512.FusedMultiplyAdd(x2, y, c21); c31 = Vector512.FusedMultiplyAdd(x3, y, c31);
            y = Vector512.LoadUnsafe(ref Unsafe.Add(ref b, a2), (nuint)p);
            c02 = Vector512.FusedMultiplyAdd(x0, y, c02); c12 = Vector512.FusedMultiplyAdd(x1, y, c12); c22 = Vector512.FusedMultiplyAdd(x2, y, c22); c32 = Vector512.FusedMultiplyAdd(x3, y, c32);
            y = Vector512.LoadUnsafe(ref Unsafe.Add(ref b, a3), (nuint)p);
            c03 = Vector512.FusedMultiplyAdd(x0, y, c03); c13 = Vector512.FusedMultiplyAdd(x1, y, c13); c23 = Vector512.FusedMultiplyAdd(x2, y, c23); c33 = Vector512.FusedMultiplyAdd(x3, y, c33);
        }
        AddSums(ref c, Vec512.Sum4(new Vec512(c00), new Vec512(c01), new Vec512(c02), new Vec512(c03)), ref a, ref b, k, p);
        AddSums(ref Unsafe.Add(ref c, ldc), Vec512.Sum4(new Vec512(c10), new Vec512(c11), new Vec512(c12), new Vec512(c13)), ref Unsafe.Add(ref a, a1), ref b, k, p);
        AddSums(ref Unsafe.Add(ref c, 2 * ldc), Vec512.Sum4(new Vec512(c20), new Vec512(c21), new Vec512(c22), new Vec512(c23)), ref Unsafe.Add(ref a, a2), ref b, k, p);
        AddSums(ref Unsafe.Add(ref c, 3 * ldc), Vec512.Sum4(new Vec512(c30), new Vec512(c31), new Vec512(c32), new Vec512(c33)), ref Unsafe.Add(ref a, a3), ref b, k, p);
    }

    /// <summary>c[0..4] += the four sums, each finished with the last (k - p) products of its row of B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddSums(ref float c, Vector128<float> sums, ref float aRow, ref float b, int k, int p)
    {
        for (int j = 0; j < 4; j++)
        {
            float s = sums.GetElement(j);
            ref float bRow = ref Unsafe.Add(ref b, j * k);
            for (int q = p; q < k; q++) s = float.MultiplyAddEstimate(Unsafe.Add(ref aRow, q), Unsafe.Add(ref bRow, q), s);
            Unsafe.Add(ref c, j) += s;
        }
    }

    /// <summary>C[i, :] = sum over j of A[i, j] * B[j, :], for A [M, K], B [K, N], C [M, N] (the input gradient dY W).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(ref float c, ref float a, ref float b, int m, int n, int k)
    {
        if (Vector512.IsHardwareAccelerated && n >= Vec512.Count) Multiply<Vec512>(ref c, ref a, ref b, m, n, k);
        else if (Vector256.IsHardwareAccelerated && n >= Vec256.Count) Multiply<Vec256>(ref c, ref a, ref b, m, n, k);
        else if (Vector128.IsHardwareAccelerated && n >= Vec128.Count) Multiply<Vec128>(ref c, ref a, ref b, m, n, k);
        else Multiply<Scalar>(ref c, ref a, ref b, m, n, k);
    }

    /// <summary>C[i, :] += sum over r of A[r, i] * B[r, :], for A [R, M], B [R, N], C [M, N] (the weight gradient dY^T X).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AccumulateTransposed(ref float c, ref float a, ref float b, int m, int n, int r)
    {
        if (Vector512.IsHardwareAccelerated && n >= Vec512.Count) AccumulateTransposed<Vec512>(ref c, ref a, ref b, m, n, r);
        else if (Vector256.IsHardwareAccelerated && n >= Vec256.Count) AccumulateTransposed<Vec256>(ref c, ref a, ref b, m, n, r);
        else if (Vector128.IsHardwareAccelerated && n >= Vec128.Count) AccumulateTransposed<Vec128>(ref c, ref a, ref b, m, n, r);
        else AccumulateTransposed<Scalar>(ref c, ref a, ref b, m, n, r);
    }

    /// <summary>sum[j] += A[r, j] over all rows r, for A [R, N] (the bias gradient).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AccumulateColumnSums(ref float sum, ref float a, int rows, int n)
    {
        if (Vector512.IsHardwareAccelerated && n >= Vec512.Count) AccumulateColumnSums<Vec512>(ref sum, ref a, rows, n);
        else if (Vector256.IsHardwareAccelerated && n >= Vec256.Count) AccumulateColumnSums<Vec256>(ref sum, ref a, rows, n);
        else if (Vector128.IsHardwareAccelerated && n >= Vec128.Count) AccumulateColumnSums<Vec128>(ref sum, ref a, rows, n);
        else AccumulateColumnSums<Scalar>(ref sum, ref a, rows, n);
    }

    /// <summary>
    /// Blocks of columns: each vector of sums stays in a register over all rows (the same order as row by row). Eight
    /// vectors side by side keep eight independent chains of additions in flight and read each row's block contiguously;
    /// one vector at a time waited on each addition's latency (a 256 x 256 bias gradient: 5.0 -> 2.3 us).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AccumulateColumnSums<TV>(ref float sum, ref float a, int rows, int n) where TV : struct, IVector<TV>
    {
        int j = 0;
        for (; j + 8 * TV.Count <= n; j += 8 * TV.Count)
        {
            ref float s = ref Unsafe.Add(ref sum, j);
            TV s0 = TV.Load(ref s), s1 = TV.Load(ref Unsafe.Add(ref s, TV.Count)), s2 = TV.Load(ref Unsafe.Add(ref s, 2 * TV.Count));
            TV s3 = TV.Load(ref Unsafe.Add(ref s, 3 * TV.Count)), s4 = TV.Load(ref Unsafe.Add(ref s, 4 * TV.Count));
            TV s5 = TV.Load(ref Unsafe.Add(ref s, 5 * TV.Count)), s6 = TV.Load(ref Unsafe.Add(ref s, 6 * TV.Count));
            TV s7 = TV.Load(ref Unsafe.Add(ref s, 7 * TV.Count));
            for (int r = 0; r < rows; r++)
            {
                ref float row = ref Unsafe.Add(ref a, r * n + j);
                s0 = TV.Add(s0, TV.Load(ref row));
                s1 = TV.Add(s1, TV.Load(ref Unsafe.Add(ref row, TV.Count)));
                s2 = TV.Add(s2, TV.Load(ref Unsafe.Add(ref row, 2 * TV.Count)));
                s3 = TV.Add(s3, TV.Load(ref Unsafe.Add(ref row, 3 * TV.Count)));
                s4 = TV.Add(s4, TV.Load(ref Unsafe.Add(ref row, 4 * TV.Count)));
                s5 = TV.Add(s5, TV.Load(ref Unsafe.Add(ref row, 5 * TV.Count)));
                s6 = TV.Add(s6, TV.Load(ref Unsafe.Add(ref row, 6 * TV.Count)));
                s7 = TV.Add(s7, TV.Load(ref Unsafe.Add(ref row, 7 * TV.Count)));
            }
            TV.Store(s0, ref s);
            TV.Store(s1, ref Unsafe.Add(ref s, TV.Count));
            TV.Store(s2, ref Unsafe.Add(ref s, 2 * TV.Count));
            TV.Store(s3, ref Unsafe.Add(ref s, 3 * TV.Count));
            TV.Store(s4, ref Unsafe.Add(ref s, 4 * TV.Count));
            TV.Store(s5, ref Unsafe.Add(ref s, 5 * TV.Count));
            TV.Store(s6, ref Unsafe.Add(ref s, 6 * TV.Count));
            TV.Store(s7, ref Unsafe.Add(ref s, 7 * TV.Count));
        }
        for (; j + TV.Count <= n; j += TV.Count)
        {
            TV total = TV.Load(ref Unsafe.Add(ref sum, j));
            for (int r = 0; r < rows; r++) total = TV.Add(total, TV.Load(ref Unsafe.Add(ref a, r * n + j)));
            TV.Store(total, ref Unsafe.Add(ref sum, j));
        }
        for (; j < n; j++)
        {
            float total = Unsafe.Add(ref sum, j);
            for (int r = 0; r < rows; r++) total += Unsafe.Add(ref a, r * n + j);
            Unsafe.Add(ref sum, j) = total;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyTransposed<TV>(ref float c, ref float a, ref float b, ref float bias, bool hasBias, int m, int n, int k, int first, int end)
        where TV : struct, IVector<TV>
    {
        if (typeof(TV) == typeof(Vec512) && n > NarrowLinear.MaxOutputs)
        {
            // Only a few rows of A come (in a forward, fewer than Kernels.StreamedRows; larger batches take the packed
            // GEMM), so the weight is what is read.
            // Four rows of B at a time, read once for all the rows of A while they sit in L1 (reading the whole weight
            // once for each row of A, batch 4 took 2.5 times as long), two rows of A at a time, so that each loaded
            // vector feeds two or four multiply-adds. A 784 x 256 weight with AVX-512, one AMD core, old and new code
            // alternating: batch 4 24-33 -> 11.5-15 us; batch 1 the same as a row at a time (8-9 us), so four rows
            // streamed side by side arrive as fast as one (the eight-row kernel below, which reads one vector of each
            // row in turn, was 1.6 times slower). Weights that stay in L2 gain too (both kernels in one process, batch
            // 1 / 4, us: LeNet's 400 x 120 1.73-1.85 / 7.0-7.2 -> 1.54-1.62 / 2.42-2.46, 120 x 84 0.57-0.65 / 2.2-2.4
            // -> 0.47-0.49 / 1.32-1.40). Narrow layers keep the eight-row kernel, so that they sum exactly as
            // NarrowLinear does for larger batches.
            // A weight a little larger than L2 (800 KB against Zen 5's 1 MB, shared with everything else) read from
            // first to last on every call finds each line just evicted; read in the opposite order to the call before,
            // it starts with the lines that call read last, still in L2 (a plain read of those 800 KB: 7.9 -> 6.3 us;
            // batch-1 inference of that layer, both ways alternating in one process, six rounds: 8.7-9.0 -> 8.1-8.3
            // us). The order of the blocks changes no bit: each output is one dot product.
            // Three rows of A at a time where the rows allow (7 loads feed 12 multiply-adds; two rows: 6 feed 8), the
            // last two or four rows two at a time: both ways in one process, three rounds, us, 3 / 6 / 8 / 23 rows:
            // 784 x 256 11.2-12.4 / 17.1-20.6 / 21.7-23.1 / 56.4-59.0 -> 8.7-9.5 (one round 17) / 15.2-16.4 /
            // 20.2-21.2 / 56.1-58.0; 400 x 120 2.15-2.28 / 3.43-3.57 / 4.31-4.60 / 13.0-13.5 -> 1.78-1.84 / 3.21-3.30 /
            // 4.15-4.44 / 12.5-12.6; 1024 x 1024 62-74 / 97-110 / 137-141 / 324-332 -> 52-60 / 91-97 / 129-132 /
            // 301-316; 16 rows within 2%.
            int blocks = (end - first) / 4;
            bool backward = FlipDirection(ref b);
            for (int q = 0; q < blocks; q++)
            {
                int j = first + 4 * (backward ? blocks - 1 - q : q);
                ref float b0 = ref Unsafe.Add(ref b, j * k);
                Vector128<float> biasSums = hasBias ? Vector128.LoadUnsafe(ref Unsafe.Add(ref bias, j)) : default;
                int i = 0;
                int threes = m % 3 == 1 ? m / 3 - 1 : m / 3;
                for (int t = 0; t < threes; t++, i += 3)
                {
                    StreamingDot3x4(ref Unsafe.Add(ref a, i * k), ref b0, k, out Vector128<float> r0, out Vector128<float> r1, out Vector128<float> r2);
                    (r0 + biasSums).StoreUnsafe(ref Unsafe.Add(ref c, i * n + j));
                    (r1 + biasSums).StoreUnsafe(ref Unsafe.Add(ref c, (i + 1) * n + j));
                    (r2 + biasSums).StoreUnsafe(ref Unsafe.Add(ref c, (i + 2) * n + j));
                }
                for (; i + 2 <= m; i += 2)
                {
                    StreamingDot2x4(ref Unsafe.Add(ref a, i * k), ref b0, k, out Vector128<float> upper, out Vector128<float> lower);
                    (upper + biasSums).StoreUnsafe(ref Unsafe.Add(ref c, i * n + j));
                    (lower + biasSums).StoreUnsafe(ref Unsafe.Add(ref c, (i + 1) * n + j));
                }
                if (i < m) (StreamingDot4Rows(ref Unsafe.Add(ref a, i * k), ref b0, k) + biasSums).StoreUnsafe(ref Unsafe.Add(ref c, i * n + j));
            }
            for (int j = first + 4 * blocks; j < end; j++)
            {
                for (int i = 0; i < m; i++)
                {
                    float s = StreamingDot(ref Unsafe.Add(ref a, i * k), ref Unsafe.Add(ref b, j * k), k);
                    Unsafe.Add(ref c, i * n + j) = hasBias ? s + Unsafe.Add(ref bias, j) : s;
                }
            }
            return;
        }
        if (typeof(TV) == typeof(Vec256) && n > NarrowLinear.MaxOutputs && m >= 2)
        {
            // AVX2 and a few rows of A: four rows of B at a time against two rows of A at a time, each loaded vector of B
            // feeding two multiply-adds and B read once for all the rows of A; every output summed exactly as Dot4
            // below sums it (one accumulator, its lanes, its last features), so the bits are those of one row alone
            // and of this code before. Measured with AVX-512 switched off (one AMD core, both ways in one process): a
            // 784 x 256 weight, batch 2 / 4 / 7, 15.7-16.2 / 30.8-32.1 / 54-56 -> 8.3-8.6 / 16.1-16.3 / 31.4-32.0 us;
            // LeNet's 400 x 120 3.5-3.6 / 7.0-7.3 / 12.3-12.7 -> 1.95-2.01 / 3.8-4.0 / 7.4-7.7. One row stays with Dot8.
            int blocks = (end - first) / 4;
            for (int q = 0; q < blocks; q++)
            {
                int j = first + 4 * q;
                ref float b0 = ref Unsafe.Add(ref b, j * k);
                Vector128<float> biasSums = hasBias ? Vector128.LoadUnsafe(ref Unsafe.Add(ref bias, j)) : default;
                int i = 0;
                for (; i + 2 <= m; i += 2)
                {
                    Dot2x4Avx2(ref Unsafe.Add(ref a, i * k), ref b0, k, out Vector128<float> upper, out Vector128<float> lower);
                    (upper + biasSums).StoreUnsafe(ref Unsafe.Add(ref c, i * n + j));
                    (lower + biasSums).StoreUnsafe(ref Unsafe.Add(ref c, (i + 1) * n + j));
                }
                if (i < m)
                {
                    Dot4<TV>(ref Unsafe.Add(ref a, i * k), ref b0, ref Unsafe.Add(ref b0, k), ref Unsafe.Add(ref b0, 2 * k), ref Unsafe.Add(ref b0, 3 * k), k,
                        out float s0, out float s1, out float s2, out float s3);
                    (Vector128.Create(s0, s1, s2, s3) + biasSums).StoreUnsafe(ref Unsafe.Add(ref c, i * n + j));
                }
            }
            for (int j = first + 4 * blocks; j < end; j++)
            {
                for (int i = 0; i < m; i++)
                {
                    float s = Dot<TV>(ref Unsafe.Add(ref a, i * k), ref Unsafe.Add(ref b, j * k), k);
                    Unsafe.Add(ref c, i * n + j) = hasBias ? s + Unsafe.Add(ref bias, j) : s;
                }
            }
            return;
        }
        for (int n0 = first; n0 < end; n0 += RowBlock)
        {
            int n1 = Math.Min(end, n0 + RowBlock);
            for (int i = 0; i < m; i++)
            {
                ref float aRow = ref Unsafe.Add(ref a, i * k);
                ref float cRow = ref Unsafe.Add(ref c, i * n);
                int j = n0;
                for (; j + 8 <= n1; j += 8)
                {
                    Dot8<TV>(ref aRow, ref Unsafe.Add(ref b, j * k), k, ref Unsafe.Add(ref cRow, j), ref Unsafe.Add(ref bias, hasBias ? j : 0), hasBias);
                }
                for (; j + 4 <= n1; j += 4)
                {
                    ref float b0 = ref Unsafe.Add(ref b, j * k);
                    Dot4<TV>(ref aRow, ref b0, ref Unsafe.Add(ref b0, k), ref Unsafe.Add(ref b0, 2 * k), ref Unsafe.Add(ref b0, 3 * k), k,
                        out float s0, out float s1, out float s2, out float s3);
                    Unsafe.Add(ref cRow, j) = hasBias ? s0 + Unsafe.Add(ref bias, j) : s0;
                    Unsafe.Add(ref cRow, j + 1) = hasBias ? s1 + Unsafe.Add(ref bias, j + 1) : s1;
                    Unsafe.Add(ref cRow, j + 2) = hasBias ? s2 + Unsafe.Add(ref bias, j + 2) : s2;
                    Unsafe.Add(ref cRow, j + 3) = hasBias ? s3 + Unsafe.Add(ref bias, j + 3) : s3;
                }
                for (; j < n1; j++)
                {
                    float s = Dot<TV>(ref aRow, ref Unsafe.Add(ref b, j * k), k);
                    Unsafe.Add(ref cRow, j) = hasBias ? s + Unsafe.Add(ref bias, j) : s;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]

    private static void Multiply<TV>(ref float c, ref float a, ref float b, int m, int n, int k) where TV : struct, IVector<TV>
    {
        MemoryMarshal.CreateSpan(ref c, m * n).Clear();
        for (int n0 = 0; n0 < n; n0 += KSlice)
        {
            int width = Math.Min(KSlice, n - n0);
            for (int i = 0; i < m; i++)
            {
                ref float cRow = ref Unsafe.Add(ref c, i * n + n0);
                ref float aRow = ref Unsafe.Add(ref a, i * k);
                int j = 0;
                for (; j + 4 <= k; j += 4)
                {
                    ref float b0 = ref Unsafe.Add(ref b, j * n + n0);
                    AddScaledRows4<TV>(ref cRow, ref b0, ref Unsafe.Add(ref b0, n), ref Unsafe.Add(ref b0, 2 * n), ref Unsafe.Add(ref b0, 3 * n),
                        aRow.At(j), aRow.At(j + 1), aRow.At(j + 2), aRow.At(j + 3), width);
                }
                for (; j < k; j++) AddScaledRow<TV>(ref cRow, ref Unsafe.Add(ref b, j * n + n0), aRow.At(j), width);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]

    private static void AccumulateTransposed<TV>(ref float c, ref float a, ref float b, int m, int n, int r) where TV : struct, IVector<TV>
    {
        for (int n0 = 0; n0 < n; n0 += KSlice)
        {
            int width = Math.Min(KSlice, n - n0);
            int row = 0;
            for (; row + 4 <= r; row += 4)
            {
                ref float b0 = ref Unsafe.Add(ref b, row * n + n0);
                ref float a0 = ref Unsafe.Add(ref a, row * m);
                for (int i = 0; i < m; i++)
                {
                    AddScaledRows4<TV>(ref Unsafe.Add(ref c, i * n + n0), ref b0, ref Unsafe.Add(ref b0, n), ref Unsafe.Add(ref b0, 2 * n), ref Unsafe.Add(ref b0, 3 * n),
                        a0.At(i), a0.At(m + i), a0.At(2 * m + i), a0.At(3 * m + i), width);
                }
            }
            for (; row < r; row++)
            {
                for (int i = 0; i < m; i++)
                {
                    AddScaledRow<TV>(ref Unsafe.Add(ref c, i * n + n0), ref Unsafe.Add(ref b, row * n + n0), Unsafe.Add(ref a, row * m + i), width);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float At(this ref float origin, int index) => Unsafe.Add(ref origin, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot<TV>(ref float x, ref float y, int k) where TV : struct, IVector<TV>
    {
        TV acc = TV.Create(0f);
        int i = 0;
        for (; i + TV.Count <= k; i += TV.Count)
        {
            acc = TV.MultiplyAdd(TV.Load(ref Unsafe.Add(ref x, i)), TV.Load(ref Unsafe.Add(ref y, i)), acc);
        }
        float sum = TV.Sum(acc);
        for (; i < k; i++) sum = float.MultiplyAddEstimate(Unsafe.Add(ref x, i), Unsafe.Add(ref y, i), sum);
        return sum;
    }

    // Per thread, the direction each streamed weight was last read in, one bit for each of 64 slots picked by the
    // weight's address (two weights in one slot only share a direction: a matter of speed, not of results).
    [ThreadStatic] private static ulong t_backward;

    /// <summary>Whether to stream the weight at <paramref name="weight"/> backward this time: the opposite of the last time.</summary>
    private static unsafe bool FlipDirection(ref float weight)
    {
        ulong bit = 1UL << (int)(((nuint)Unsafe.AsPointer(ref weight) >> 12) & 63);
        t_backward ^= bit;
        return (t_backward & bit) != 0;
    }

    /// <summary>
    /// Four dot products of one row x with four consecutive rows of y (stride k): each vector of x loaded once for the
    /// four, two accumulators a row (the even and the odd vectors, a last odd one in the first), then each row's pair,
    /// its lanes, and its last features. Written on Vector512 itself: through the IVector wrapper the JIT copies every
    /// product into its accumulator and loads both operands separately, which costs here, where each multiply-add waits
    /// on a load streamed from L2. <see cref="StreamingDot"/> sums a single row in the same order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> StreamingDot4Rows(ref float x, ref float y, int k)
    {
        Vector512<float> a0 = default, a1 = default, b0 = default, b1 = default, c0 = default, c1 = default, d0 = default, d1 = default;
        ref float y1 = ref Unsafe.Add(ref y, k), y2 = ref Unsafe.Add(ref y, 2 * k), y3 = ref Unsafe.Add(ref y, 3 * k);
        nuint i = 0;
        for (; (int)i + 32 <= k; i += 32)
        {
            Add1x4(Vector512.LoadUnsafe(ref x, i), ref y, ref y1, ref y2, ref y3, i, ref a0, ref b0, ref c0, ref d0);
            Add1x4(Vector512.LoadUnsafe(ref x, i + 16), ref y, ref y1, ref y2, ref y3, i + 16, ref a1, ref b1, ref c1, ref d1);
        }
        if ((int)i + 16 <= k)
        {
            Add1x4(Vector512.LoadUnsafe(ref x, i), ref y, ref y1, ref y2, ref y3, i, ref a0, ref b0, ref c0, ref d0);
            i += 16;
        }
        return NarrowLinear.Finish(ref x, ref y, ref y1, ref y2, ref y3, (int)i, k, new Vec512(a0 + a1), new Vec512(b0 + b1), new Vec512(c0 + c1), new Vec512(d0 + d1));
    }

    /// <summary>One vector of x times the vectors at <paramref name="i"/> of four rows of y, added to four accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add1x4(Vector512<float> x, ref float y0, ref float y1, ref float y2, ref float y3, nuint i,
        ref Vector512<float> s0, ref Vector512<float> s1, ref Vector512<float> s2, ref Vector512<float> s3)
    {
        s0 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref y0, i), s0);
        s1 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref y1, i), s1);
        s2 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref y2, i), s2);
        s3 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref y3, i), s3);
    }

    /// <summary>
    /// <see cref="StreamingDot4Rows"/> for two consecutive rows of x (stride k) at once, each loaded vector of y shared by
    /// both: eight dot products, each summed exactly as there.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StreamingDot2x4(ref float x, ref float y, int k, out Vector128<float> first, out Vector128<float> second)
    {
        Vector512<float> a0 = default, a1 = default, b0 = default, b1 = default, c0 = default, c1 = default, d0 = default, d1 = default;
        Vector512<float> e0 = default, e1 = default, f0 = default, f1 = default, g0 = default, g1 = default, h0 = default, h1 = default;
        ref float x2 = ref Unsafe.Add(ref x, k);
        ref float y1 = ref Unsafe.Add(ref y, k), y2 = ref Unsafe.Add(ref y, 2 * k), y3 = ref Unsafe.Add(ref y, 3 * k);
        nuint i = 0;
        for (; (int)i + 32 <= k; i += 32)
        {
            Add2x4(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref x2, i), ref y, ref y1, ref y2, ref y3, i,
                ref a0, ref b0, ref c0, ref d0, ref e0, ref f0, ref g0, ref h0);
            Add2x4(Vector512.LoadUnsafe(ref x, i + 16), Vector512.LoadUnsafe(ref x2, i + 16), ref y, ref y1, ref y2, ref y3, i + 16,
                ref a1, ref b1, ref c1, ref d1, ref e1, ref f1, ref g1, ref h1);
        }
        if ((int)i + 16 <= k)
        {
            Add2x4(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref x2, i), ref y, ref y1, ref y2, ref y3, i,
                ref a0, ref b0, ref c0, ref d0, ref e0, ref f0, ref g0, ref h0);
            i += 16;
        }
        first = NarrowLinear.Finish(ref x, ref y, ref y1, ref y2, ref y3, (int)i, k, new Vec512(a0 + a1), new Vec512(b0 + b1), new Vec512(c0 + c1), new Vec512(d0 + d1));
        second = NarrowLinear.Finish(ref x2, ref y, ref y1, ref y2, ref y3, (int)i, k, new Vec512(e0 + e1), new Vec512(f0 + f1), new Vec512(g0 + g1), new Vec512(h0 + h1));
    }

    /// <summary>
    /// <see cref="StreamingDot4Rows"/> for three consecutive rows of x (stride k) at once, each loaded vector of y shared by
    /// the three: twelve dot products, each summed exactly as there.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StreamingDot3x4(ref float x, ref float y, int k, out Vector128<float> first, out Vector128<float> second, out Vector128<float> third)
    {
        Vector512<float> a0 = default, a1 = default, b0 = default, b1 = default, c0 = default, c1 = default, d0 = default, d1 = default;
        Vector512<float> e0 = default, e1 = default, f0 = default, f1 = default, g0 = default, g1 = default, h0 = default, h1 = default;
        Vector512<float> p0 = default, p1 = default, q0 = default, q1 = default, r0 = default, r1 = default, s0 = default, s1 = default;
        ref float x2 = ref Unsafe.Add(ref x, k), x3 = ref Unsafe.Add(ref x, 2 * k);
        ref float y1 = ref Unsafe.Add(ref y, k), y2 = ref Unsafe.Add(ref y, 2 * k), y3 = ref Unsafe.Add(ref y, 3 * k);
        nuint i = 0;
        for (; (int)i + 32 <= k; i += 32)
        {
            Add3x4(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref x2, i), Vector512.LoadUnsafe(ref x3, i), ref y, ref y1, ref y2, ref y3, i,
                ref a0, ref b0, ref c0, ref d0, ref e0, ref f0, ref g0, ref h0, ref p0, ref q0, ref r0, ref s0);
            Add3x4(Vector512.LoadUnsafe(ref x, i + 16), Vector512.LoadUnsafe(ref x2, i + 16), Vector512.LoadUnsafe(ref x3, i + 16), ref y, ref y1, ref y2, ref y3, i + 16,
                ref a1, ref b1, ref c1, ref d1, ref e1, ref f1, ref g1, ref h1, ref p1, ref q1, ref r1, ref s1);
        }
        if ((int)i + 16 <= k)
        {
            Add3x4(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref x2, i), Vector512.LoadUnsafe(ref x3, i), ref y, ref y1, ref y2, ref y3, i,
                ref a0, ref b0, ref c0, ref d0, ref e0, ref f0, ref g0, ref h0, ref p0, ref q0, ref r0, ref s0);
            i += 16;
        }
        first = NarrowLinear.Finish(ref x, ref y, ref y1, ref y2, ref y3, (int)i, k, new Vec512(a0 + a1), new Vec512(b0 + b1), new Vec512(c0 + c1), new Vec512(d0 + d1));
        second = NarrowLinear.Finish(ref x2, ref y, ref y1, ref y2, ref y3, (int)i, k, new Vec512(e0 + e1), new Vec512(f0 + f1), new Vec512(g0 + g1), new Vec512(h0 + h1));
        third = NarrowLinear.Finish(ref x3, ref y, ref y1, ref y2, ref y3, (int)i, k, new Vec512(p0 + p1), new Vec512(q0 + q1), new Vec512(r0 + r1), new Vec512(s0 + s1));
    }

    /// <summary>Three vectors (one of each row of x) times the vectors at <paramref name="i"/> of four rows of y, each loaded once for the three.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add3x4(Vector512<float> x, Vector512<float> z, Vector512<float> v, ref float y0, ref float y1, ref float y2, ref float y3, nuint i,
        ref Vector512<float> s0, ref Vector512<float> s1, ref Vector512<float> s2, ref Vector512<float> s3,
        ref Vector512<float> t0, ref Vector512<float> t1, ref Vector512<float> t2, ref Vector512<float> t3,
        ref Vector512<float> u0, ref Vector512<float> u1, ref Vector512<float> u2, ref Vector512<float> u3)
    {
        Add3(x, z, v, Vector512.LoadUnsafe(ref y0, i), ref s0, ref t0, ref u0);
        Add3(x, z, v, Vector512.LoadUnsafe(ref y1, i), ref s1, ref t1, ref u1);
        Add3(x, z, v, Vector512.LoadUnsafe(ref y2, i), ref s2, ref t2, ref u2);
        Add3(x, z, v, Vector512.LoadUnsafe(ref y3, i), ref s3, ref t3, ref u3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add3(Vector512<float> x, Vector512<float> z, Vector512<float> v, Vector512<float> w,
        ref Vector512<float> s, ref Vector512<float> t, ref Vector512<float> u)
    {
        s = Vector512.FusedMultiplyAdd(x, w, s);
        t = Vector512.FusedMultiplyAdd(z, w, t);
        u = Vector512.FusedMultiplyAdd(v, w, u);
    }

    /// <summary>
    /// Two vectors (one of each row of x) times the vectors at <paramref name="i"/> of four rows of y, each of those
    /// loaded once for both, added to eight accumulators (s: the first row's, t: the second's).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add2x4(Vector512<float> x, Vector512<float> z, ref float y0, ref float y1, ref float y2, ref float y3, nuint i,
        ref Vector512<float> s0, ref Vector512<float> s1, ref Vector512<float> s2, ref Vector512<float> s3,
        ref Vector512<float> t0, ref Vector512<float> t1, ref Vector512<float> t2, ref Vector512<float> t3)
    {
        Add2(x, z, Vector512.LoadUnsafe(ref y0, i), ref s0, ref t0);
        Add2(x, z, Vector512.LoadUnsafe(ref y1, i), ref s1, ref t1);
        Add2(x, z, Vector512.LoadUnsafe(ref y2, i), ref s2, ref t2);
        Add2(x, z, Vector512.LoadUnsafe(ref y3, i), ref s3, ref t3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add2(Vector512<float> x, Vector512<float> z, Vector512<float> w, ref Vector512<float> s, ref Vector512<float> t)
    {
        s = Vector512.FusedMultiplyAdd(x, w, s);
        t = Vector512.FusedMultiplyAdd(z, w, t);
    }

    /// <summary>
    /// Eight dot products with Vector256: two consecutive rows of x (stride k) against four of y, each summed as
    /// <see cref="Dot4{TV}"/> sums it. Written on Vector256 itself, as the AVX-512 kernels above on Vector512.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot2x4Avx2(ref float x, ref float y, int k, out Vector128<float> first, out Vector128<float> second)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, e0 = default, e1 = default, e2 = default, e3 = default;
        ref float x2 = ref Unsafe.Add(ref x, k);
        ref float y1 = ref Unsafe.Add(ref y, k), y2 = ref Unsafe.Add(ref y, 2 * k), y3 = ref Unsafe.Add(ref y, 3 * k);
        nuint i = 0;
        for (; (int)i + 8 <= k; i += 8)
        {
            Vector256<float> x0 = Vector256.LoadUnsafe(ref x, i), z0 = Vector256.LoadUnsafe(ref x2, i);
            Vector256<float> w = Vector256.LoadUnsafe(ref y, i);
            a0 = Vector256.MultiplyAddEstimate(x0, w, a0);
            e0 = Vector256.MultiplyAddEstimate(z0, w, e0);
            w = Vector256.LoadUnsafe(ref y1, i);
            a1 = Vector256.MultiplyAddEstimate(x0, w, a1);
            e1 = Vector256.MultiplyAddEstimate(z0, w, e1);
            w = Vector256.LoadUnsafe(ref y2, i);
            a2 = Vector256.MultiplyAddEstimate(x0, w, a2);
            e2 = Vector256.MultiplyAddEstimate(z0, w, e2);
            w = Vector256.LoadUnsafe(ref y3, i);
            a3 = Vector256.MultiplyAddEstimate(x0, w, a3);
            e3 = Vector256.MultiplyAddEstimate(z0, w, e3);
        }
        first = NarrowLinear.Finish(ref x, ref y, ref y1, ref y2, ref y3, (int)i, k, new Vec256(a0), new Vec256(a1), new Vec256(a2), new Vec256(a3));
        second = NarrowLinear.Finish(ref x2, ref y, ref y1, ref y2, ref y3, (int)i, k, new Vec256(e0), new Vec256(e1), new Vec256(e2), new Vec256(e3));
    }

    /// <summary>One dot product summed exactly as each row of <see cref="StreamingDot4Rows"/>: for the last rows of B.</summary>
    private static float StreamingDot(ref float x, ref float y, int k)
    {
        Vector512<float> a0 = default, a1 = default;
        nuint i = 0;
        for (; (int)i + 32 <= k; i += 32)
        {
            a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref y, i), a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x, i + 16), Vector512.LoadUnsafe(ref y, i + 16), a1);
        }
        if ((int)i + 16 <= k)
        {
            a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref y, i), a0);
            i += 16;
        }
        float sum = Vec512.Sum(new Vec512(a0 + a1));
        for (; (int)i < k; i++) sum = float.MultiplyAddEstimate(Unsafe.Add(ref x, i), Unsafe.Add(ref y, i), sum);
        return sum;
    }

    /// <summary>Eight dot products of one row of A with eight consecutive rows of B (stride k), written with the bias to c[0..8].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot8<TV>(ref float x, ref float y, int k, ref float c, ref float bias, bool hasBias) where TV : struct, IVector<TV>
    {
        TV a0 = TV.Create(0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        int i = 0;
        for (; i + TV.Count <= k; i += TV.Count)
        {
            TV xv = TV.Load(ref Unsafe.Add(ref x, i));
            ref float yi = ref Unsafe.Add(ref y, i);
            a0 = TV.MultiplyAdd(xv, TV.Load(ref yi), a0);
            a1 = TV.MultiplyAdd(xv, TV.Load(ref Unsafe.Add(ref yi, k)), a1);
            a2 = TV.MultiplyAdd(xv, TV.Load(ref Unsafe.Add(ref yi, 2 * k)), a2);
            a3 = TV.MultiplyAdd(xv, TV.Load(ref Unsafe.Add(ref yi, 3 * k)), a3);
            a4 = TV.MultiplyAdd(xv, TV.Load(ref Unsafe.Add(ref yi, 4 * k)), a4);
            a5 = TV.MultiplyAdd(xv, TV.Load(ref Unsafe.Add(ref yi, 5 * k)), a5);
            a6 = TV.MultiplyAdd(xv, TV.Load(ref Unsafe.Add(ref yi, 6 * k)), a6);
            a7 = TV.MultiplyAdd(xv, TV.Load(ref Unsafe.Add(ref yi, 7 * k)), a7);
        }
        Vector256<float> sums = Vector256.Create(TV.Sum4(a0, a1, a2, a3), TV.Sum4(a4, a5, a6, a7));
        for (int r = 0; r < 8; r++)
        {
            float sum = sums.GetElement(r);
            ref float row = ref Unsafe.Add(ref y, r * k);
            for (int t = i; t < k; t++) sum = float.MultiplyAddEstimate(Unsafe.Add(ref x, t), Unsafe.Add(ref row, t), sum);
            Unsafe.Add(ref c, r) = hasBias ? sum + Unsafe.Add(ref bias, r) : sum;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot4<TV>(ref float x, ref float y0, ref float y1, ref float y2, ref float y3, int k,
        out float s0, out float s1, out float s2, out float s3) where TV : struct, IVector<TV>
    {
        TV a0 = TV.Create(0f), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (; i + TV.Count <= k; i += TV.Count)
        {
            TV xv = TV.Load(ref Unsafe.Add(ref x, i));
            a0 = TV.MultiplyAdd(xv, TV.Load(ref Unsafe.Add(ref y0, i)), a0);
            a1 = TV.MultiplyAdd(xv, TV.Load(ref Unsafe.Add(ref y1, i)), a1);
            a2 = TV.MultiplyAdd(xv, TV.Load(ref Unsafe.Add(ref y2, i)), a2);
            a3 = TV.MultiplyAdd(xv, TV.Load(ref Unsafe.Add(ref y3, i)), a3);
        }
        Vector128<float> sums = TV.Sum4(a0, a1, a2, a3);
        s0 = sums.GetElement(0);
        s1 = sums.GetElement(1);
        s2 = sums.GetElement(2);
        s3 = sums.GetElement(3);
        for (; i < k; i++)
        {
            float xs = Unsafe.Add(ref x, i);
            s0 = float.MultiplyAddEstimate(xs, Unsafe.Add(ref y0, i), s0);
            s1 = float.MultiplyAddEstimate(xs, Unsafe.Add(ref y1, i), s1);
            s2 = float.MultiplyAddEstimate(xs, Unsafe.Add(ref y2, i), s2);
            s3 = float.MultiplyAddEstimate(xs, Unsafe.Add(ref y3, i), s3);
        }
    }

    /// <summary>row += s0 * x0 + s1 * x1 + s2 * x2 + s3 * x3, reading and writing row once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaledRows4<TV>(ref float row, ref float x0, ref float x1, ref float x2, ref float x3,
        float s0, float s1, float s2, float s3, int n) where TV : struct, IVector<TV>
    {
        TV v0 = TV.Create(s0), v1 = TV.Create(s1), v2 = TV.Create(s2), v3 = TV.Create(s3);
        int i = 0;
        for (; i + TV.Count <= n; i += TV.Count)
        {
            ref float target = ref Unsafe.Add(ref row, i);
            TV sum = TV.MultiplyAdd(v0, TV.Load(ref Unsafe.Add(ref x0, i)), TV.Load(ref target));
            sum = TV.MultiplyAdd(v1, TV.Load(ref Unsafe.Add(ref x1, i)), sum);
            sum = TV.MultiplyAdd(v2, TV.Load(ref Unsafe.Add(ref x2, i)), sum);
            TV.Store(TV.MultiplyAdd(v3, TV.Load(ref Unsafe.Add(ref x3, i)), sum), ref target);
        }
        for (; i < n; i++)
        {
            ref float target = ref Unsafe.Add(ref row, i);
            float sum = float.MultiplyAddEstimate(s0, Unsafe.Add(ref x0, i), target);
            sum = float.MultiplyAddEstimate(s1, Unsafe.Add(ref x1, i), sum);
            sum = float.MultiplyAddEstimate(s2, Unsafe.Add(ref x2, i), sum);
            target = float.MultiplyAddEstimate(s3, Unsafe.Add(ref x3, i), sum);
        }
    }

    /// <summary>row += s * x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaledRow<TV>(ref float row, ref float x, float s, int n) where TV : struct, IVector<TV>
    {
        TV v = TV.Create(s);
        int i = 0;
        for (; i + TV.Count <= n; i += TV.Count)
        {
            ref float target = ref Unsafe.Add(ref row, i);
            TV.Store(TV.MultiplyAdd(v, TV.Load(ref Unsafe.Add(ref x, i)), TV.Load(ref target)), ref target);
        }
        for (; i < n; i++)
        {
            ref float target = ref Unsafe.Add(ref row, i);
            target = float.MultiplyAddEstimate(s, Unsafe.Add(ref x, i), target);
        }
    }
}
