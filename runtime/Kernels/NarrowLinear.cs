using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using StaticNet.Simd;

namespace StaticNet;

/// <summary>
/// The three products of Linear layers with few outputs (a classifier's 10 logits, softmax
/// regression), for batches of at least 4 rows. A register tile of the packed GEMM is 16 or 32 outputs wide, so 10 outputs
/// leave a third of every vector empty, and its packing copies the whole input for the weight gradient. Here vectors run
/// along the input features instead, which every output uses in full: the forward is 4 rows x 4 outputs of dot
/// products at a time (8 loads feed 16 multiply-adds), the weight gradient 4 outputs x 4 vectors of features summed
/// over the batch; both take 5 outputs a tile where that covers the outputs exactly and 4 would not (10 = 5 + 5).
/// A tile cut by the edge repeats the last row or output and stores only the valid part. Each sum runs in a fixed
/// order, so results depend on the inputs alone; large products are split across threads by whole tiles.
/// </summary>
internal static class NarrowLinear
{
    public const int MaxOutputs = 16;

    public static bool Applies(int rows, int outFeatures) => outFeatures <= MaxOutputs && rows >= 4;

    // Products of fewer multiply-adds stay on the calling thread: a split would cost more than it saves.
    private const long ParallelThreshold = 1L << 18;

    [ThreadStatic] private static ProductJob? t_job;

    /// <summary>y[r, o] = bias[o] + sum over p of x[r, p] w[o, p], for x [rows, k], w [n, k], y [rows, n].</summary>
    public static void Forward(ref float y, ref float x, ref float w, ref float bias, bool hasBias, int rows, int n, int k) =>
        Run(Product.Forward, ref y, ref x, ref w, ref bias, hasBias, rows, n, k);

    /// <summary>dw[o, p] += sum over r of dy[r, o] x[r, p], for dy [rows, n], x [rows, k], dw [n, k].</summary>
    public static void WeightGradient(ref float dw, ref float dy, ref float x, int rows, int n, int k) =>
        Run(Product.WeightGradient, ref dw, ref dy, ref x, ref dw, false, rows, n, k);

    /// <summary>
    /// dx[r, p] = sum over o of dy[r, o] w[o, p], for dy [rows, n], w [n, k], dx [rows, k]; with <paramref name="masked"/>,
    /// 0 wherever relu[r, p] is not positive (the gradient through the ReLU whose output is this layer's input), applied
    /// as each vector is stored. (The mask takes the operand slot the forward uses for the bias.)
    /// </summary>
    public static void InputGradient(ref float dx, ref float dy, ref float w, ref float relu, bool masked, int rows, int n, int k) =>
        Run(Product.InputGradient, ref dx, ref dy, ref w, ref relu, masked, rows, n, k);

    private enum Product { Forward, WeightGradient, InputGradient }

    /// <summary>How many outputs a tile covers, as a type so that the JIT compiles each size without the other's branches.</summary>
    private interface IOutputGroup
    {
        static abstract bool Five { get; }
    }

    private readonly struct FourOutputs : IOutputGroup
    {
        public static bool Five => false;
    }

    /// <summary>Five outputs a tile where that leaves none over and four would not (a classifier's 10).</summary>
    private readonly struct FiveOutputs : IOutputGroup
    {
        public static bool Five => true;
    }

    private static bool UseFive(int n) => n % 5 == 0 && n % 4 != 0;

    /// <summary>
    /// Without AVX-512 there are 16 vector registers, not 32: the tiles take half the rows (forward) or half the vectors
    /// of features (the gradients), since 4 x 5 accumulators and their operands spilled to the stack on every
    /// multiply-add (softmax regression's 784 x 10 layer at batch 256, AVX-512 off, one AMD core: forward 117-139 us,
    /// backward 67-76, against 23 and 21 with AVX-512). Each output is still its own accumulator, reduced and finished
    /// the same way, so the bits do not change.
    /// </summary>
    private static bool FewRegisters => !Avx512F.IsSupported;

    /// <summary>
    /// Runs one product, split across <see cref="Threading.NumThreads"/> threads when it is large: the forward by rows,
    /// the input and weight gradients by features, in whole tiles, so every output is computed by one thread exactly as
    /// it would be alone.
    /// </summary>
    private static unsafe void Run(Product product, ref float output, ref float a, ref float b, ref float bias, bool hasBias, int rows, int n, int k)
    {
        int threads = Threading.NumThreads;
        // Whether the split beats the calling thread alone is measured per product on this machine (SplitCalibration).
        SplitCalibration.Trial trial = SplitCalibration.Begin(SplitCalibration.NarrowLinear, rows, n, k * 4 + (int)product,
            threads > 1 && (long)rows * n * k >= ParallelThreshold ? threads : 1);
        if (trial.Parts > 1)
        {
            // The caller waits for every part, so the operands stay pinned for as long as the workers use them.
            fixed (float* po = &output, pa = &a, pb = &b, pbias = &bias)
            {
                ProductJob job = t_job ??= new ProductJob();
                job.Set(product, po, pa, pb, pbias, hasBias, rows, n, k, threads);
                WorkerPool.Run(job, threads);
            }
        }
        else
        {
            RunRange(product, ref output, ref a, ref b, ref bias, hasBias, rows, n, k, 0, product == Product.Forward ? rows : k);
        }
        trial.End();
    }

