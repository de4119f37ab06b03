using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using StaticNet.Simd;

namespace StaticNet;

/// <summary>
/// A packed, register-blocked matrix product for the Linear layer's three products, in the style of BLIS:
/// C[M, N] (+)= A · B, where A and B are read through row and column strides, so that x W^T, dY^T X and dY W all run
/// without a transposing copy of the operands. A transposed B (x W^T) is packed into zero-padded panels of Nr columns by
/// 8 x 8 register transposes; a B with contiguous rows (dY^T X, dY W) is read in place, all but a panel cut by the right
/// edge. A is read in place
/// through its strides, Mr rows at a time (only a tile cut by the bottom edge is copied), and a micro-kernel keeps an
/// Mr x Nr block of C in registers: 8 x 32 floats (16 Vector512 accumulators) with AVX-512 (8 x 16 for outputs of at
/// most 16 columns), 6 x 16 (12 Vector256) with AVX2.
/// Every element of C is summed in the same order whatever the block it falls in, so results do not depend on the
/// blocking or on how the work is split. Packing buffers are per thread, reused and 64-byte aligned: no allocation once
/// warm, and no packed vector straddles two cache lines.
/// </summary>
internal static class PackedGemm
{
    private const int KBlock = 256;
    private const int NBlock = 512;

    [ThreadStatic] private static float[]? s_packedB;
    [ThreadStatic] private static float[]? s_edgeA;

    /// <summary>True where a micro-kernel exists for this machine (AVX-512 or AVX2).</summary>
    public static bool IsSupported => Vector512.IsHardwareAccelerated || Vector256.IsHardwareAccelerated;

    private static int Mr => Vector512.IsHardwareAccelerated ? 8 : 6;

    private static int Nr => Vector512.IsHardwareAccelerated ? 32 : 16;

    // Products smaller than this many multiply-adds stay on one thread: waking a worker costs more than it saves.
    private const long ParallelThreshold = 1L << 21;

    [ThreadStatic] private static GemmJob? s_job;

    /// <summary>
    /// C[i, j] = (accumulate ? C[i, j] : 0) + sum over p of A(i, p) B(p, j), with A(i, p) = a[i * aRow + p * aCol],
    /// B(p, j) = b[p * bRow + j * bCol] and C row-major [m, n]. Callers have checked every length. Large products are
    /// split by columns (or, when C is narrow, by rows) across <see cref="Threading.NumThreads"/> threads.
    /// </summary>
    /// <remarks>With <paramref name="relu"/>, C = max(that, 0), applied where the last depth block is stored (Linear then ReLU).</remarks>
    public static void Multiply(ref float c, ref float a, int aRow, int aCol, ref float b, int bRow, int bCol, int m, int n, int k, bool accumulate, bool relu = false) =>
        Multiply(ref c, ref a, aRow, aCol, ref b, bRow, bCol, m, n, k, accumulate ? Start.FromC : Start.FromZero, ref Unsafe.NullRef<float>(), relu, ref Unsafe.NullRef<float>());

    /// <summary>
    /// C[i, j] = bias[j] + sum over p of A(i, p) B(p, j), as <see cref="Multiply(ref float, ref float, int, int, ref float, int, int, int, int, int, bool, bool)"/>:
    /// the bias enters where the first depth block is stored, so C is not filled with it in a pass of its own, and every
    /// element is summed in the same order as when C starts from the bias.
    /// </summary>
    public static void MultiplyAddBias(ref float c, ref float a, int aRow, int aCol, ref float b, int bRow, int bCol, int m, int n, int k, ref float bias, bool relu = false) =>
        Multiply(ref c, ref a, aRow, aCol, ref b, bRow, bCol, m, n, k, Start.FromBias, ref bias, relu, ref Unsafe.NullRef<float>());

    /// <summary>
    /// y = x W^T (+ bias, then max(., 0) with <paramref name="relu"/>) for x [m, k] row-major, with W [n, k] packed
    /// beforehand by <see cref="PackWeight"/>: the panels are read where they are instead of being packed on every call.
    /// The same sums in the same order as <see cref="MultiplyAddBias"/> on W itself, so the same bits.
    /// </summary>
    public static void MultiplyPrepacked(ref float y, ref float x, ref float packed, ref float bias, bool hasBias, int m, int n, int k, bool relu) =>
        Multiply(ref y, ref x, k, 1, ref packed, 0, 0, m, n, k, hasBias ? Start.FromBias : Start.FromZero, ref bias, relu, ref packed);

    /// <summary>Floats <see cref="PackWeight"/> writes for a weight of <paramref name="n"/> rows by <paramref name="k"/>.</summary>
    public static long PackedWeightLength(int n, int k) => (long)((n + Nr - 1) / Nr) * Nr * k;

    /// <summary>
    /// Packs W [n, k] whole as x W^T's B: panel J (columns J Nr to J Nr + Nr - 1) holds, for each p in turn, those
    /// columns' Nr values at depth p (zero past n), panel after panel, so that any depth block of any panel is Nr-strided
    /// rows at a fixed place, as <see cref="MultiplyBlock"/> packs them per call. <paramref name="packed"/> should start
    /// on a 64-byte boundary.
    /// </summary>
    public static void PackWeight(Span<float> packed, ReadOnlySpan<float> weight, int n, int k)
    {
        Debug.Assert(packed.Length >= PackedWeightLength(n, k) && weight.Length >= (long)n * k);
        PackB(packed, ref MemoryMarshal.GetReference(weight), 1, k, k, n, Nr);
    }

    /// <summary>
    /// As <see cref="Multiply(ref float, ref float, int, int, ref float, int, int, int, int, int, bool, bool)"/>, always on the
    /// calling thread: for products that are parts of a job already split across threads (one sample of a convolution).
    /// </summary>
    public static void MultiplyOnThisThread(ref float c, ref float a, int aRow, int aCol, ref float b, int bRow, int bCol, int m, int n, int k, bool accumulate, bool relu = false) =>
        MultiplyBlock(ref c, n, ref a, aRow, aCol, ref b, bRow, bCol, m, n, k, accumulate ? Start.FromC : Start.FromZero, ref Unsafe.NullRef<float>(), relu, ref Unsafe.NullRef<float>());

    /// <summary>What the sums are added to: nothing, C itself, or a bias row repeated down C.</summary>
    private enum Start { FromZero, FromC, FromBias }

    /// <remarks><paramref name="prepacked"/>, where not a null reference, is B packed whole by <see cref="PackWeight"/>.</remarks>
    private static unsafe void Multiply(ref float c, ref float a, int aRow, int aCol, ref float b, int bRow, int bCol, int m, int n, int k, Start start, ref float bias, bool relu,
        ref float prepacked)
    {
        bool isPrepacked = !Unsafe.IsNullRef(ref prepacked);
        int threads = Threading.NumThreads;
        if (threads > 1 && (long)m * n * k >= ParallelThreshold)
        {
            // By rows when B is read in place (no packing to repeat per thread): a weight gradient then splits like the
            // optimizer step over the arena, and each core keeps updating the rows it computed. Otherwise by columns,
            // so that each thread packs only its share of B (a forward weight stays split the same way).
            bool rowsPay = m >= 2 * threads * Mr, columnsPay = n >= 2 * threads * Nr;
            bool byColumns = columnsPay && !(rowsPay && bCol == 1);
            if (byColumns || rowsPay)
            {
                // Whether the split beats the calling thread alone is measured per product on this machine (SplitCalibration).
                SplitCalibration.Trial trial = SplitCalibration.Begin(SplitCalibration.PackedGemm, m, n,
                    ((((long)k * 2 + (isPrepacked ? 1 : 0)) * 2 + (aCol == 1 ? 0 : 1)) * 2 + (bCol == 1 ? 1 : 0)) * 4 + (int)start, threads);
                if (trial.Parts > 1)
                {
                    // The caller waits for every part, so the operands stay pinned for as long as the workers use them.
                    fixed (float* pc = &c, pa = &a, pb = &b, pBias = &bias, pPre = &prepacked)
                    {
                        GemmJob job = s_job ??= new GemmJob();
                        job.Set(pc, pa, aRow, aCol, pb, bRow, bCol, m, n, k, start, pBias, relu, threads, byColumns, pPre);
                        WorkerPool.Run(job, threads);
                    }
                }
                else
                {
                    MultiplyBlock(ref c, n, ref a, aRow, aCol, ref b, bRow, bCol, m, n, k, start, ref bias, relu, ref prepacked);
                }
                trial.End();
                return;
            }
        }
        MultiplyBlock(ref c, n, ref a, aRow, aCol, ref b, bRow, bCol, m, n, k, start, ref bias, relu, ref prepacked);
    }