    /// <summary>Rows [begin, end) of the forward or input gradient, or features [begin, end) of the weight gradient.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunRange(Product product, ref float output, ref float a, ref float b, ref float bias, bool hasBias, int rows, int n, int k, int begin, int end)
    {
        // The vector width follows k alone, so that every part of a split product computes as the whole would.
        if (Vector512.IsHardwareAccelerated && k >= Vec512.Count) RunRange<Vec512>(product, ref output, ref a, ref b, ref bias, hasBias, rows, n, k, begin, end);
        else if (Vector256.IsHardwareAccelerated && k >= Vec256.Count) RunRange<Vec256>(product, ref output, ref a, ref b, ref bias, hasBias, rows, n, k, begin, end);
        else if (Vector128.IsHardwareAccelerated && k >= Vec128.Count) RunRange<Vec128>(product, ref output, ref a, ref b, ref bias, hasBias, rows, n, k, begin, end);
        else RunRange<Scalar>(product, ref output, ref a, ref b, ref bias, hasBias, rows, n, k, begin, end);
    }

    private static void RunRange<TV>(Product product, ref float output, ref float a, ref float b, ref float bias, bool hasBias, int rows, int n, int k, int begin, int end)
        where TV : struct, IVector<TV>
    {
        switch (product)
        {
            case Product.Forward:
                if (UseFive(n)) Forward<TV, FiveOutputs>(ref Unsafe.Add(ref output, begin * n), ref Unsafe.Add(ref a, begin * k), ref b, ref bias, hasBias, end - begin, n, k);
                else Forward<TV, FourOutputs>(ref Unsafe.Add(ref output, begin * n), ref Unsafe.Add(ref a, begin * k), ref b, ref bias, hasBias, end - begin, n, k);
                break;
            case Product.InputGradient:
                InputGradient<TV>(ref output, ref a, ref b, ref bias, hasBias, rows, n, k, begin, end);
                break;
            default:
                if (UseFive(n)) WeightGradient<TV, FiveOutputs>(ref Unsafe.Add(ref output, begin), ref a, ref Unsafe.Add(ref b, begin), rows, n, end - begin, k);
                else WeightGradient<TV, FourOutputs>(ref Unsafe.Add(ref output, begin), ref a, ref Unsafe.Add(ref b, begin), rows, n, end - begin, k);
                break;
        }
    }

    /// <summary>One part of a split product.</summary>
    private sealed unsafe class ProductJob : IPartitionedJob
    {
        private Product _product;
        private float* _output, _a, _b, _bias;
        private bool _hasBias;
        private int _rows, _n, _k, _parts;

        public void Set(Product product, float* output, float* a, float* b, float* bias, bool hasBias, int rows, int n, int k, int parts)
        {
            _output = output;
            _a = a;
            _b = b;
            _bias = bias;
            (_product, _hasBias, _rows, _n, _k, _parts) = (product, hasBias, rows, n, k, parts);
        }