    /// <summary>One part of a split product: a range of columns or of rows of C, aligned to whole tiles.</summary>
    private sealed unsafe class GemmJob : IPartitionedJob
    {
        private float* _c, _a, _b, _bias, _prepacked;
        private int _aRow, _aCol, _bRow, _bCol, _m, _n, _k, _parts;
        private Start _start;
        private bool _relu, _byColumns;

        public void Set(float* c, float* a, int aRow, int aCol, float* b, int bRow, int bCol, int m, int n, int k, Start start, float* bias, bool relu, int parts, bool byColumns,
            float* prepacked)
        {
            _prepacked = prepacked;
            _c = c;
            _a = a;
            _b = b;
            _bias = bias;
            (_aRow, _aCol, _bRow, _bCol) = (aRow, aCol, bRow, bCol);
            (_m, _n, _k, _start, _relu, _parts, _byColumns) = (m, n, k, start, relu, parts, byColumns);
        }

        public void Execute(int part)
        {
            int total = _byColumns ? _n : _m, unit = _byColumns ? Nr : Mr;
            int tiles = (total + unit - 1) / unit;
            int start = (int)((long)tiles * part / _parts) * unit;
            int end = Math.Min(total, (int)((long)tiles * (part + 1) / _parts) * unit);
            if (start >= end) return;
            if (_byColumns)
            {
                // A prepacked B's panels for these columns start start / Nr panels in (start is a whole number of panels).
                MultiplyBlock(ref *(_c + start), _n, ref *_a, _aRow, _aCol, ref *(_b + (long)start * _bCol), _bRow, _bCol, _m, end - start, _k, _start,
                    ref _start == Start.FromBias ? ref *(_bias + start) : ref Unsafe.NullRef<float>(), _relu,
                    ref _prepacked == null ? ref Unsafe.NullRef<float>() : ref *(_prepacked + (long)start * _k));
            }
            else
            {
                MultiplyBlock(ref *(_c + (long)start * _n), _n, ref *(_a + (long)start * _aRow), _aRow, _aCol, ref *_b, _bRow, _bCol, end - start, _n, _k, _start,
                    ref _start == Start.FromBias ? ref *_bias : ref Unsafe.NullRef<float>(), _relu,
                    ref _prepacked == null ? ref Unsafe.NullRef<float>() : ref *_prepacked);
            }
        }
    }