        public void Execute(int part)
        {
            // Whole tiles: 4 rows of the forward, 64 features (4 vectors of 16) of the weight gradient. The input gradient
            // by features too, 16 at a time (whole cache lines), all rows each: the caller takes the first features, as
            // it took the first columns of the layer before's forward (PackedGemm splits a forward by columns) and will
            // take the first rows of its weight gradient, so each core reads and writes the lines it already holds.
            (int total, int unit) = _product switch
            {
                Product.Forward => (_rows, 4),
                Product.InputGradient => (_k, 16),
                _ => (_k, 64),
            };
            int units = (total + unit - 1) / unit;
            int begin = (int)((long)units * part / _parts) * unit, end = Math.Min(total, (int)((long)units * (part + 1) / _parts) * unit);
            if (begin < end) RunRange(_product, ref *_output, ref *_a, ref *_b, ref *_bias, _hasBias, _rows, _n, _k, begin, end);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward<TV, TG>(ref float y, ref float x, ref float w, ref float bias, bool hasBias, int rows, int n, int k)
        where TV : struct, IVector<TV> where TG : struct, IOutputGroup
    {
        int group = TG.Five ? 5 : 4, tileRows = FewRegisters ? 2 : 4;
        for (int r0 = 0; r0 < rows; r0 += tileRows)
        {
            // Rows past the end repeat the last one: computed, never stored.
            ref float x0 = ref Unsafe.Add(ref x, r0 * k);
            ref float x1 = ref Unsafe.Add(ref x, Math.Min(r0 + 1, rows - 1) * k);
            ref float x2 = ref Unsafe.Add(ref x, Math.Min(r0 + 2, rows - 1) * k);
            ref float x3 = ref Unsafe.Add(ref x, Math.Min(r0 + 3, rows - 1) * k);
            int validRows = Math.Min(tileRows, rows - r0);
            for (int o0 = 0; o0 < n; o0 += group)
            {
                ref float w0 = ref Unsafe.Add(ref w, o0 * k);
                ref float w1 = ref Unsafe.Add(ref w, Math.Min(o0 + 1, n - 1) * k);
                ref float w2 = ref Unsafe.Add(ref w, Math.Min(o0 + 2, n - 1) * k);
                ref float w3 = ref Unsafe.Add(ref w, Math.Min(o0 + 3, n - 1) * k);
                ref float w4 = ref Unsafe.Add(ref w, Math.Min(o0 + 4, n - 1) * k);
                Vector128<float> s0, s1, s2 = default, s3 = default, fifth;
                if (FewRegisters) DotTile2<TV, TG>(ref x0, ref x1, ref w0, ref w1, ref w2, ref w3, ref w4, k, out s0, out s1, out fifth);
                else DotTile<TV, TG>(ref x0, ref x1, ref x2, ref x3, ref w0, ref w1, ref w2, ref w3, ref w4, k, out s0, out s1, out s2, out s3, out fifth);
                int validOutputs = Math.Min(group, n - o0);
                ref float yTile = ref Unsafe.Add(ref y, r0 * n + o0);
                ref float b = ref Unsafe.Add(ref bias, hasBias ? o0 : 0);
                StoreRow(ref yTile, s0, fifth.GetElement(0), ref b, hasBias, validOutputs);
                if (validRows > 1) StoreRow(ref Unsafe.Add(ref yTile, n), s1, fifth.GetElement(1), ref b, hasBias, validOutputs);
                if (validRows > 2) StoreRow(ref Unsafe.Add(ref yTile, 2 * n), s2, fifth.GetElement(2), ref b, hasBias, validOutputs);
                if (validRows > 3) StoreRow(ref Unsafe.Add(ref yTile, 3 * n), s3, fifth.GetElement(3), ref b, hasBias, validOutputs);
            }
        }
    }

    /// <summary>
    /// The dot products of rows x0..x3 with rows w0..w3 (s_i holds row x_i's four) and, for five outputs, with w4 too
    /// (lane i of <paramref name="fifth"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotTile<TV, TG>(ref float x0, ref float x1, ref float x2, ref float x3, ref float w0, ref float w1, ref float w2, ref float w3,
        ref float w4, int k, out Vector128<float> s0, out Vector128<float> s1, out Vector128<float> s2, out Vector128<float> s3,
        out Vector128<float> fifth) where TV : struct, IVector<TV> where TG : struct, IOutputGroup
    {
        TV a00 = TV.Create(0f), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        TV a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        TV a04 = a00, a14 = a00, a24 = a00, a34 = a00;
        int p = 0;
        for (; p + TV.Count <= k; p += TV.Count)
        {
            TV v0 = TV.Load(ref Unsafe.Add(ref w0, p)), v1 = TV.Load(ref Unsafe.Add(ref w1, p));
            TV v2 = TV.Load(ref Unsafe.Add(ref w2, p)), v3 = TV.Load(ref Unsafe.Add(ref w3, p));
            TV u0 = TV.Load(ref Unsafe.Add(ref x0, p)), u1 = TV.Load(ref Unsafe.Add(ref x1, p));
            TV u2 = TV.Load(ref Unsafe.Add(ref x2, p)), u3 = TV.Load(ref Unsafe.Add(ref x3, p));
            a00 = TV.MultiplyAdd(u0, v0, a00); a01 = TV.MultiplyAdd(u0, v1, a01); a02 = TV.MultiplyAdd(u0, v2, a02); a03 = TV.MultiplyAdd(u0, v3, a03);
            a10 = TV.MultiplyAdd(u1, v0, a10); a11 = TV.MultiplyAdd(u1, v1, a11); a12 = TV.MultiplyAdd(u1, v2, a12); a13 = TV.MultiplyAdd(u1, v3, a13);
            a20 = TV.MultiplyAdd(u2, v0, a20); a21 = TV.MultiplyAdd(u2, v1, a21); a22 = TV.MultiplyAdd(u2, v2, a22); a23 = TV.MultiplyAdd(u2, v3, a23);
            a30 = TV.MultiplyAdd(u3, v0, a30); a31 = TV.MultiplyAdd(u3, v1, a31); a32 = TV.MultiplyAdd(u3, v2, a32); a33 = TV.MultiplyAdd(u3, v3, a33);
            if (TG.Five)
            {
                TV v4 = TV.Load(ref Unsafe.Add(ref w4, p));
                a04 = TV.MultiplyAdd(u0, v4, a04); a14 = TV.MultiplyAdd(u1, v4, a14); a24 = TV.MultiplyAdd(u2, v4, a24); a34 = TV.MultiplyAdd(u3, v4, a34);
            }
        }
        s0 = Finish(ref x0, ref w0, ref w1, ref w2, ref w3, p, k, a00, a01, a02, a03);
        s1 = Finish(ref x1, ref w0, ref w1, ref w2, ref w3, p, k, a10, a11, a12, a13);
        s2 = Finish(ref x2, ref w0, ref w1, ref w2, ref w3, p, k, a20, a21, a22, a23);
        s3 = Finish(ref x3, ref w0, ref w1, ref w2, ref w3, p, k, a30, a31, a32, a33);
        // The fifth output of the four rows: a column of the tile, reduced in the same order as the others.
        fifth = TG.Five ? Finish(ref w4, ref x0, ref x1, ref x2, ref x3, p, k, a04, a14, a24, a34) : default;
    }

    /// <summary>
    /// <see cref="DotTile{TV, TG}"/> for two rows, x0 and x1 (s0 and s1, lanes 0 and 1 of <paramref name="fifth"/>),
    /// where there are <see cref="FewRegisters"/>: each weight vector loaded as it is used, for both rows. A method of
    /// its own, so that each stays small enough to be inlined into Forward (compiled fully optimized from the first call).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotTile2<TV, TG>(ref float x0, ref float x1, ref float w0, ref float w1, ref float w2, ref float w3, ref float w4, int k,
        out Vector128<float> s0, out Vector128<float> s1, out Vector128<float> fifth) where TV : struct, IVector<TV> where TG : struct, IOutputGroup
    {
        TV a00 = TV.Create(0f), a01 = a00, a02 = a00, a03 = a00, a04 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00, a14 = a00;
        int p = 0;
        for (; p + TV.Count <= k; p += TV.Count)
        {
            TV u0 = TV.Load(ref Unsafe.Add(ref x0, p)), u1 = TV.Load(ref Unsafe.Add(ref x1, p));
            TV v = TV.Load(ref Unsafe.Add(ref w0, p));
            a00 = TV.MultiplyAdd(u0, v, a00); a10 = TV.MultiplyAdd(u1, v, a10);
            v = TV.Load(ref Unsafe.Add(ref w1, p));
            a01 = TV.MultiplyAdd(u0, v, a01); a11 = TV.MultiplyAdd(u1, v, a11);
            v = TV.Load(ref Unsafe.Add(ref w2, p));
            a02 = TV.MultiplyAdd(u0, v, a02); a12 = TV.MultiplyAdd(u1, v, a12);
            v = TV.Load(ref Unsafe.Add(ref w3, p));
            a03 = TV.MultiplyAdd(u0, v, a03); a13 = TV.MultiplyAdd(u1, v, a13);
            if (TG.Five)
            {
                v = TV.Load(ref Unsafe.Add(ref w4, p));
                a04 = TV.MultiplyAdd(u0, v, a04); a14 = TV.MultiplyAdd(u1, v, a14);
            }
        }
        s0 = Finish(ref x0, ref w0, ref w1, ref w2, ref w3, p, k, a00, a01, a02, a03);
        s1 = Finish(ref x1, ref w0, ref w1, ref w2, ref w3, p, k, a10, a11, a12, a13);
        // The rows' fifth outputs, reduced as DotTile reduces them (its third and fourth rows' lanes: zero here).
        fifth = TG.Five ? Finish(ref w4, ref x0, ref x1, ref x1, ref x1, p, k, a04, a14, TV.Create(0f), TV.Create(0f)) : default;
    }