    /// <summary>The serial product on a block of C with row stride <paramref name="ldc"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyBlock(ref float c, int ldc, ref float a, int aRow, int aCol, ref float b, int bRow, int bCol, int m, int n, int k, Start start, ref float bias, bool relu,
        ref float prepacked)
    {
        bool isPrepacked = !Unsafe.IsNullRef(ref prepacked);
        // Narrow outputs (a classifier's 10 logits) use half-width tiles, so that less of each tile is padding (a
        // prepacked B has full-width panels, which the 8 x 16 kernel reads the left half of where 16 columns are left).
        bool narrow = Vector512.IsHardwareAccelerated && n <= 16 && !isPrepacked;
        int mr = Mr, nr = narrow ? 16 : Nr;
        Span<float> packedB = Scratch(ref s_packedB, NBlock * KBlock);
        Span<float> edgeA = Scratch(ref s_edgeA, 8 * KBlock);
        // Equal depth blocks (784 = 4 x 196 rather than 3 x 256 + 16): a short last block costs a whole pass over C.
        int kBlock = (k + (k + KBlock - 1) / KBlock - 1) / ((k + KBlock - 1) / KBlock);
        for (int j0 = 0; j0 < n; j0 += NBlock)
        {
            int nc = Math.Min(NBlock, n - j0);
            for (int p0 = 0; p0 < k; p0 += kBlock)
            {
                int kc = Math.Min(kBlock, k - p0);
                // A tile's sums are stored added to C (a later depth block, or accumulating), to the bias row, or alone.
                Start from = p0 > 0 ? Start.FromC : start;
                bool add = from != Start.FromZero;
                int initStride = from == Start.FromC ? ldc : 0;
                bool clamp = relu && p0 + kc == k; // ReLU once the sums are complete
                // Rows of B that are contiguous (dY W, dY^T X) are read in place by full panels; only a panel cut by the
                // right edge is copied, zero-padded. A transposed B (x W^T) is packed whole, unless it was beforehand.
                bool inPlace = bCol == 1;
                int packFrom = inPlace ? nc - nc % nr : 0;
                if (packFrom < nc && !isPrepacked) PackB(packedB, ref Unsafe.Add(ref b, p0 * bRow + (j0 + packFrom) * bCol), bRow, bCol, kc, nc - packFrom, nr);
                // Full row tiles read A in place through its strides; a tile cut by the bottom edge is copied once, zero-padded.
                int edgeRows = m % mr, edgeStart = m - edgeRows;
                if (edgeRows > 0) PackEdgeA(edgeA, ref Unsafe.Add(ref a, edgeStart * aRow + p0 * aCol), aRow, aCol, edgeRows, kc, mr);
                for (int jr = 0; jr < nc; jr += nr)
                {
                    int cols = Math.Min(nr, nc - jr);
                    bool panelInPlace = jr < packFrom;
                    ref float bPanel = ref panelInPlace ? ref Unsafe.Add(ref b, p0 * bRow + j0 + jr)
                        : ref isPrepacked ? ref Unsafe.Add(ref prepacked, (nint)(j0 + jr) * k + p0 * nr) : ref packedB[(jr - packFrom) * kc];
                    int ldb = panelInPlace ? bRow : nr;
                    for (int ir = 0; ir < m; ir += mr)
                    {
                        int rows = Math.Min(mr, m - ir);
                        ref float cTile = ref Unsafe.Add(ref c, ir * ldc + j0 + jr);
                        ref float init = ref from == Start.FromBias ? ref Unsafe.Add(ref bias, j0 + jr) : ref cTile;
                        ref float aTile = ref Unsafe.Add(ref a, ir * aRow + p0 * aCol);
                        int rs = aRow, cs = aCol;
                        if (rows < mr)
                        {
                            aTile = ref edgeA[0];
                            rs = 1;
                            cs = mr;
                        }
                        if (rows == mr && cols == nr) MicroKernel(kc, ref aTile, rs, cs, ref bPanel, ldb, ref cTile, ldc, add, ref init, initStride, clamp, narrow);
                        // A full-height tile of 16 columns (784 = 24 x 32 + 16) is the half-width kernel's, stored in place.
                        else if (rows == mr && cols == 16 && nr == 32) Kernel8x16(kc, ref aTile, rs, cs, ref bPanel, ldb, ref cTile, ldc, add, ref init, initStride, clamp);
                        else EdgeTile(kc, ref aTile, rs, cs, ref bPanel, ldb, ref cTile, ldc, add, ref init, initStride, clamp, rows, cols, nr, narrow);
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MicroKernel(int kc, ref float a, int rs, int cs, ref float b, int ldb, ref float c, int ldc, bool add, ref float init, int initStride, bool clamp, bool narrow)
    {
        if (narrow) Kernel8x16(kc, ref a, rs, cs, ref b, ldb, ref c, ldc, add, ref init, initStride, clamp);
        else if (Vector512.IsHardwareAccelerated) Kernel8x32(kc, ref a, rs, cs, ref b, ldb, ref c, ldc, add, ref init, initStride, clamp);
        else Kernel6x16(kc, ref a, rs, cs, ref b, ldb, ref c, ldc, add, ref init, initStride, clamp);
    }

    /// <summary>A tile cut by the right or bottom edge: the full micro-kernel into a scratch tile, then its valid part into C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit] // the micro-kernel writes the whole scratch tile
    private static void EdgeTile(int kc, ref float a, int rs, int cs, ref float b, int ldb, ref float c, int ldc, bool add, ref float init, int initStride,
        bool clamp, int rows, int cols, int nr, bool narrow)
    {
        Span<float> tile = stackalloc float[8 * 32];
        ref float t = ref MemoryMarshal.GetReference(tile);
        // At most 16 columns (784 = 24 x 32 + 16) take the half-width kernel: the same sums, half the work.
        MicroKernel(kc, ref a, rs, cs, ref b, ldb, ref t, nr, add: false, ref t, 0, clamp: false, narrow || (nr == 32 && cols <= 16));
        for (int i = 0; i < rows; i++)
        {
            ref float cRow = ref Unsafe.Add(ref c, i * ldc);
            ref float initRow = ref Unsafe.Add(ref init, i * initStride);
            ref float tRow = ref Unsafe.Add(ref t, i * nr);
            for (int j = 0; j < cols; j++)
            {
                float value = add ? Unsafe.Add(ref initRow, j) + Unsafe.Add(ref tRow, j) : Unsafe.Add(ref tRow, j);
                Unsafe.Add(ref cRow, j) = clamp ? MathF.Max(value, 0f) : value; // MathF.Max keeps NaN, as the vector Max does
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel8x32(int kc, ref float a, int rs, int cs, ref float b, int ldb, ref float c, int ldc, bool add, ref float init, int initStride, bool clamp)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        // Rows 4-7 are addressed from a second base, so that the offsets stay in registers; both bases and the B row move
        // by one step of p (an add each, not a multiply).
        nint r1 = rs, r2 = 2 * rs, r3 = 3 * rs, aStep = cs, bStep = ldb;
        ref float ap = ref a, aq = ref Unsafe.Add(ref a, 4 * r1), bp = ref b;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.LoadUnsafe(ref bp), b1 = Vector512.LoadUnsafe(ref bp, 16);
            Vector512<float> x = Vector512.Create(ap);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(Unsafe.Add(ref ap, r1));
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(Unsafe.Add(ref ap, r2));
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(Unsafe.Add(ref ap, r3));
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(aq);
            c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(Unsafe.Add(ref aq, r1));
            c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(Unsafe.Add(ref aq, r2));
            c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(Unsafe.Add(ref aq, r3));
            c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            ap = ref Unsafe.Add(ref ap, aStep);
            aq = ref Unsafe.Add(ref aq, aStep);
            bp = ref Unsafe.Add(ref bp, bStep);
        }
        Store512(ref c, ref init, c00, c01, add, clamp);
        Store512(ref Unsafe.Add(ref c, ldc), ref Unsafe.Add(ref init, initStride), c10, c11, add, clamp);
        Store512(ref Unsafe.Add(ref c, 2 * ldc), ref Unsafe.Add(ref init, 2 * initStride), c20, c21, add, clamp);
        Store512(ref Unsafe.Add(ref c, 3 * ldc), ref Unsafe.Add(ref init, 3 * initStride), c30, c31, add, clamp);
        Store512(ref Unsafe.Add(ref c, 4 * ldc), ref Unsafe.Add(ref init, 4 * initStride), c40, c41, add, clamp);
        Store512(ref Unsafe.Add(ref c, 5 * ldc), ref Unsafe.Add(ref init, 5 * initStride), c50, c51, add, clamp);
        Store512(ref Unsafe.Add(ref c, 6 * ldc), ref Unsafe.Add(ref init, 6 * initStride), c60, c61, add, clamp);
        Store512(ref Unsafe.Add(ref c, 7 * ldc), ref Unsafe.Add(ref init, 7 * initStride), c70, c71, add, clamp);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel8x16(int kc, ref float a, int rs, int cs, ref float b, int ldb, ref float c, int ldc, bool add, ref float init, int initStride, bool clamp)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        nint r1 = rs, r2 = 2 * rs, r3 = 3 * rs, aStep = cs, bStep = ldb;
        ref float ap = ref a, aq = ref Unsafe.Add(ref a, 4 * r1), bp = ref b;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.LoadUnsafe(ref bp);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(ap), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref ap, r1)), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref ap, r2)), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref ap, r3)), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(aq), b0, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref aq, r1)), b0, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref aq, r2)), b0, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref aq, r3)), b0, c7);
            ap = ref Unsafe.Add(ref ap, aStep);
            aq = ref Unsafe.Add(ref aq, aStep);
            bp = ref Unsafe.Add(ref bp, bStep);
        }
        Store512(ref c, ref init, c0, add, clamp);
        Store512(ref Unsafe.Add(ref c, ldc), ref Unsafe.Add(ref init, initStride), c1, add, clamp);
        Store512(ref Unsafe.Add(ref c, 2 * ldc), ref Unsafe.Add(ref init, 2 * initStride), c2, add, clamp);
        Store512(ref Unsafe.Add(ref c, 3 * ldc), ref Unsafe.Add(ref init, 3 * initStride), c3, add, clamp);
        Store512(ref Unsafe.Add(ref c, 4 * ldc), ref Unsafe.Add(ref init, 4 * initStride), c4, add, clamp);
        Store512(ref Unsafe.Add(ref c, 5 * ldc), ref Unsafe.Add(ref init, 5 * initStride), c5, add, clamp);
        Store512(ref Unsafe.Add(ref c, 6 * ldc), ref Unsafe.Add(ref init, 6 * initStride), c6, add, clamp);
        Store512(ref Unsafe.Add(ref c, 7 * ldc), ref Unsafe.Add(ref init, 7 * initStride), c7, add, clamp);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(ref float c, ref float init, Vector512<float> value, bool add, bool clamp)
    {
        if (add) value = Vector512.LoadUnsafe(ref init) + value;
        if (clamp) value = Vector512.Max(value, Vector512<float>.Zero);
        value.StoreUnsafe(ref c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(ref float c, ref float init, Vector512<float> left, Vector512<float> right, bool add, bool clamp)
    {
        if (add)
        {
            left = Vector512.LoadUnsafe(ref init) + left;
            right = Vector512.LoadUnsafe(ref init, 16) + right;
        }
        if (clamp)
        {
            left = Vector512.Max(left, Vector512<float>.Zero);
            right = Vector512.Max(right, Vector512<float>.Zero);
        }
        left.StoreUnsafe(ref c);
        right.StoreUnsafe(ref c, 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]

    private static void Kernel6x16(int kc, ref float a, int rs, int cs, ref float b, int ldb, ref float c, int ldc, bool add, ref float init, int initStride, bool clamp)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        nint r1 = rs, r2 = 2 * rs, aStep = cs, bStep = ldb;
        ref float ap = ref a, aq = ref Unsafe.Add(ref a, 3 * r1), bp = ref b;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.LoadUnsafe(ref bp), b1 = Vector256.LoadUnsafe(ref bp, 8);
            Vector256<float> x = Vector256.Create(ap);
            c00 = Vector256.MultiplyAddEstimate(x, b0, c00); c01 = Vector256.MultiplyAddEstimate(x, b1, c01);
            x = Vector256.Create(Unsafe.Add(ref ap, r1));
            c10 = Vector256.MultiplyAddEstimate(x, b0, c10); c11 = Vector256.MultiplyAddEstimate(x, b1, c11);
            x = Vector256.Create(Unsafe.Add(ref ap, r2));
            c20 = Vector256.MultiplyAddEstimate(x, b0, c20); c21 = Vector256.MultiplyAddEstimate(x, b1, c21);
            x = Vector256.Create(aq);
            c30 = Vector256.MultiplyAddEstimate(x, b0, c30); c31 = Vector256.MultiplyAddEstimate(x, b1, c31);
            x = Vector256.Create(Unsafe.Add(ref aq, r1));
            c40 = Vector256.MultiplyAddEstimate(x, b0, c40); c41 = Vector256.MultiplyAddEstimate(x, b1, c41);
            x = Vector256.Create(Unsafe.Add(ref aq, r2));
            c50 = Vector256.MultiplyAddEstimate(x, b0, c50); c51 = Vector256.MultiplyAddEstimate(x, b1, c51);
            ap = ref Unsafe.Add(ref ap, aStep);
            aq = ref Unsafe.Add(ref aq, aStep);
            bp = ref Unsafe.Add(ref bp, bStep);
        }
        Store256(ref c, ref init, c00, c01, add, clamp);
        Store256(ref Unsafe.Add(ref c, ldc), ref Unsafe.Add(ref init, initStride), c10, c11, add, clamp);
        Store256(ref Unsafe.Add(ref c, 2 * ldc), ref Unsafe.Add(ref init, 2 * initStride), c20, c21, add, clamp);
        Store256(ref Unsafe.Add(ref c, 3 * ldc), ref Unsafe.Add(ref init, 3 * initStride), c30, c31, add, clamp);
        Store256(ref Unsafe.Add(ref c, 4 * ldc), ref Unsafe.Add(ref init, 4 * initStride), c40, c41, add, clamp);
        Store256(ref Unsafe.Add(ref c, 5 * ldc), ref Unsafe.Add(ref init, 5 * initStride), c50, c51, add, clamp);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(ref float c, ref float init, Vector256<float> left, Vector256<float> right, bool add, bool clamp)
    {
        if (add)
        {
            left = Vector256.LoadUnsafe(ref init) + left;
            right = Vector256.LoadUnsafe(ref init, 8) + right;
        }
        if (clamp)
        {
            left = Vector256.Max(left, Vector256<float>.Zero);
            right = Vector256.Max(right, Vector256<float>.Zero);
        }
        left.StoreUnsafe(ref c);
        right.StoreUnsafe(ref c, 8);
    }

    /// <summary>Packs B[kc, nc] into panels of nr columns: panel j holds, for each p, the nr values B(p, j*nr ..), zero-padded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(Span<float> packed, ref float b, int bRow, int bCol, int kc, int nc, int nr)
    {
        for (int j0 = 0; j0 < nc; j0 += nr)
        {
            int cols = Math.Min(nr, nc - j0);
            Span<float> panel = packed.Slice(j0 * kc, kc * nr);
            ref float dst = ref MemoryMarshal.GetReference(panel);
            if (bRow == 1 && cols == nr && Avx.IsSupported)
            {
                // B is a transpose (x W^T): transposed 8 x 8 blocks at a time instead of one scattered store per value.
                PackTransposed(ref dst, ref Unsafe.Add(ref b, j0 * bCol), bCol, kc, nr);
            }
            else if (bCol == 1)
            {
                // Contiguous rows are read in place (MultiplyBlock); only the panel cut by the right edge comes here.
                for (int p = 0; p < kc; p++) CopyPadded(ref Unsafe.Add(ref b, p * bRow + j0), ref Unsafe.Add(ref dst, p * nr), cols, nr);
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

    /// <summary>
    /// panel[p * nr + j] = b[p + j * bCol] for a full panel: 8 x 8 blocks are loaded as rows of W, transposed in
    /// registers and stored as rows of the panel (a gather per 8 values cost about three times as much).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackTransposed(ref float panel, ref float b, int bCol, int kc, int nr)
    {
        int p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            for (int group = 0; group < nr; group += 8)
            {
                ref float source = ref Unsafe.Add(ref b, group * bCol + p);
                ref float destination = ref Unsafe.Add(ref panel, p * nr + group);
                Transpose8x8(ref source, bCol, ref destination, nr);
            }
        }
        for (; p < kc; p++)
        {
            for (int j = 0; j < nr; j++) Unsafe.Add(ref panel, p * nr + j) = Unsafe.Add(ref b, j * bCol + p);
        }
    }

    /// <summary>Writes the transpose of the 8 x 8 block at source (row stride sourceStride) to destination (row stride destinationStride).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref float source, int sourceStride, ref float destination, int destinationStride)
    {
        nint s = sourceStride, d = destinationStride;
        Vector256<float> r0 = Vector256.LoadUnsafe(ref source), r1 = Vector256.LoadUnsafe(ref source, (nuint)s);
        Vector256<float> r2 = Vector256.LoadUnsafe(ref source, (nuint)(2 * s)), r3 = Vector256.LoadUnsafe(ref source, (nuint)(3 * s));
        Vector256<float> r4 = Vector256.LoadUnsafe(ref source, (nuint)(4 * s)), r5 = Vector256.LoadUnsafe(ref source, (nuint)(5 * s));
        Vector256<float> r6 = Vector256.LoadUnsafe(ref source, (nuint)(6 * s)), r7 = Vector256.LoadUnsafe(ref source, (nuint)(7 * s));
        // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves: the textbook AVX 8 x 8 transpose.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref destination);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref destination, (nuint)d);
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref destination, (nuint)(2 * d));
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref destination, (nuint)(3 * d));
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref destination, (nuint)(4 * d));
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref destination, (nuint)(5 * d));
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref destination, (nuint)(6 * d));
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref destination, (nuint)(7 * d));
    }

    /// <summary>Copies a partial row tile of A (rows &lt; mr) as mr values per p, zero-padded, so the micro-kernel never reads past A.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackEdgeA(Span<float> packed, ref float a, int aRow, int aCol, int rows, int kc, int mr)
    {
        ref float dst = ref packed[0];
        for (int p = 0; p < kc; p++)
        {
            ref float column = ref Unsafe.Add(ref a, p * aCol);
            for (int i = 0; i < mr; i++) Unsafe.Add(ref dst, p * mr + i) = i < rows ? Unsafe.Add(ref column, i * aRow) : 0f;
        }
    }

    private static void CopyPadded(ref float src, ref float dst, int count, int width)
    {
        int i = 0;
        for (; i < count; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref src, i);
        for (; i < width; i++) Unsafe.Add(ref dst, i) = 0f;
    }

    /// <summary>A per-thread buffer starting on a 64-byte boundary: no packed vector straddles two cache lines.</summary>
    private static Span<float> Scratch(ref float[]? buffer, int length)
    {
        buffer ??= AlignedArray.Allocate(length);
        return buffer.AsSpan(AlignedArray.Start(buffer), length);
    }
}