    /// <summary>Reduces one row's four accumulators and adds the features from p on, one at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> Finish<TV>(ref float x, ref float w0, ref float w1, ref float w2, ref float w3, int p, int k, TV a0, TV a1, TV a2, TV a3)
        where TV : struct, IVector<TV>
    {
        Vector128<float> sums = TV.Sum4(a0, a1, a2, a3);
        if (p == k) return sums;
        float t0 = sums.GetElement(0), t1 = sums.GetElement(1), t2 = sums.GetElement(2), t3 = sums.GetElement(3);
        for (; p < k; p++)
        {
            float xp = Unsafe.Add(ref x, p);
            t0 = float.MultiplyAddEstimate(xp, Unsafe.Add(ref w0, p), t0);
            t1 = float.MultiplyAddEstimate(xp, Unsafe.Add(ref w1, p), t1);
            t2 = float.MultiplyAddEstimate(xp, Unsafe.Add(ref w2, p), t2);
            t3 = float.MultiplyAddEstimate(xp, Unsafe.Add(ref w3, p), t3);
        }
        return Vector128.Create(t0, t1, t2, t3);
    }

    /// <summary>Writes a row's first <paramref name="count"/> outputs (at most 5: four sums and a fifth) plus the bias.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(ref float y, Vector128<float> sums, float fifth, ref float bias, bool hasBias, int count)
    {
        for (int j = 0; j < count; j++)
        {
            float sum = j < 4 ? sums.GetElement(j) : fifth;
            Unsafe.Add(ref y, j) = hasBias ? sum + Unsafe.Add(ref bias, j) : sum;
        }
    }

    /// <summary>Features [0, width) of dw += dy^T x, where rows of x and dw are <paramref name="k"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightGradient<TV, TG>(ref float dw, ref float dy, ref float x, int rows, int n, int width, int k)
        where TV : struct, IVector<TV> where TG : struct, IOutputGroup
    {
        int group = TG.Five ? 5 : 4;
        for (int o0 = 0; o0 < n; o0 += group)
        {
            // Outputs past the end repeat the last one: computed, never stored.
            int o1 = Math.Min(o0 + 1, n - 1), o2 = Math.Min(o0 + 2, n - 1), o3 = Math.Min(o0 + 3, n - 1), o4 = Math.Min(o0 + 4, n - 1);
            int validOutputs = Math.Min(group, n - o0);
            int p = 0;
            for (; FewRegisters && p + 2 * TV.Count <= width; p += 2 * TV.Count)
            {
                // Two vectors of features: 5 x 2 accumulators.
                TV a00 = TV.Create(0f), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00, a40 = a00, a41 = a00;
                for (int r = 0; r < rows; r++)
                {
                    ref float xr = ref Unsafe.Add(ref x, r * k + p);
                    ref float dyr = ref Unsafe.Add(ref dy, r * n);
                    TV u0 = TV.Load(ref xr), u1 = TV.Load(ref Unsafe.Add(ref xr, TV.Count));
                    AddScaled(Unsafe.Add(ref dyr, o0), u0, u1, ref a00, ref a01);
                    AddScaled(Unsafe.Add(ref dyr, o1), u0, u1, ref a10, ref a11);
                    AddScaled(Unsafe.Add(ref dyr, o2), u0, u1, ref a20, ref a21);
                    AddScaled(Unsafe.Add(ref dyr, o3), u0, u1, ref a30, ref a31);
                    if (TG.Five) AddScaled(Unsafe.Add(ref dyr, o4), u0, u1, ref a40, ref a41);
                }
                ref float target = ref Unsafe.Add(ref dw, o0 * k + p);
                AddRow(ref target, a00, a01);
                if (validOutputs > 1) AddRow(ref Unsafe.Add(ref target, k), a10, a11);
                if (validOutputs > 2) AddRow(ref Unsafe.Add(ref target, 2 * k), a20, a21);
                if (validOutputs > 3) AddRow(ref Unsafe.Add(ref target, 3 * k), a30, a31);
                if (validOutputs > 4) AddRow(ref Unsafe.Add(ref target, 4 * k), a40, a41);
            }
            for (; !FewRegisters && p + 4 * TV.Count <= width; p += 4 * TV.Count)
            {
                TV a00 = TV.Create(0f), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
                TV a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
                TV a40 = a00, a41 = a00, a42 = a00, a43 = a00;
                for (int r = 0; r < rows; r++)
                {
                    ref float xr = ref Unsafe.Add(ref x, r * k + p);
                    ref float dyr = ref Unsafe.Add(ref dy, r * n);
                    TV u0 = TV.Load(ref xr), u1 = TV.Load(ref Unsafe.Add(ref xr, TV.Count));
                    TV u2 = TV.Load(ref Unsafe.Add(ref xr, 2 * TV.Count)), u3 = TV.Load(ref Unsafe.Add(ref xr, 3 * TV.Count));
                    TV d = TV.Create(Unsafe.Add(ref dyr, o0));
                    a00 = TV.MultiplyAdd(d, u0, a00); a01 = TV.MultiplyAdd(d, u1, a01); a02 = TV.MultiplyAdd(d, u2, a02); a03 = TV.MultiplyAdd(d, u3, a03);
                    d = TV.Create(Unsafe.Add(ref dyr, o1));
                    a10 = TV.MultiplyAdd(d, u0, a10); a11 = TV.MultiplyAdd(d, u1, a11); a12 = TV.MultiplyAdd(d, u2, a12); a13 = TV.MultiplyAdd(d, u3, a13);
                    d = TV.Create(Unsafe.Add(ref dyr, o2));
                    a20 = TV.MultiplyAdd(d, u0, a20); a21 = TV.MultiplyAdd(d, u1, a21); a22 = TV.MultiplyAdd(d, u2, a22); a23 = TV.MultiplyAdd(d, u3, a23);
                    d = TV.Create(Unsafe.Add(ref dyr, o3));
                    a30 = TV.MultiplyAdd(d, u0, a30); a31 = TV.MultiplyAdd(d, u1, a31); a32 = TV.MultiplyAdd(d, u2, a32); a33 = TV.MultiplyAdd(d, u3, a33);
                    if (TG.Five)
                    {
                        d = TV.Create(Unsafe.Add(ref dyr, o4));
                        a40 = TV.MultiplyAdd(d, u0, a40); a41 = TV.MultiplyAdd(d, u1, a41); a42 = TV.MultiplyAdd(d, u2, a42); a43 = TV.MultiplyAdd(d, u3, a43);
                    }
                }
                ref float target = ref Unsafe.Add(ref dw, o0 * k + p);
                AddRow(ref target, a00, a01, a02, a03);
                if (validOutputs > 1) AddRow(ref Unsafe.Add(ref target, k), a10, a11, a12, a13);
                if (validOutputs > 2) AddRow(ref Unsafe.Add(ref target, 2 * k), a20, a21, a22, a23);
                if (validOutputs > 3) AddRow(ref Unsafe.Add(ref target, 3 * k), a30, a31, a32, a33);
                if (validOutputs > 4) AddRow(ref Unsafe.Add(ref target, 4 * k), a40, a41, a42, a43);
            }
            // The last features: a vector at a time, then one at a time, each summed over the rows in order.
            for (; p + TV.Count <= width; p += TV.Count)
            {
                TV a0 = TV.Create(0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
                for (int r = 0; r < rows; r++)
                {
                    TV u = TV.Load(ref Unsafe.Add(ref x, r * k + p));
                    ref float dyr = ref Unsafe.Add(ref dy, r * n);
                    a0 = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref dyr, o0)), u, a0);
                    a1 = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref dyr, o1)), u, a1);
                    a2 = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref dyr, o2)), u, a2);
                    a3 = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref dyr, o3)), u, a3);
                    if (TG.Five) a4 = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref dyr, o4)), u, a4);
                }
                ref float target = ref Unsafe.Add(ref dw, o0 * k + p);
                TV.Store(TV.Add(TV.Load(ref target), a0), ref target);
                if (validOutputs > 1) TV.Store(TV.Add(TV.Load(ref Unsafe.Add(ref target, k)), a1), ref Unsafe.Add(ref target, k));
                if (validOutputs > 2) TV.Store(TV.Add(TV.Load(ref Unsafe.Add(ref target, 2 * k)), a2), ref Unsafe.Add(ref target, 2 * k));
                if (validOutputs > 3) TV.Store(TV.Add(TV.Load(ref Unsafe.Add(ref target, 3 * k)), a3), ref Unsafe.Add(ref target, 3 * k));
                if (validOutputs > 4) TV.Store(TV.Add(TV.Load(ref Unsafe.Add(ref target, 4 * k)), a4), ref Unsafe.Add(ref target, 4 * k));
            }
            for (; p < width; p++)
            {
                for (int o = o0; o < o0 + validOutputs; o++)
                {
                    float sum = 0;
                    for (int r = 0; r < rows; r++) sum = float.MultiplyAddEstimate(Unsafe.Add(ref dy, r * n + o), Unsafe.Add(ref x, r * k + p), sum);
                    Unsafe.Add(ref dw, o * k + p) += sum;
                }
            }
        }
    }

    /// <summary>
    /// Features [first, end) of dx, for every row: tiles of 4 rows x 4 vectors of features (2 with <see cref="FewRegisters"/>), each a sum over the few
    /// outputs; then 8 rows x 1 vector, so that a layer only one vector wide (16 inputs) still keeps eight multiply-add
    /// chains in flight; then single features. Each element is the same chain of multiply-adds over the outputs in
    /// whichever of these it falls, so a split by features changes no bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputGradient<TV>(ref float dx, ref float dy, ref float w, ref float relu, bool masked, int rows, int n, int k, int first, int end)
        where TV : struct, IVector<TV>
    {
        int p = first, vectors = FewRegisters ? 2 : 4; // 4 x 2 accumulators in AVX2's 16 registers, 4 x 4 in AVX-512's 32
        for (; p + vectors * TV.Count <= end; p += vectors * TV.Count)
        {
            for (int r0 = 0; r0 < rows; r0 += 4)
            {
                int validRows = Math.Min(4, rows - r0);
                ref float d0 = ref Unsafe.Add(ref dy, r0 * n);
                ref float d1 = ref Unsafe.Add(ref dy, Math.Min(r0 + 1, rows - 1) * n);
                ref float d2 = ref Unsafe.Add(ref dy, Math.Min(r0 + 2, rows - 1) * n);
                ref float d3 = ref Unsafe.Add(ref dy, Math.Min(r0 + 3, rows - 1) * n);
                TV a00 = TV.Create(0f), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
                TV a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
                for (int o = 0; o < n; o++)
                {
                    ref float wo = ref Unsafe.Add(ref w, o * k + p);
                    TV u0 = TV.Load(ref wo), u1 = TV.Load(ref Unsafe.Add(ref wo, TV.Count));
                    if (FewRegisters)
                    {
                        AddScaled(Unsafe.Add(ref d0, o), u0, u1, ref a00, ref a01);
                        AddScaled(Unsafe.Add(ref d1, o), u0, u1, ref a10, ref a11);
                        AddScaled(Unsafe.Add(ref d2, o), u0, u1, ref a20, ref a21);
                        AddScaled(Unsafe.Add(ref d3, o), u0, u1, ref a30, ref a31);
                        continue;
                    }
                    TV u2 = TV.Load(ref Unsafe.Add(ref wo, 2 * TV.Count)), u3 = TV.Load(ref Unsafe.Add(ref wo, 3 * TV.Count));
                    TV d = TV.Create(Unsafe.Add(ref d0, o));
                    a00 = TV.MultiplyAdd(d, u0, a00); a01 = TV.MultiplyAdd(d, u1, a01); a02 = TV.MultiplyAdd(d, u2, a02); a03 = TV.MultiplyAdd(d, u3, a03);
                    d = TV.Create(Unsafe.Add(ref d1, o));
                    a10 = TV.MultiplyAdd(d, u0, a10); a11 = TV.MultiplyAdd(d, u1, a11); a12 = TV.MultiplyAdd(d, u2, a12); a13 = TV.MultiplyAdd(d, u3, a13);
                    d = TV.Create(Unsafe.Add(ref d2, o));
                    a20 = TV.MultiplyAdd(d, u0, a20); a21 = TV.MultiplyAdd(d, u1, a21); a22 = TV.MultiplyAdd(d, u2, a22); a23 = TV.MultiplyAdd(d, u3, a23);
                    d = TV.Create(Unsafe.Add(ref d3, o));
                    a30 = TV.MultiplyAdd(d, u0, a30); a31 = TV.MultiplyAdd(d, u1, a31); a32 = TV.MultiplyAdd(d, u2, a32); a33 = TV.MultiplyAdd(d, u3, a33);
                }
                ref float target = ref Unsafe.Add(ref dx, r0 * k + p);
                ref float mask = ref Unsafe.Add(ref relu, masked ? r0 * k + p : 0);
                nint step = masked ? k : 0;
                StoreVectors(ref target, ref mask, masked, a00, a01, a02, a03);
                if (validRows > 1) StoreVectors(ref Unsafe.Add(ref target, k), ref Unsafe.Add(ref mask, step), masked, a10, a11, a12, a13);
                if (validRows > 2) StoreVectors(ref Unsafe.Add(ref target, 2 * k), ref Unsafe.Add(ref mask, 2 * step), masked, a20, a21, a22, a23);
                if (validRows > 3) StoreVectors(ref Unsafe.Add(ref target, 3 * k), ref Unsafe.Add(ref mask, 3 * step), masked, a30, a31, a32, a33);
            }
        }
        for (; p + TV.Count <= end; p += TV.Count)
        {
            for (int r0 = 0; r0 < rows; r0 += 8)
            {
                TV a0 = TV.Create(0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
                int last = rows - 1;
                ref float d0 = ref Unsafe.Add(ref dy, r0 * n);
                nint s1 = Math.Min(1, last - r0) * n, s2 = Math.Min(2, last - r0) * n, s3 = Math.Min(3, last - r0) * n, s4 = Math.Min(4, last - r0) * n;
                nint s5 = Math.Min(5, last - r0) * n, s6 = Math.Min(6, last - r0) * n, s7 = Math.Min(7, last - r0) * n;
                for (int o = 0; o < n; o++)
                {
                    TV u = TV.Load(ref Unsafe.Add(ref w, o * k + p));
                    ref float d = ref Unsafe.Add(ref d0, o);
                    a0 = TV.MultiplyAdd(TV.Create(d), u, a0);
                    a1 = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref d, s1)), u, a1);
                    a2 = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref d, s2)), u, a2);
                    a3 = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref d, s3)), u, a3);
                    a4 = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref d, s4)), u, a4);
                    a5 = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref d, s5)), u, a5);
                    a6 = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref d, s6)), u, a6);
                    a7 = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref d, s7)), u, a7);
                }
                ref float target = ref Unsafe.Add(ref dx, r0 * k + p);
                ref float mask = ref Unsafe.Add(ref relu, masked ? r0 * k + p : 0);
                nint step = masked ? k : 0;
                int validRows = Math.Min(8, rows - r0);
                StoreMasked(a0, ref target, ref mask, masked);
                if (validRows > 1) StoreMasked(a1, ref Unsafe.Add(ref target, k), ref Unsafe.Add(ref mask, step), masked);
                if (validRows > 2) StoreMasked(a2, ref Unsafe.Add(ref target, 2 * k), ref Unsafe.Add(ref mask, 2 * step), masked);
                if (validRows > 3) StoreMasked(a3, ref Unsafe.Add(ref target, 3 * k), ref Unsafe.Add(ref mask, 3 * step), masked);
                if (validRows > 4) StoreMasked(a4, ref Unsafe.Add(ref target, 4 * k), ref Unsafe.Add(ref mask, 4 * step), masked);
                if (validRows > 5) StoreMasked(a5, ref Unsafe.Add(ref target, 5 * k), ref Unsafe.Add(ref mask, 5 * step), masked);
                if (validRows > 6) StoreMasked(a6, ref Unsafe.Add(ref target, 6 * k), ref Unsafe.Add(ref mask, 6 * step), masked);
                if (validRows > 7) StoreMasked(a7, ref Unsafe.Add(ref target, 7 * k), ref Unsafe.Add(ref mask, 7 * step), masked);
            }
        }
        for (; p < end; p++)
        {
            for (int r = 0; r < rows; r++)
            {
                float sum = 0;
                for (int o = 0; o < n; o++) sum = float.MultiplyAddEstimate(Unsafe.Add(ref dy, r * n + o), Unsafe.Add(ref w, o * k + p), sum);
                StoreMasked(new Scalar(sum), ref Unsafe.Add(ref dx, r * k + p), ref Unsafe.Add(ref relu, masked ? r * k + p : 0), masked);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreVectors<TV>(ref float target, ref float mask, bool masked, TV a0, TV a1, TV a2, TV a3) where TV : struct, IVector<TV>
    {
        StoreVectors(ref target, ref mask, masked, a0, a1);
        // With few registers the input gradient's tiles are two vectors wide (a2 and a3 unused).
        if (!FewRegisters) StoreVectors(ref Unsafe.Add(ref target, 2 * TV.Count), ref Unsafe.Add(ref mask, masked ? 2 * TV.Count : 0), masked, a2, a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreVectors<TV>(ref float target, ref float mask, bool masked, TV a0, TV a1) where TV : struct, IVector<TV>
    {
        StoreMasked(a0, ref target, ref mask, masked);
        StoreMasked(a1, ref Unsafe.Add(ref target, TV.Count), ref Unsafe.Add(ref mask, masked ? TV.Count : 0), masked);
    }

    /// <summary>Stores value, or with <paramref name="masked"/> 0 where the ReLU output at mask is not positive (as Kernels.ReluBackward).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreMasked<TV>(TV value, ref float target, ref float mask, bool masked) where TV : struct, IVector<TV>
    {
        if (masked) value = TV.SelectWhereGreater(TV.Load(ref mask), TV.Create(0f), value, TV.Create(0f));
        TV.Store(value, ref target);
    }

    /// <summary>a0 += s u0, a1 += s u1 (one broadcast feeding two accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaled<TV>(float s, TV u0, TV u1, ref TV a0, ref TV a1) where TV : struct, IVector<TV>
    {
        TV d = TV.Create(s);
        a0 = TV.MultiplyAdd(d, u0, a0);
        a1 = TV.MultiplyAdd(d, u1, a1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow<TV>(ref float target, TV a0, TV a1, TV a2, TV a3) where TV : struct, IVector<TV>
    {
        AddRow(ref target, a0, a1);
        AddRow(ref Unsafe.Add(ref target, 2 * TV.Count), a2, a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow<TV>(ref float target, TV a0, TV a1) where TV : struct, IVector<TV>
    {
        TV.Store(TV.Add(TV.Load(ref target), a0), ref target);
        TV.Store(TV.Add(TV.Load(ref Unsafe.Add(ref target, TV.Count)), a1), ref Unsafe.Add(ref target, TV.Count));
    }
}
