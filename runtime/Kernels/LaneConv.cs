using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using StaticNet.Simd;

namespace StaticNet;

/// <summary>
/// Convolution with 16 samples in the lanes of each vector ([C, H, W, 16] per group of 16 samples), for layers whose rows
/// are too short to fill a vector (LeNet's second convolution: 10 x 10 outputs). With samples in the lanes no lane idles
/// whatever the row width, every load is one aligned cache line, and the weights are broadcasts shared by the 16
/// samples. A group is moved into that layout (16 x 16 register transposes, zero padding, missing samples as zero
/// lanes), computed, and moved back; stride 1 (also a stride of 2 along the rows and any down them: the forward and
/// weight gradient, and the input gradient where each phase of the input reads a tap), no dilation, one group; AVX-512, or AVX2
/// with FMA, each position's 16 lanes then as two 256-bit halves with the same bits (LaneConv.Avx2.cs).
/// <list type="bullet">
/// <item>Forward: 4 (or 3) output channels by up to 6 (or 8) positions of a row in registers, over every input channel and
/// tap; the bias and ReLU applied as they are stored. Groups run in parallel.</item>
/// <item>Input gradient: the same kernel on the zero-padded output gradient with the kernel flipped and its channels swapped;
/// for a strided layer, once per phase of the input (its positions a stride apart) with that phase's taps.</item>
/// <item>Weight gradient: per input channel, kernel row and block of 4 output channels, 4 x (up to 5) taps in registers
/// over every group and position (a block's output rows a strip at a time, which stays in L1), then summed across lanes;
/// tasks own their weights, so any thread count gives the same bits.</item>
/// </list>
/// </summary>
internal static unsafe partial class LaneConv
{
    private const int Lanes = 16;

    [ThreadStatic] private static float[]? s_in, s_out;
    [ThreadStatic] private static Job? s_job;

    /// <summary>
    /// Whether this path takes the layer: short output rows (where a row-vectorised kernel idles lanes), and a batch that
    /// fills at least half of a group's lanes (one sample would leave 15 of 16 idle). At stride 1, rows of up to 32
    /// outputs too where at least 8 input channels come (the small ResNet's 16-16 layers at 28 x 28: forward, input and
    /// weight gradients each 15-25% faster here than the direct kernel, whose two vectors a row leave 4 of 32 lanes idle;
    /// with one input channel, a stem or LeNet's first layer, the direct kernel's weight gradient was faster, and so was
    /// it for a 1 x 1 kernel, 16 channels at 24 wide: 2.3 against 3.2 ms; 3 x 3 and 5 x 5 kernels with 8 and 32 channels
    /// ran 15-35% faster in lanes). With AVX2 alone the same sizes go to lanes: the small ResNet's epoch with its 28-wide
    /// layers in lanes took 9.2-9.5 s against 10.2-12.5 s on the 256-bit direct kernel (AMD Zen 5, AVX-512 off).
    /// </summary>
    public static bool Applies(in Conv2dGeometry g, int batch) => AppliesStrided(g, batch) && g.StrideH == 1 && g.StrideW == 1;

    /// <summary>
    /// Whether <see cref="Forward"/>, and <see cref="Backward"/> without the input gradient, take the layer: as
    /// <see cref="Applies"/>, at any stride down the rows and 1 or 2 along them (ResNet's downsampling convolutions and
    /// their 1 x 1 projections); the input gradient too where <see cref="AppliesToStridedInputGradient"/> says so. A strided layer
    /// also needs at least 32 multiply-adds per input value packed (out channels x kernel taps / the strides' product): the
    /// pack moves the whole input, of which a stride of 2 reads a quarter per tap (the 1 x 1 projections, 8 and 16, ran
    /// slower here than through patch matrices, which copy only what they read; ResNet's 3 x 3 stride-2 layers, 72 and 144,
    /// 1.3-2x faster).
    /// </summary>
    public static bool AppliesStrided(in Conv2dGeometry g, int batch) =>
        batch >= Lanes / 2 && Available(g) && g.StrideW <= 2 && g.DilationH == 1 && g.DilationW == 1 && g.Groups == 1
        && (g.OutWidth <= 16 || (!IsStrided(g) && g.OutWidth <= 32 && g.InChannels >= 8 && g.KernelH * g.KernelW > 1)) && g.PadTop < g.KernelH && g.PadLeft < g.KernelW
        && (!IsStrided(g) || g.OutChannels * g.KernelH * g.KernelW >= 32 * g.StrideH * g.StrideW);

    private static bool IsStrided(in Conv2dGeometry g) => g.StrideH > 1 || g.StrideW > 1;

    /// <summary>
    /// Whether <see cref="Backward"/> takes a strided layer's input gradient too: as <see cref="AppliesStrided"/>, where each
    /// phase of the input (the positions a stride apart from a first one, along each dimension) reads at least one
    /// kernel tap and no output gradient before the first (ResNet's 3 x 3 stride-2 layers with padding 1). The input
    /// gradient is then one stride-1 lane convolution per phase over the output gradient, with that phase's taps.
    /// </summary>
    public static bool AppliesToStridedInputGradient(in Conv2dGeometry g, int batch) =>
        AppliesStrided(g, batch) && IsStrided(g)
        && Phase.AllRead(g.StrideH, g.KernelH, g.PadTop, g.InHeight) && Phase.AllRead(g.StrideW, g.KernelW, g.PadLeft, g.InWidth);

    /// <summary>
    /// Along one dimension of a strided layer, the input positions first, first + stride, ... (Count of them; see
    /// <see cref="Phase.Of"/>): their gradient is a stride-1 convolution of the output gradient with Taps taps, tap k being the
    /// layer's kernel index FirstTap + stride (Taps - 1 - k), over the output gradient with Pad positions of padding before it.
    /// </summary>
    private readonly record struct Phase(int Count, int Taps, int FirstTap, int Pad)
    {
        public static Phase Of(int first, int stride, int kernel, int pad, int input)
        {
            // Input i = first + stride q is read by output o through kernel index k where i + pad = stride o + k: the
            // indices r, r + stride, ... with r = (first + pad) mod stride, index r + stride j at o = q + d - j.
            int r = (first + pad) % stride, taps = (kernel - r + stride - 1) / stride, d = (first + pad - r) / stride;
            return new Phase(Math.Max(0, (input - first + stride - 1) / stride), taps, r, taps - 1 - d);
        }

        public int KernelIndex(int k, int stride) => FirstTap + stride * (Taps - 1 - k);

        /// <summary>Whether every phase with positions has a tap and reads no output before the first.</summary>
        public static bool AllRead(int stride, int kernel, int pad, int input)
        {
            for (int a = 0; a < stride; a++)
            {
                Phase p = Of(a, stride, kernel, pad, input);
                if (p.Count > 0 && (p.Taps < 1 || p.Pad < 0)) return false;
            }
            return true;
        }

        /// <summary>The padding before the output gradient that every phase's convolution fits in, and the padded length they read within.</summary>
        public static (int Pad, int Extent) Layout(int stride, int kernel, int pad, int input, int output)
        {
            int most = 0;
            for (int a = 0; a < stride; a++) most = Math.Max(most, Of(a, stride, kernel, pad, input).Pad);
            int extent = most + output;
            for (int a = 0; a < stride; a++)
            {
                Phase p = Of(a, stride, kernel, pad, input);
                if (p.Count > 0) extent = Math.Max(extent, most - p.Pad + p.Count + p.Taps - 1);
            }
            return (most, extent);
        }
    }

    /// <summary>
    /// The padded input's height and width: the rows and columns the outputs' windows read (the extra row or column of an
    /// even "same" kernel included), and at least the whole image (a strided window may stop short of its last rows).
    /// </summary>
    private static (int Height, int Width) Padded(in Conv2dGeometry g) =>
        (Math.Max((g.OutHeight - 1) * g.StrideH + g.KernelH, g.PadTop + g.InHeight), Math.Max((g.OutWidth - 1) * g.StrideW + g.KernelW, g.PadLeft + g.InWidth));

    public static void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int batch, in Conv2dGeometry g, bool relu)
    {
        float[] taps = Taps(weight, g, flip: false, out int block);
        fixed (float* py = y, px = x, pt = taps, pb = bias)
        {
            Run(Pass.Forward, py, px, null, pt, bias.IsEmpty ? null : pb, relu, batch, g, block).End();
        }
    }

    /// <summary>
    /// The layer, a Sigmoid on its output and an average pooling whose windows tile that output (stride = kernel, no
    /// padding; <paramref name="scale"/> = 1 / divisor): per group, the Sigmoid and its derivative are taken of the lane
    /// layout in place, a channel plane at a time (elementwise, so the layout changes no bit), the windows are averaged as
    /// whole vectors (rows first, then columns, as the pooling kernels sum), and only the pooled output and the derivative
    /// are unpacked: the same bits as <see cref="Forward"/> then Kernels.SigmoidAvgPool2dForwardKeepingDerivative, without
    /// a second pass over the layer's output. Without <paramref name="keepDerivative"/> (inference) only the Sigmoid is
    /// taken and only the pooled output unpacked; <paramref name="derivative"/> is then left as it was.
    /// </summary>
    public static void ForwardSigmoidPool(Span<float> derivative, Span<float> pooled, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        int batch, in Conv2dGeometry g, in Pool2dGeometry pool, float scale, bool keepDerivative = true)
    {
        float[] taps = Taps(weight, g, flip: false, out int block);
        fixed (float* py = derivative, px = x, pt = taps, pb = bias, pp = pooled)
        {
            Job job = s_job ??= new Job();
            job.Pooled = pp;
            (job.Pool, job.PoolScale, job.KeepDerivative) = (pool, scale, keepDerivative);
            Run(Pass.Forward, py, px, null, pt, bias.IsEmpty ? null : pb, relu: false, batch, g, block).End();
            job.Pooled = null;
        }
    }

    /// <summary>
    /// inputGrad (written, unless empty), weightGrad and biasGrad (accumulated, unless empty) of a layer this path takes.
    /// Each group packs its output gradient and input once and serves all three; the weight and bias gradients' partial
    /// sums are kept per group (a bias channel's: its output gradient's vectors summed position by position, 16 samples
    /// in the lanes) and added in group order afterwards, then across the lanes, so the result does not depend on the
    /// thread count.
    /// </summary>
    /// <remarks>
    /// With <paramref name="sigmoidDerivative"/> (not empty), the layer's output passes through a Sigmoid (whose
    /// derivative that is) and an average pooling whose windows tile it (<paramref name="pool"/>, 1 / divisor
    /// <paramref name="scale"/>), and <paramref name="outputGrad"/> is the pooling's output gradient: each group packs the
    /// derivative where it would pack the layer's output gradient and multiplies it there by the pooled gradient times
    /// <paramref name="scale"/>, each spread over its window (zero where no window reaches), the values
    /// Kernels.AvgPool2dTimesDerivativeBackward gives, so the layer's output gradient is never written out whole.
    /// </remarks>
    public static void Backward(Span<float> inputGrad, Span<float> weightGrad, Span<float> biasGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weight, int batch, in Conv2dGeometry g, ReadOnlySpan<float> sigmoidDerivative = default, in Pool2dGeometry pool = default, float scale = 0)
    {
        if (IsStrided(g) && !inputGrad.IsEmpty && !AppliesToStridedInputGradient(g, batch))
        {
            throw new ArgumentException("This strided layer's input gradient is not a lane convolution.", nameof(inputGrad));
        }
        int groups = (batch + Lanes - 1) / Lanes, tasks = WeightTasks(g);
        int block = 4;
        float[] taps = inputGrad.IsEmpty ? [] : IsStrided(g) ? StridedTaps(weight, g, out block) : Taps(weight, g, flip: true, out block);
        SplitCalibration.Trial trial;
        float* biasPartials;
        fixed (float* dx = inputGrad, dy = outputGrad, px = input, pt = taps, pd = sigmoidDerivative, pw = weightGrad)
        {
            Job job = s_job ??= new Job();
            job.Derivative = sigmoidDerivative.IsEmpty ? null : pd;
            (job.Pool, job.PoolScale) = (pool, scale);
            trial = Run(Pass.Backward, inputGrad.IsEmpty ? null : dx, px, dy, pt, null, relu: false, batch, g, block, weights: !weightGrad.IsEmpty, biases: !biasGrad.IsEmpty);
            float* partials = job.Partials;
            biasPartials = job.BiasPartials;
            job.Derivative = null;
            job.Partials = null;
            job.BiasPartials = null;
            if (!weightGrad.IsEmpty)
            {
                // Per task: the groups' partial sums in order, then the 16 lanes. On one part the groups' sums were added
                // up in order as they came, into the first group's place; on several, every group's are there, and the
                // tasks are summed by the same parts (each task's weights its own: the same bits).
                WeightSums sums = s_sums_job ??= new WeightSums();
                sums.Partials = partials;
                sums.WeightGrad = pw;
                (sums.Tasks, sums.Groups, sums.Parts, sums.Geometry, sums.Reduced, sums.Wide) = (tasks, job.Parts == 1 ? 1 : groups, job.Parts, g, ReducesEachGroup(g), job.Wide);
                WorkerPool.Run(sums, job.Parts);
            }
        }
        // The split is timed with what it costs here after the groups: every group's partial sums written and added up.
        trial.End();
        for (int c = 0; c < biasGrad.Length; c++) biasGrad[c] += SumOverGroups(biasPartials + (long)c * Lanes, (long)g.OutChannels * Lanes, groups, Wide);
    }

    [ThreadStatic] private static WeightSums? s_sums_job;

    /// <summary>
    /// The weight gradient's partial sums added up: a range of tasks per part, each over the groups in order, then across
    /// the lanes; or, where the groups' sums were summed across their lanes already (<see cref="Reduced"/>), a range of
    /// weights per part, each over the groups in order.
    /// </summary>
    private sealed class WeightSums : IPartitionedJob
    {
        public float* Partials, WeightGrad;
        public int Tasks, Groups, Parts;
        public bool Reduced, Wide;
        public Conv2dGeometry Geometry;

        public void Execute(int part)
        {
            Conv2dGeometry g = Geometry;
            if (Reduced)
            {
                long weights = WeightCount(g);
                for (long i = weights * part / Parts; i < weights * (part + 1) / Parts; i++)
                {
                    float total = 0;
                    for (int group = 0; group < Groups; group++) total += Partials[group * weights + i];
                    WeightGrad[i] += total;
                }
                return;
            }
            int blocks = (g.OutChannels + 3) / 4, chunks = (g.KernelW + 4) / 5;
            for (int task = (int)((long)Tasks * part / Parts); task < (int)((long)Tasks * (part + 1) / Parts); task++)
            {
                int chunk = task % chunks, b = task / chunks % blocks, kh = task / chunks / blocks % g.KernelH, ci = task / chunks / blocks / g.KernelH;
                int co0 = 4 * b, k0 = 5 * chunk, width = Math.Min(5, g.KernelW - k0);
                for (int j = 0; j < 4 && co0 + j < g.OutChannels; j++)
                {
                    for (int t = 0; t < width; t++)
                    {
                        WeightGrad[(((co0 + j) * g.InChannels + ci) * g.KernelH + kh) * g.KernelW + k0 + t] +=
                            SumOverGroups(Partials + ((long)task * 20 + j * 5 + t) * Lanes, (long)Tasks * 20 * Lanes, Groups, Wide);
                    }
                }
            }
        }
    }

    /// <summary>Weight-gradient tasks: input channel x kernel row x block of 4 output channels x chunk of up to 5 kernel columns.</summary>
    private static int WeightTasks(in Conv2dGeometry g) => g.InChannels * g.KernelH * ((g.OutChannels + 3) / 4) * ((g.KernelW + 4) / 5);

    /// <summary>The layer's weights: [out, in, kH, kW].</summary>
    private static long WeightCount(in Conv2dGeometry g) => (long)g.OutChannels * g.InChannels * g.KernelH * g.KernelW;

    /// <summary>
    /// Whether each group's weight-gradient sums are summed across their lanes before the groups are added up, into sets
    /// the size of the weights: where a set of every task's 20 vectors would pass 16 MB (256 channels each way at 3 x 3:
    /// 63 MB; 512: 252 MB, for 9.4 MB of weights), which every group would read and write from memory (256-256 and
    /// 512-512 at 3 x 3, both gradients at batch 256 on one AMD core: 221-284 -> 194-206 ms and 473-732 -> 427-447 ms in
    /// alternating runs). Smaller sets stay in the caches, where the horizontal sums would cost more than they save (the
    /// small ResNet's 64-64 layer: 3.9 MB, its weight gradient ~10% slower reduced).
    /// </summary>
    internal static bool ReducesEachGroup(in Conv2dGeometry g) => (long)WeightTasks(g) * 20 * Lanes * sizeof(float) > 16L << 20;

    [ThreadStatic] private static float[]? s_partials;

    private enum Pass { Forward, Backward }

    private sealed class Job : IPartitionedJob
    {
        public Pass Kind;
        public float* Output, Input, Gradient, Taps, Bias;
        public bool Relu;
        public int Batch, Block, Parts;

        // Whether the groups run the AVX-512 kernels (else the 256-bit ones of LaneConv.Avx2.cs): fixed when the call starts.
        public bool Wide;
        public Conv2dGeometry Geometry;

        public float* Partials;

        // With the sigmoid and pooling of ForwardSigmoidPool: the pooled output, the pooling and 1 / its divisor; of
        // Backward: the sigmoid's derivative (and the same pooling). Where the bias gradient's per-group sums go, if asked.
        public float* Pooled, Derivative, BiasPartials;
        public Pool2dGeometry Pool;
        public float PoolScale;

        // Whether ForwardSigmoidPool keeps the Sigmoid's derivative (not for inference: then Output is only scratch).
        public bool KeepDerivative;

        public void Execute(int part)
        {
            int groups = (Batch + Lanes - 1) / Lanes;
            for (int group = (int)((long)groups * part / Parts); group < (int)((long)groups * (part + 1) / Parts); group++)
            {
                if (Kind == Pass.Forward) ForwardGroup(group);
                else BackwardGroup(group);
            }
        }

        private void ForwardGroup(int group)
        {
            Conv2dGeometry g = Geometry;
            int n0 = group * Lanes, count = Math.Min(Lanes, Batch - n0);
            (int inH, int inW) = Padded(g);
            float* packed = Scratch(ref s_in, g.InChannels * inH * inW * Lanes, ref s_inZeros);
            float* result = Scratch(ref s_out, g.OutChannels * g.OutputPlane * Lanes);
            Pack(packed, Input + (long)n0 * g.InputSize, count, g.InChannels, g.InputSize, g.InHeight, g.InWidth, g.PadTop, g.PadLeft, inH, inW, ref s_inZeros, Wide);
            Convolve(result, packed, Taps, Bias, g, Block, Relu, Wide);
            if (Pooled != null)
            {
                int plane = g.OutputPlane * Lanes;
                float* activated = Scratch(ref s_activated, plane), pooled = Scratch(ref s_pooled, Pool.OutputSize * Lanes);
                // A whole group's derivative stays in the lane layout, where Backward reads it.
                bool inLanes = count == Lanes;
                for (int c = 0; c < g.OutChannels; c++)
                {
                    float* values = result + (long)c * plane, derivative = inLanes ? Output + (long)n0 * g.OutputSize + (long)c * plane : values;
                    if (KeepDerivative) Kernels.SigmoidAndDerivative(new Span<float>(activated, plane), new Span<float>(derivative, plane), new ReadOnlySpan<float>(values, plane));
                    else Kernels.SigmoidForward(new Span<float>(activated, plane), new ReadOnlySpan<float>(values, plane));
                    if (Wide) PoolPlane(pooled + (long)c * Pool.OutHeight * Pool.OutWidth * Lanes, activated, g.OutWidth, Pool, PoolScale);
                    else PoolPlane256(pooled + (long)c * Pool.OutHeight * Pool.OutWidth * Lanes, activated, g.OutWidth, Pool, PoolScale);
                }
                Unpack(Pooled + (long)n0 * Pool.OutputSize, pooled, count, Pool.Channels, Pool.OutHeight * Pool.OutWidth, Wide);
                if (inLanes || !KeepDerivative) return;
            }
            Unpack(Output + (long)n0 * g.OutputSize, result, count, g.OutChannels, g.OutputPlane, Wide);
        }

        /// <summary>
        /// The layer's output gradient into the padded lane layout <paramref name="grad"/>, from the Sigmoid's derivative
        /// in the lane layout <paramref name="derivative"/> (planes <paramref name="fromH"/> x <paramref name="fromW"/>,
        /// the layer's output at (<paramref name="fromTop"/>, <paramref name="fromLeft"/>): <paramref name="grad"/> itself,
        /// or the forward's unpadded planes): each position times its window's pooled gradient times
        /// <paramref name="scale"/>, or times zero where no window reaches.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void SpreadTimesDerivative(float* grad, float* derivative, int fromH, int fromW, int fromTop, int fromLeft, float* pooledGrad, in Conv2dGeometry g,
            int padTop, int padLeft, int gradH, int gradW, in Pool2dGeometry pool, float scale, float* biasSums)
        {
            Vector512<float> factor = Vector512.Create(scale);
            for (int c = 0; c < g.OutChannels; c++)
            {
                Vector512<float> sum = Vector512<float>.Zero;
                // The window row oh and column ow of (h, w) counted along (kh, kw: the position within the window), not divided.
                for (int h = 0, oh = 0, kh = 0; h < g.OutHeight; h++)
                {
                    float* row = grad + (((long)c * gradH + padTop + h) * gradW + padLeft) * Lanes;
                    float* from = derivative + (((long)c * fromH + fromTop + h) * fromW + fromLeft) * Lanes;
                    float* windows = pooledGrad + ((long)c * pool.OutHeight + oh) * pool.OutWidth * Lanes;
                    bool inWindows = oh < pool.OutHeight;
                    for (int w = 0, ow = 0, kw = 0; w < g.OutWidth; w++)
                    {
                        Vector512<float> share = inWindows && ow < pool.OutWidth ? Vector512.Load(windows + ow * Lanes) * factor : Vector512<float>.Zero;
                        Vector512<float> value = share * Vector512.Load(from + w * Lanes);
                        value.Store(row + w * Lanes);
                        sum += value;
                        if (++kw == pool.KernelW) (kw, ow) = (0, ow + 1);
                    }
                    if (++kh == pool.KernelH) (kh, oh) = (0, oh + 1);
                }
                if (biasSums != null) sum.Store(biasSums + (long)c * Lanes);
            }
        }

        /// <summary>
        /// One channel's tiling windows over a plane in lanes (rows <paramref name="width"/> positions wide): each window's
        /// columns summed down its rows, the column sums added left to right, times <paramref name="scale"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void PoolPlane(float* pooled, float* plane, int width, in Pool2dGeometry pool, float scale)
        {
            Vector512<float> factor = Vector512.Create(scale);
            for (int oh = 0; oh < pool.OutHeight; oh++)
            {
                for (int ow = 0; ow < pool.OutWidth; ow++)
                {
                    float* window = plane + ((long)oh * pool.KernelH * width + ow * pool.KernelW) * Lanes;
                    Vector512<float> total = default;
                    for (int kw = 0; kw < pool.KernelW; kw++)
                    {
                        Vector512<float> column = Vector512.Load(window + kw * Lanes);
                        for (int kh = 1; kh < pool.KernelH; kh++) column += Vector512.Load(window + ((long)kh * width + kw) * Lanes);
                        total = kw == 0 ? column : total + column;
                    }
                    (total * factor).Store(pooled + ((long)oh * pool.OutWidth + ow) * Lanes);
                }
            }
        }

        private void BackwardGroup(int group)
        {
            Conv2dGeometry g = Geometry, t = IsStrided(g) ? g with { PadTop = 0, PadLeft = 0 } : DirectConv.Transposed(g);
            int n0 = group * Lanes, count = Math.Min(Lanes, Batch - n0);
            // The output gradient padded for the input gradient's convolution; the weight gradient reads inside the padding.
            // A strided layer's, padded for every phase's (see StridedInputGradient), or as it is without an input gradient.
            (int gradH, int gradW) = IsStrided(g) ? (g.OutHeight, g.OutWidth) : Padded(t);
            if (IsStrided(g) && Output is not null)
            {
                (int padTop, gradH) = Phase.Layout(g.StrideH, g.KernelH, g.PadTop, g.InHeight, g.OutHeight);
                (int padLeft, gradW) = Phase.Layout(g.StrideW, g.KernelW, g.PadLeft, g.InWidth, g.OutWidth);
                t = g with { PadTop = padTop, PadLeft = padLeft };
            }
            float* grad = Scratch(ref s_grad, g.OutChannels * gradH * gradW * Lanes, ref s_gradZeros);
            if (Derivative != null)
            {
                // A whole group's derivative is in the lane layout already (ForwardGroup left it so): read from there as
                // the gradient is formed in the padded plane. A partial group's, in samples, is packed there first.
                float* derivative = Derivative + (long)n0 * g.OutputSize;
                int fromH = g.OutHeight, fromW = g.OutWidth, fromTop = 0, fromLeft = 0;
                if (count == Lanes) ClearPadding(grad, g.OutChannels, g.OutHeight, g.OutWidth, t.PadTop, t.PadLeft, gradH, gradW, ref s_gradZeros);
                else
                {
                    Pack(grad, derivative, count, g.OutChannels, g.OutputSize, g.OutHeight, g.OutWidth, t.PadTop, t.PadLeft, gradH, gradW, ref s_gradZeros, Wide);
                    derivative = grad;
                    (fromH, fromW, fromTop, fromLeft) = (gradH, gradW, t.PadTop, t.PadLeft);
                }
                float* pooledGrad = Scratch(ref s_pooled, Pool.OutputSize * Lanes, ref s_pooledZeros);
                int pooledPlane = Pool.OutHeight * Pool.OutWidth;
                Pack(pooledGrad, Gradient + (long)n0 * Pool.OutputSize, count, Pool.Channels, Pool.OutputSize, Pool.OutHeight, Pool.OutWidth, 0, 0, Pool.OutHeight, Pool.OutWidth,
                    ref s_pooledZeros, Wide);
                // The bias gradient's sums as the gradient is formed (the same order as the loop below).
                float* biasSums = BiasPartials != null ? BiasPartials + (long)group * g.OutChannels * Lanes : null;
                if (Wide) SpreadTimesDerivative(grad, derivative, fromH, fromW, fromTop, fromLeft, pooledGrad, g, t.PadTop, t.PadLeft, gradH, gradW, Pool, PoolScale, biasSums);
                else SpreadTimesDerivative256(grad, derivative, fromH, fromW, fromTop, fromLeft, pooledGrad, g, t.PadTop, t.PadLeft, gradH, gradW, Pool, PoolScale, biasSums);
            }
            else
            {
                Pack(grad, Gradient + (long)n0 * g.OutputSize, count, g.OutChannels, g.OutputSize, g.OutHeight, g.OutWidth, t.PadTop, t.PadLeft, gradH, gradW, ref s_gradZeros, Wide);
            }
            if (BiasPartials != null && Derivative == null && !Wide)
            {
                BiasSums256(BiasPartials + (long)group * g.OutChannels * Lanes, grad, g, gradH, gradW, t.PadTop, t.PadLeft);
            }
            else if (BiasPartials != null && Derivative == null)
            {
                // Each channel's output gradient, position by position in row order, 16 samples in the lanes.
                for (int c = 0; c < g.OutChannels; c++)
                {
                    Vector512<float> sum = Vector512<float>.Zero;
                    for (int h = 0; h < g.OutHeight; h++)
                    {
                        float* row = grad + (((long)c * gradH + t.PadTop + h) * gradW + t.PadLeft) * Lanes;
                        for (int w = 0; w < g.OutWidth; w++) sum += Vector512.Load(row + w * Lanes);
                    }
                    sum.Store(BiasPartials + ((long)group * g.OutChannels + c) * Lanes);
                }
            }
            if (Output is not null && IsStrided(g))
            {
                StridedInputGradient(grad, gradH, gradW, t.PadTop, t.PadLeft, n0, count);
            }
            else if (Output is not null)
            {
                float* result = Scratch(ref s_out, g.InChannels * g.InHeight * g.InWidth * Lanes);
                Convolve(result, grad, Taps, null, t, Block, relu: false, Wide);
                Unpack(Output + (long)n0 * g.InputSize, result, count, g.InChannels, g.InHeight * g.InWidth, Wide);
            }
            if (Partials is null) return; // no weight gradient asked
            (int inH, int inW) = Padded(g);
            float* packed = Scratch(ref s_in, g.InChannels * inH * inW * Lanes, ref s_inZeros);
            Pack(packed, Input + (long)n0 * g.InputSize, count, g.InChannels, g.InputSize, g.InHeight, g.InWidth, g.PadTop, g.PadLeft, inH, inW, ref s_inZeros, Wide);
            int tasks = WeightTasks(g), blocks = (g.OutChannels + 3) / 4, chunks = (g.KernelW + 4) / 5, perBlock = tasks / blocks;
            // On one part, the groups come in order: each task's sums are added to the first group's place at once (the
            // order of the sums over groups that Backward takes, so the same bits), and the partial sums of every group
            // (2.4 MB for LeNet's second layer at batch 256) are not written and read back.
            bool running = Parts == 1, reduced = ReducesEachGroup(g);
            long set = reduced ? WeightCount(g) : (long)tasks * 20 * Lanes, channelStep = (long)g.InChannels * g.KernelH * g.KernelW;
            float* places = Partials + (running ? 0 : group * set);
            if (running && group == 0) new Span<float>(places, (int)set).Clear();
            // A block of output channels at a time, its rows in strips: every task of the block passes over one strip of
            // its output gradient while that stays in L1 (a task's sums are held between strips; each still takes its
            // positions in row order, so the strips change no bit).
            int strip = WeightStrip(g), strips = (g.OutHeight + strip - 1) / strip;
            Vector512<float>* held = strips > 1 ? (Vector512<float>*)Scratch(ref s_sums, perBlock * 20 * Lanes) : null;
            for (int b = 0; b < blocks; b++)
            {
                float* dy = grad + ((long)4 * b * gradH * gradW + t.PadTop * gradW + t.PadLeft) * Lanes;
                int channels = Math.Min(4, g.OutChannels - 4 * b);
                for (int s = 0; s < strips; s++)
                {
                    int oh0 = s * strip, oh1 = Math.Min(g.OutHeight, oh0 + strip);
                    bool last = s == strips - 1;
                    for (int rest = 0; rest < perBlock; rest++)
                    {
                        int chunk = rest % chunks, kh = rest / chunks % g.KernelH, ci = rest / chunks / g.KernelH;
                        int task = ((ci * g.KernelH + kh) * blocks + b) * chunks + chunk;
                        // A task's places: its 20 vectors, or (reduced) its weights, 4 output channels channelStep apart.
                        float* weightsAt = reduced && last ? places + ((4L * b * g.InChannels + ci) * g.KernelH + kh) * g.KernelW + 5 * chunk : null;
                        Vector512<float>* place = (Vector512<float>*)(places + (long)task * 20 * Lanes);
                        Vector512<float>* from = s == 0 ? null : held + rest * 20, to = !last ? held + rest * 20 : reduced ? null : place;
                        float* x = packed + (long)ci * inH * inW * Lanes;
                        if (Wide)
                        {
                            WeightBlock(to, weightsAt, channelStep, from, last && running, x, dy, channels, Math.Min(5, g.KernelW - 5 * chunk), g, kh, 5 * chunk, inW,
                                gradH * gradW, gradW, oh0, oh1);
                        }
                        else
                        {
                            WeightBlock256((float*)to, (float*)from, last && running, x, dy, channels, Math.Min(5, g.KernelW - 5 * chunk), g, kh, 5 * chunk, inW,
                                gradH * gradW, gradW, oh0, oh1);
                        }
                    }
                }
            }
        }

        /// <summary>
        /// A strided layer's input gradient for one group, from its output gradient <paramref name="grad"/> (planes
        /// <paramref name="gradH"/> x <paramref name="gradW"/>, the gradient at (<paramref name="padTop"/>,
        /// <paramref name="padLeft"/>), zeros around): phase by phase (at a stride of 2 each way, the input's even rows
        /// and columns, even rows and odd columns, ...), a stride-1 convolution with that phase's taps (of a 3 x 3 kernel
        /// at padding 1: 1, 2, 2 and 4 of them), each result moved to its positions in the input's planes, then unpacked
        /// to samples. Every multiply-add is one the layer's input gradient needs; the patch matrices' way scatters each
        /// product back alone.
        /// </summary>
        private void StridedInputGradient(float* grad, int gradH, int gradW, int padTop, int padLeft, int n0, int count)
        {
            Conv2dGeometry g = Geometry;
            float* full = Scratch(ref s_out, g.InChannels * g.InHeight * g.InWidth * Lanes);
            int mostPositions = (g.InHeight + g.StrideH - 1) / g.StrideH * ((g.InWidth + g.StrideW - 1) / g.StrideW);
            float* phase = Scratch(ref s_phase, g.InChannels * mostPositions * Lanes);
            float* taps = Taps;
            int padded = (g.InChannels + Block - 1) / Block * Block;
            for (int ah = 0; ah < g.StrideH; ah++)
            {
                for (int aw = 0; aw < g.StrideW; aw++)
                {
                    Phase ph = Phase.Of(ah, g.StrideH, g.KernelH, g.PadTop, g.InHeight), pw = Phase.Of(aw, g.StrideW, g.KernelW, g.PadLeft, g.InWidth);
                    if (ph.Count == 0 || pw.Count == 0) continue;
                    var pg = new Conv2dGeometry(g.OutChannels, g.OutHeight, g.OutWidth, g.InChannels, ph.Count, pw.Count, ph.Taps, pw.Taps, 1, 1, ph.Pad, pw.Pad);
                    Convolve(phase, grad + ((long)(padTop - ph.Pad) * gradW + padLeft - pw.Pad) * Lanes, taps, null, pg, Block, relu: false, gradH, gradW, Wide);
                    taps += (long)g.OutChannels * ph.Taps * pw.Taps * padded;
                    for (int c = 0; c < g.InChannels; c++)
                    {
                        for (int qh = 0; qh < ph.Count; qh++)
                        {
                            float* from = phase + (long)(c * ph.Count + qh) * pw.Count * Lanes;
                            float* to = full + ((long)(c * g.InHeight + ah + qh * g.StrideH) * g.InWidth + aw) * Lanes;
                            if (Wide) for (int qw = 0; qw < pw.Count; qw++) Vector512.Store(Vector512.Load(from + qw * Lanes), to + (long)qw * g.StrideW * Lanes);
                            else for (int qw = 0; qw < pw.Count; qw++) CopyLanes256(from + qw * Lanes, to + (long)qw * g.StrideW * Lanes);
                        }
                    }
                }
            }
            Unpack(Output + (long)n0 * g.InputSize, full, count, g.InChannels, g.InHeight * g.InWidth, Wide);
        }
    }

    [ThreadStatic] private static float[]? s_grad, s_activated, s_pooled, s_sums, s_phase;

    /// <summary>What a packing buffer's padding was last cleared for: while it holds, the padding is still zeros.</summary>
    private readonly record struct ZeroedPadding(nint Buffer, int Channels, int Height, int Width, int PadTop, int PadLeft, int PaddedH, int PaddedW);

    [ThreadStatic] private static ZeroedPadding s_inZeros, s_gradZeros, s_pooledZeros;

    /// <summary>Fills this thread's job (no allocation per call) and runs it over the groups, split across the threads; the caller ends the returned trial.</summary>
    /// <remarks>
    /// With <paramref name="weights"/> or <paramref name="biases"/> (backward), once the parts are known, the places for the
    /// weight gradient's partial sums (every task's 20 vectors, or the weights' floats where <see cref="ReducesEachGroup"/>:
    /// one set on one part, a set per group on several) and the bias
    /// gradient's (a vector per channel and group) go to <c>Job.Partials</c> and <c>Job.BiasPartials</c>. A layer whose
    /// sets for every group would take over 256 MB (512 channels each way at 3 x 3: 9.4 MB a set, past 27 groups) stays on
    /// one part.
    /// </remarks>
    private static SplitCalibration.Trial Run(Pass kind, float* output, float* input, float* gradient, float* taps, float* bias, bool relu, int batch,
        in Conv2dGeometry g, int block, bool weights = false, bool biases = false)
    {
        Job job = s_job ??= new Job();
        job.Kind = kind;
        job.Output = output;
        job.Input = input;
        job.Gradient = gradient;
        job.Taps = taps;
        job.Bias = bias;
        (job.Relu, job.Batch, job.Block, job.Geometry, job.Wide) = (relu, batch, block, g, Wide);
        int groups = (batch + Lanes - 1) / Lanes;
        long weightSet = !weights ? 0 : ReducesEachGroup(g) ? WeightCount(g) : (long)WeightTasks(g) * 20 * Lanes, biasFloats = biases ? (long)groups * g.OutChannels * Lanes : 0;
        int parts = Math.Max(1, Math.Min(Threading.NumThreads, groups));
        if (weightSet * groups * sizeof(float) > 256L << 20) parts = 1;
        // Split across threads where that measured faster for this layer on this machine (SplitCalibration).
        SplitCalibration.Trial trial = SplitCalibration.Begin(SplitCalibration.LaneConv, (long)batch * 8 + (job.Pooled != null || job.Derivative != null ? 4 : 0) + (int)kind * 2 + (output is null ? 1 : 0),
            g.GetHashCode(), ((long)g.InputSize << 32) | (uint)g.OutputSize, parts);
        job.Parts = trial.Parts;
        job.Partials = null;
        job.BiasPartials = null;
        if (weights || biases)
        {
            long floats = (job.Parts == 1 ? 1 : groups) * weightSet + biasFloats;
            if (floats > Array.MaxLength - 32)
            {
                throw new InvalidOperationException($"The lane kernel's gradient of a {g.OutChannels} x {g.InChannels} x {g.KernelH} x {g.KernelW} convolution at batch {batch} " +
                    $"needs {floats} floats of partial sums; an array holds at most {Array.MaxLength - 32}.");
            }
            float* partials = Scratch(ref s_partials, (int)floats);
            job.Partials = weights ? partials : null;
            job.BiasPartials = biases ? partials + (job.Parts == 1 ? 1 : groups) * weightSet : null;
        }
        WorkerPool.Run(job, job.Parts);
        return trial;
    }

    /// <summary>
    /// A per-thread buffer of at least <paramref name="length"/> floats from a 64-byte boundary (pinned): every vector of
    /// the lane layout is then one cache line. Unaligned (as the runtime placed them, 32 bytes off here), LeNet's second
    /// layer took 2.53 ms for both gradients against 2.03 ms aligned, and 0.85 ms forward against 0.79 ms.
    /// </summary>
    private static float* Scratch(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length + 16) buffer = AlignedArray.Allocate(length);
        return (float*)Unsafe.AsPointer(ref buffer[AlignedArray.Start(buffer)]);
    }

    /// <summary>A packing buffer: as <see cref="Scratch(ref float[], int)"/>, forgetting its cleared padding when it is replaced (a new array may reuse an old one's address).</summary>
    private static float* Scratch(ref float[]? buffer, int length, ref ZeroedPadding zeroed)
    {
        float[]? before = buffer;
        float* start = Scratch(ref buffer, length);
        if (!ReferenceEquals(buffer, before)) zeroed = default;
        return start;
    }

    [ThreadStatic] private static float[]? s_taps;

    /// <summary>
    /// The weights as taps: row (c, kh, kw) over the layer's input channels holds the output channels' weights, padded
    /// to the block (4; 6 when the count divides by 6 and not by 4, 3 when by 3 only). With <paramref name="flip"/>, for
    /// the input gradient: channels swapped and the kernel rotated.
    /// </summary>
    private static float[] Taps(ReadOnlySpan<float> weight, in Conv2dGeometry layer, bool flip, out int block)
    {
        int inChannels = flip ? layer.OutChannels : layer.InChannels, outChannels = flip ? layer.InChannels : layer.OutChannels;
        block = BlockFor(outChannels);
        int padded = (outChannels + block - 1) / block * block, length = inChannels * layer.KernelH * layer.KernelW * padded;
        float[] taps = s_taps is { } t && t.Length >= length ? t : (s_taps = GC.AllocateUninitializedArray<float>(length, pinned: true));
        DirectConv.FillTaps(taps.AsSpan(0, length), weight, layer, flip, padded);
        return taps;
    }

    private static int BlockFor(int outChannels) => outChannels % 4 == 0 ? 4 : outChannels % 6 == 0 ? 6 : outChannels % 3 == 0 ? 3 : 4;

    /// <summary>
    /// A strided layer's input gradient taps, phase after phase in the order StridedInputGradient takes them: each the
    /// layout <see cref="Taps"/> gives a flipped kernel (row (output channel, tap row, tap) over the input channels,
    /// padded to the block), for that phase's taps.
    /// </summary>
    private static float[] StridedTaps(ReadOnlySpan<float> weight, in Conv2dGeometry g, out int block)
    {
        block = BlockFor(g.InChannels);
        int padded = (g.InChannels + block - 1) / block * block, length = 0;
        for (int ah = 0; ah < g.StrideH; ah++)
        {
            for (int aw = 0; aw < g.StrideW; aw++)
            {
                Phase ph = Phase.Of(ah, g.StrideH, g.KernelH, g.PadTop, g.InHeight), pw = Phase.Of(aw, g.StrideW, g.KernelW, g.PadLeft, g.InWidth);
                if (ph.Count > 0 && pw.Count > 0) length += g.OutChannels * ph.Taps * pw.Taps * padded;
            }
        }
        float[] taps = s_taps is { } t && t.Length >= length ? t : (s_taps = GC.AllocateUninitializedArray<float>(length, pinned: true));
        taps.AsSpan(0, length).Clear();
        int offset = 0;
        for (int ah = 0; ah < g.StrideH; ah++)
        {
            for (int aw = 0; aw < g.StrideW; aw++)
            {
                Phase ph = Phase.Of(ah, g.StrideH, g.KernelH, g.PadTop, g.InHeight), pw = Phase.Of(aw, g.StrideW, g.KernelW, g.PadLeft, g.InWidth);
                if (ph.Count == 0 || pw.Count == 0) continue;
                for (int co = 0; co < g.OutChannels; co++)
                {
                    for (int kh = 0; kh < ph.Taps; kh++)
                    {
                        for (int kw = 0; kw < pw.Taps; kw++)
                        {
                            int row = offset + ((co * ph.Taps + kh) * pw.Taps + kw) * padded;
                            int source = (co * g.InChannels * g.KernelH + ph.KernelIndex(kh, g.StrideH)) * g.KernelW + pw.KernelIndex(kw, g.StrideW);
                            for (int ci = 0; ci < g.InChannels; ci++) taps[row + ci] = weight[source + ci * g.KernelH * g.KernelW];
                        }
                    }
                }
                offset += g.OutChannels * ph.Taps * pw.Taps * padded;
            }
        }
        return taps;
    }

    /// <summary>
    /// Samples [0, count) of <paramref name="x"/> (<paramref name="sampleStride"/> floats apart, [C, H, W] each) into
    /// <paramref name="packed"/> as [C, paddedH, paddedW, 16], each image at (padTop, padLeft): zeros in the padding and
    /// in the lanes of missing samples. The padding is cleared only when <paramref name="zeroed"/> says it was last cleared
    /// for another layout: nothing else writes into a packing buffer, and each pack rewrites every position inside, so
    /// the zeros stay (the input gradient's output gradient, 18 x 18 around 10 x 10 for LeNet's second layer, is two
    /// thirds padding: 330 KB cleared per 16 samples before).
    /// </summary>
    private static void Pack(float* packed, float* x, int count, int channels, int sampleStride, int height, int width, int padTop, int padLeft, int paddedH, int paddedW,
        ref ZeroedPadding zeroed, bool wide)
    {
        ClearPadding(packed, channels, height, width, padTop, padLeft, paddedH, paddedW, ref zeroed);
        // A sample's channel plane is contiguous: transposed 16 positions at a time along it (a 10-wide plane of 100 in
        // 7 tiles rather than 10 row by row), each position then stored at its place in the padded plane.
        int planeFloats = paddedH * paddedW * Lanes;
        if (paddedH == height && paddedW == width) PackPlanes(new ContiguousSink(packed, planeFloats), x, count, channels, sampleStride, height * width, wide);
        else PackPlanes(new PaddedPlaneSink(packed, planeFloats, width, paddedW, padTop, padLeft), x, count, channels, sampleStride, height * width, wide);
    }

    /// <summary>
    /// Zeros in the padding of <paramref name="packed"/>'s layout (planes [paddedH, paddedW, 16], the image at
    /// (padTop, padLeft)) unless <paramref name="zeroed"/> says they are there from before: whoever writes the buffer next
    /// writes every position inside.
    /// </summary>
    private static void ClearPadding(float* packed, int channels, int height, int width, int padTop, int padLeft, int paddedH, int paddedW, ref ZeroedPadding zeroed)
    {
        var layout = new ZeroedPadding((nint)packed, channels, height, width, padTop, padLeft, paddedH, paddedW);
        if (zeroed == layout) return;
        // Another layout writes where this one's padding was: cleared now if this one has padding, else forgotten.
        bool padded = paddedH != height || paddedW != width;
        if (padded) new Span<float>(packed, channels * paddedH * paddedW * Lanes).Clear();
        zeroed = padded ? layout : default;
    }

    /// <summary>The channel planes of <see cref="Pack"/>, each as consecutive tiles of 16 positions, through <paramref name="sink"/>.</summary>
    private static void PackPlanes<TSink>(TSink sink, float* x, int count, int channels, int sampleStride, int plane, bool wide) where TSink : struct, IPlaneSink
    {
        if (!wide)
        {
            PackPlanes256(sink, x, count, channels, sampleStride, plane);
            return;
        }
        bool prefetch = (long)count * sampleStride * sizeof(float) >= 256 * 1024;
        for (int c = 0; c < channels; c++)
        {
            float* source = x + (long)c * plane;
            sink.StartPlane(c);
            for (int p0 = 0; p0 < plane; p0 += Lanes)
            {
                int n = Math.Min(Lanes, plane - p0);
                Vector512<float> mask = Mask(n);
                sink.StartTile(p0, n);
                // Where a group's samples are too large to have stayed in L2, each sample's values 8 lines ahead: 16
                // streams, one per sample, are more than the hardware prefetcher keeps ahead of (a prefetch past a
                // sample's end reads nothing harmful and never faults). Small ones (LeNet's) ran slower with it.
                if (prefetch) for (int i = 0; i < count; i++) Sse.Prefetch0(source + p0 + i * (long)sampleStride + 8 * Lanes);
                var rows = new SampleRows(source + p0, sampleStride, count, mask, n == Lanes);
                Transpose(ref rows, ref sink);
            }
        }
    }

    /// <summary>Row i: sample i's 16 values from <c>at</c> (masked unless <paramref name="whole"/>), or zeros for a missing sample.</summary>
    private readonly struct SampleRows(float* at, long sampleStride, int count, Vector512<float> mask, bool whole) : IRowSource
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Row(int i) => i >= count ? Vector512<float>.Zero
            : whole ? Vector512.Load(at + i * sampleStride) : Avx512F.MaskLoad(at + i * sampleStride, mask, Vector512<float>.Zero);
    }

    /// <summary>[C, positions, 16] back to samples [0, count) of [C, positions] each.</summary>
    private static void Unpack(float* y, float* result, int count, int channels, int plane, bool wide)
    {
        if (!wide)
        {
            Unpack256(y, result, count, channels, plane);
            return;
        }
        int sample = channels * plane;
        for (int c = 0; c < channels; c++)
        {
            for (int p0 = 0; p0 < plane; p0 += Lanes)
            {
                int n = Math.Min(Lanes, plane - p0);
                float* source = result + ((long)c * plane + p0) * Lanes;
                var sink = new SamplesSink(y + c * plane + p0, sample, count, Mask(n), n == Lanes);
                var rows = new PositionRows(source, n);
                Transpose(ref rows, ref sink);
            }
        }
    }

    /// <summary>Each whole group of 16 samples of <paramref name="lanes"/> ([C, positions, 16] in its samples' place) into <paramref name="samples"/>.</summary>
    internal static void WholeGroupsToSamples(Span<float> samples, ReadOnlySpan<float> lanes, int batch, int channels, int plane)
    {
        fixed (float* y = samples, source = lanes)
        {
            for (long n0 = 0; n0 + Lanes <= batch; n0 += Lanes) Unpack(y + n0 * channels * plane, source + n0 * channels * plane, Lanes, channels, plane, Wide);
        }
    }

    /// <summary>Row j: position j's 16 lanes from <c>source</c>, or zeros past the last position.</summary>
    private readonly struct PositionRows(float* source, int n) : IRowSource, IHalfSource
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Row(int j) => j < n ? Vector512.Load(source + j * Lanes) : Vector512<float>.Zero;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Half(int j, int half) => j < n ? Vector256.Load(source + j * Lanes + half) : Vector256<float>.Zero;
    }

    /// <summary>Where <see cref="Transpose"/> takes its 16 rows from.</summary>
    private interface IRowSource
    {
        Vector512<float> Row(int i);
    }

    /// <summary>Where <see cref="Transpose"/> puts its 16 rows, in order.</summary>
    private interface IRowSink
    {
        void Store(int row, Vector512<float> value);
    }

    /// <summary>A sink for packed planes: told each channel and each tile (its first position and count) before its rows.</summary>
    private interface IPlaneSink : IRowSink, IHalfSink
    {
        void StartPlane(int channel);
        void StartTile(int first, int count);
    }

    /// <summary>Rows as consecutive positions of unpadded planes (the first count of each tile).</summary>
    private struct ContiguousSink(float* packed, int planeFloats) : IPlaneSink
    {
        private float* _plane, _tile;
        private int _count;

        public void StartPlane(int channel) => _plane = packed + (long)channel * planeFloats;
        public void StartTile(int first, int count)
        {
            _tile = _plane + (long)first * Lanes;
            _count = count;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(int row, Vector512<float> value)
        {
            if (row < _count) Vector512.Store(value, _tile + row * Lanes);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(int row, Vector256<float> low, Vector256<float> high)
        {
            if (row >= _count) return;
            Vector256.Store(low, _tile + row * Lanes);
            Vector256.Store(high, _tile + row * Lanes + 8);
        }
    }

    /// <summary>Rows as consecutive positions of a plane (the first count of each tile), each at its place in the padded layout.</summary>
    private struct PaddedPlaneSink(float* packed, int planeFloats, int width, int paddedW, int padTop, int padLeft) : IPlaneSink
    {
        private float* _plane;
        private int _count, _h, _w;

        public void StartPlane(int channel)
        {
            _plane = packed + (long)channel * planeFloats;
            _h = _w = 0;
        }
        public void StartTile(int first, int count) => _count = count;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(int row, Vector512<float> value)
        {
            if (row >= _count) return;
            Vector512.Store(value, _plane + ((long)(_h + padTop) * paddedW + _w + padLeft) * Lanes);
            Next();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(int row, Vector256<float> low, Vector256<float> high)
        {
            if (row >= _count) return;
            float* at = _plane + ((long)(_h + padTop) * paddedW + _w + padLeft) * Lanes;
            Vector256.Store(low, at);
            Vector256.Store(high, at + 8);
            Next();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Next()
        {
            if (++_w == width)
            {
                _w = 0;
                _h++;
            }
        }
    }

    /// <summary>
    /// Rows as samples (the first <c>count</c>), each stored at its sample's place: whole when the tile is
    /// (<paramref name="whole"/>), else under the mask. To memory not in cache (the batch's outputs) a masked store cost
    /// about twice a plain one on AMD Zen 5.
    /// </summary>
    private readonly struct SamplesSink(float* first, int sampleStride, int count, Vector512<float> mask, bool whole) : IRowSink
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(int row, Vector512<float> value)
        {
            if (row >= count) return;
            if (whole) Vector512.Store(value, first + (long)row * sampleStride);
            else Avx512F.MaskStore(first + (long)row * sampleStride, mask, value);
        }
    }

    private static Vector512<float> Mask(int count) =>
        Vector512.LessThan(Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create(count)).AsSingle();

    /// <summary>
    /// The 16 x 16 transpose of <paramref name="rows"/>' rows 0..15, in registers (four rounds of unpacks and 128-bit lane
    /// shuffles), row i of the result handed to <paramref name="sink"/> in order. The JIT does not inline it (its size, its
    /// 64 vector locals), so it is a call per tile: the rows' source and the sink go by reference, rather than the 16 rows
    /// by value, which went through the stack (1 KB per call); their Row and Store are inlined here.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose<TSource, TSink>(ref TSource rows, ref TSink sink) where TSource : struct, IRowSource where TSink : struct, IRowSink
    {
        Vector512<float> r0 = rows.Row(0), r1 = rows.Row(1), r2 = rows.Row(2), r3 = rows.Row(3), r4 = rows.Row(4), r5 = rows.Row(5), r6 = rows.Row(6), r7 = rows.Row(7);
        Vector512<float> r8 = rows.Row(8), r9 = rows.Row(9), r10 = rows.Row(10), r11 = rows.Row(11), r12 = rows.Row(12), r13 = rows.Row(13), r14 = rows.Row(14), r15 = rows.Row(15);

        // Pairs of rows interleaved by element, then by pairs of elements: each 128-bit lane ends holding a 4 x 4 block.
        Vector512<float> t0 = Avx512F.UnpackLow(r0, r1), t1 = Avx512F.UnpackHigh(r0, r1), t2 = Avx512F.UnpackLow(r2, r3), t3 = Avx512F.UnpackHigh(r2, r3);
        Vector512<float> t4 = Avx512F.UnpackLow(r4, r5), t5 = Avx512F.UnpackHigh(r4, r5), t6 = Avx512F.UnpackLow(r6, r7), t7 = Avx512F.UnpackHigh(r6, r7);
        Vector512<float> t8 = Avx512F.UnpackLow(r8, r9), t9 = Avx512F.UnpackHigh(r8, r9), t10 = Avx512F.UnpackLow(r10, r11), t11 = Avx512F.UnpackHigh(r10, r11);
        Vector512<float> t12 = Avx512F.UnpackLow(r12, r13), t13 = Avx512F.UnpackHigh(r12, r13), t14 = Avx512F.UnpackLow(r14, r15), t15 = Avx512F.UnpackHigh(r14, r15);

        Vector512<float> u0 = Avx512F.UnpackLow(t0.AsDouble(), t2.AsDouble()).AsSingle(), u1 = Avx512F.UnpackHigh(t0.AsDouble(), t2.AsDouble()).AsSingle();
        Vector512<float> u2 = Avx512F.UnpackLow(t1.AsDouble(), t3.AsDouble()).AsSingle(), u3 = Avx512F.UnpackHigh(t1.AsDouble(), t3.AsDouble()).AsSingle();
        Vector512<float> u4 = Avx512F.UnpackLow(t4.AsDouble(), t6.AsDouble()).AsSingle(), u5 = Avx512F.UnpackHigh(t4.AsDouble(), t6.AsDouble()).AsSingle();
        Vector512<float> u6 = Avx512F.UnpackLow(t5.AsDouble(), t7.AsDouble()).AsSingle(), u7 = Avx512F.UnpackHigh(t5.AsDouble(), t7.AsDouble()).AsSingle();
        Vector512<float> u8 = Avx512F.UnpackLow(t8.AsDouble(), t10.AsDouble()).AsSingle(), u9 = Avx512F.UnpackHigh(t8.AsDouble(), t10.AsDouble()).AsSingle();
        Vector512<float> u10 = Avx512F.UnpackLow(t9.AsDouble(), t11.AsDouble()).AsSingle(), u11 = Avx512F.UnpackHigh(t9.AsDouble(), t11.AsDouble()).AsSingle();
        Vector512<float> u12 = Avx512F.UnpackLow(t12.AsDouble(), t14.AsDouble()).AsSingle(), u13 = Avx512F.UnpackHigh(t12.AsDouble(), t14.AsDouble()).AsSingle();
        Vector512<float> u14 = Avx512F.UnpackLow(t13.AsDouble(), t15.AsDouble()).AsSingle(), u15 = Avx512F.UnpackHigh(t13.AsDouble(), t15.AsDouble()).AsSingle();

        // The 4 x 4 blocks moved across 128-bit lanes: first within groups of four rows, then across the halves.
        Vector512<float> v0 = Avx512F.Shuffle4x128(u0, u4, 0x88), v1 = Avx512F.Shuffle4x128(u1, u5, 0x88), v2 = Avx512F.Shuffle4x128(u2, u6, 0x88), v3 = Avx512F.Shuffle4x128(u3, u7, 0x88);
        Vector512<float> v4 = Avx512F.Shuffle4x128(u0, u4, 0xDD), v5 = Avx512F.Shuffle4x128(u1, u5, 0xDD), v6 = Avx512F.Shuffle4x128(u2, u6, 0xDD), v7 = Avx512F.Shuffle4x128(u3, u7, 0xDD);
        Vector512<float> v8 = Avx512F.Shuffle4x128(u8, u12, 0x88), v9 = Avx512F.Shuffle4x128(u9, u13, 0x88), v10 = Avx512F.Shuffle4x128(u10, u14, 0x88), v11 = Avx512F.Shuffle4x128(u11, u15, 0x88);
        Vector512<float> v12 = Avx512F.Shuffle4x128(u8, u12, 0xDD), v13 = Avx512F.Shuffle4x128(u9, u13, 0xDD), v14 = Avx512F.Shuffle4x128(u10, u14, 0xDD), v15 = Avx512F.Shuffle4x128(u11, u15, 0xDD);

        sink.Store(0, Avx512F.Shuffle4x128(v0, v8, 0x88));
        sink.Store(1, Avx512F.Shuffle4x128(v1, v9, 0x88));
        sink.Store(2, Avx512F.Shuffle4x128(v2, v10, 0x88));
        sink.Store(3, Avx512F.Shuffle4x128(v3, v11, 0x88));
        sink.Store(4, Avx512F.Shuffle4x128(v4, v12, 0x88));
        sink.Store(5, Avx512F.Shuffle4x128(v5, v13, 0x88));
        sink.Store(6, Avx512F.Shuffle4x128(v6, v14, 0x88));
        sink.Store(7, Avx512F.Shuffle4x128(v7, v15, 0x88));
        sink.Store(8, Avx512F.Shuffle4x128(v0, v8, 0xDD));
        sink.Store(9, Avx512F.Shuffle4x128(v1, v9, 0xDD));
        sink.Store(10, Avx512F.Shuffle4x128(v2, v10, 0xDD));
        sink.Store(11, Avx512F.Shuffle4x128(v3, v11, 0xDD));
        sink.Store(12, Avx512F.Shuffle4x128(v4, v12, 0xDD));
        sink.Store(13, Avx512F.Shuffle4x128(v5, v13, 0xDD));
        sink.Store(14, Avx512F.Shuffle4x128(v6, v14, 0xDD));
        sink.Store(15, Avx512F.Shuffle4x128(v7, v15, 0xDD));
    }

    /// <summary>One group: result[co, oh, ow, 16] over a packed, padded input, in blocks of channels by positions of a row.</summary>
    private static void Convolve(float* result, float* packed, float* taps, float* bias, in Conv2dGeometry g, int block, bool relu, bool wide)
    {
        (int paddedH, int paddedW) = Padded(g);
        Convolve(result, packed, taps, bias, g, block, relu, paddedH, paddedW, wide);
    }

    /// <summary>As above, over planes <paramref name="paddedH"/> x <paramref name="paddedW"/> (at least <see cref="Padded"/>'s) of which g reads the top left part.</summary>
    private static void Convolve(float* result, float* packed, float* taps, float* bias, in Conv2dGeometry g, int block, bool relu, int paddedH, int paddedW, bool wide)
    {
        if (!wide && g.StrideW == 2) Convolve256<Two>(result, packed, taps, bias, g, block, relu, paddedH, paddedW);
        else if (!wide) Convolve256<One>(result, packed, taps, bias, g, block, relu, paddedH, paddedW);
        else if (g.StrideW == 2) Convolve<Two>(result, packed, taps, bias, g, block, relu, paddedH, paddedW);
        else Convolve<One>(result, packed, taps, bias, g, block, relu, paddedH, paddedW);
    }

    /// <summary><see cref="Convolve(float*, float*, float*, float*, in Conv2dGeometry, int, bool, int, int, bool)"/> at stride TS along the rows.</summary>
    private static void Convolve<TS>(float* result, float* packed, float* taps, float* bias, in Conv2dGeometry g, int block, bool relu, int paddedH, int paddedW)
        where TS : struct, ICount
    {
        // Positions per block: up to 24 accumulators (blocks of 6 channels by 4 positions: 10 loads per 24 multiply-adds,
        // where 3 by 4 took 7 per 12).
        int width = block == 6 ? 4 : block == 4 ? 6 : 8;
        // A row's positions in up to three stretches: those whose first taps fall on the left padding, those that read
        // no padding, those whose last taps fall on the right padding. A block within an edge stretch skips the taps
        // that read only padding for all its positions: the input gradient's convolution over the output gradient,
        // padded by kernel - 1 on each side, spends about a third of its taps there (LeNet's second layer: 4 of 14
        // positions at each edge). Edges of fewer than 3 positions stay in the blocks beside them (a block that narrow
        // would wait on its few accumulators more than it saves).
        (int left, int right) = Stretches(g, TS.N);
        // Row by row, every block of channels: the kernel's rows of input they all read stay in L1 (a block's whole
        // input slab at a time did not: 124-331 KB for LeNet's second convolution).
        for (int oh = 0; oh < g.OutHeight; oh++)
        {
            for (int co = 0; co < g.OutChannels; co += block)
            {
                for (int ow = 0, n; ow < g.OutWidth; ow += n)
                {
                    int end = ow < left ? left : ow < right ? right : g.OutWidth;
                    n = Math.Min(width, end - ow);
                    // A stretch of 5 or 6 positions in blocks of 6 channels goes in blocks of 3 positions (not 4 and a narrow 1 or 2).
                    if (block == 6 && end - ow is 5 or 6) n = 3;
                    if (block == 6) Positions<Six, TS>(n, result, packed, taps, bias, g, co, oh, ow, relu, paddedH, paddedW);
                    else if (block == 4) Positions<Four, TS>(n, result, packed, taps, bias, g, co, oh, ow, relu, paddedH, paddedW);
                    else Positions<Three, TS>(n, result, packed, taps, bias, g, co, oh, ow, relu, paddedH, paddedW);
                }
            }
        }
    }

    /// <summary>
    /// Where a row's middle stretch of positions (those that read no padding) starts and ends, at stride
    /// <paramref name="stride"/> along the rows: position ow's first tap reads column ow stride - padLeft, its last
    /// ow stride - padLeft + kernel - 1. An edge of fewer than 3 positions joins the middle.
    /// </summary>
    private static (int Left, int Right) Stretches(in Conv2dGeometry g, int stride)
    {
        int left = Math.Min((g.PadLeft + stride - 1) / stride, g.OutWidth);
        int right = Math.Clamp((Math.Max(0, g.PadLeft + g.InWidth - g.KernelW + 1) + stride - 1) / stride, left, g.OutWidth);
        if (left < 3) left = 0;
        if (g.OutWidth - right < 3) right = g.OutWidth;
        return (left, right);
    }

    /// <summary>
    /// <see cref="Block{TC, TP, TS}"/> for <paramref name="n"/> positions (at most the block's width: 4 for 6 channels, 6 for 4, 8 for
    /// 3, so the instantiations beyond those never run).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Positions<TC, TS>(int n, float* result, float* packed, float* taps, float* bias, in Conv2dGeometry g, int co, int oh, int ow, bool relu,
        int paddedH, int paddedW) where TC : struct, ICount where TS : struct, ICount
    {
        switch (n)
        {
            case 8: Block<TC, Eight, TS>(result, packed, taps, bias, g, co, oh, ow, relu, paddedH, paddedW); break;
            case 7: Block<TC, Seven, TS>(result, packed, taps, bias, g, co, oh, ow, relu, paddedH, paddedW); break;
            case 6: Block<TC, Six, TS>(result, packed, taps, bias, g, co, oh, ow, relu, paddedH, paddedW); break;
            case 5: Block<TC, Five, TS>(result, packed, taps, bias, g, co, oh, ow, relu, paddedH, paddedW); break;
            case 4: Block<TC, Four, TS>(result, packed, taps, bias, g, co, oh, ow, relu, paddedH, paddedW); break;
            case 3: Block<TC, Three, TS>(result, packed, taps, bias, g, co, oh, ow, relu, paddedH, paddedW); break;
            case 2: Block<TC, Two, TS>(result, packed, taps, bias, g, co, oh, ow, relu, paddedH, paddedW); break;
            default: Block<TC, One, TS>(result, packed, taps, bias, g, co, oh, ow, relu, paddedH, paddedW); break;
        }
    }

    /// <summary>
    /// TC output channels (from co0) by TP positions (from ow0 in row oh): TC x TP accumulators over every input channel
    /// and tap; per tap TP aligned loads of the input and TC broadcast weights feed TC x TP multiply-adds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TC, TP, TS>(float* result, float* packed, float* taps, float* bias, in Conv2dGeometry g, int co0, int oh, int ow0, bool relu,
        int paddedH, int paddedW) where TC : struct, ICount where TP : struct, ICount where TS : struct, ICount
    {
        int kw = g.KernelW, stride = TC.N;
        int padded = (g.OutChannels + stride - 1) / stride * stride;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a04 = default, a05 = default, a06 = default, a07 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default, a16 = default, a17 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default, a24 = default, a25 = default, a26 = default, a27 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default, a34 = default, a35 = default, a36 = default, a37 = default;
        Vector512<float> a40 = default, a41 = default, a42 = default, a43 = default, a44 = default, a45 = default, a46 = default, a47 = default;
        Vector512<float> a50 = default, a51 = default, a52 = default, a53 = default, a54 = default, a55 = default, a56 = default, a57 = default;
        // Kernel rows that fall on padding rows read only zeros: skip them (the input gradient's padded output gradient
        // has KernelH - 1 of them above and below).
        int ih0 = oh * g.StrideH, iw0 = ow0 * TS.N; // the first position's window starts there in the padded input
        int khStart = Math.Max(0, g.PadTop - ih0), khEnd = Math.Min(g.KernelH, g.PadTop + g.InHeight - ih0);
        // Likewise the kernel columns that fall on padding columns for all TP positions.
        int kStart = Math.Max(0, g.PadLeft - (ow0 + TP.N - 1) * TS.N), kEnd = Math.Min(kw, g.PadLeft + g.InWidth - iw0);
        for (int ci = 0; ci < g.InChannels; ci++)
        {
            for (int kh = khStart; kh < khEnd; kh++)
            {
                float* row = packed + ((long)(ci * paddedH + ih0 + kh) * paddedW + iw0 + kStart) * Lanes;
                float* tap = taps + ((long)(ci * g.KernelH + kh) * kw + kStart) * padded + co0;
                for (int k = kStart; k < kEnd; k++, row += Lanes, tap += padded)
                {
                    Vector512<float> x0 = Vector512.Load(row), x1 = default, x2 = default, x3 = default, x4 = default, x5 = default, x6 = default, x7 = default;
                    if (TP.N > 1) x1 = Vector512.Load(row + 16 * TS.N);
                    if (TP.N > 2) x2 = Vector512.Load(row + 32 * TS.N);
                    if (TP.N > 3) x3 = Vector512.Load(row + 48 * TS.N);
                    if (TP.N > 4) x4 = Vector512.Load(row + 64 * TS.N);
                    if (TP.N > 5) x5 = Vector512.Load(row + 80 * TS.N);
                    if (TP.N > 6) x6 = Vector512.Load(row + 96 * TS.N);
                    if (TP.N > 7) x7 = Vector512.Load(row + 112 * TS.N);
                    Channel<TP>(tap[0], x0, x1, x2, x3, x4, x5, x6, x7, ref a00, ref a01, ref a02, ref a03, ref a04, ref a05, ref a06, ref a07);
                    Channel<TP>(tap[1], x0, x1, x2, x3, x4, x5, x6, x7, ref a10, ref a11, ref a12, ref a13, ref a14, ref a15, ref a16, ref a17);
                    Channel<TP>(tap[2], x0, x1, x2, x3, x4, x5, x6, x7, ref a20, ref a21, ref a22, ref a23, ref a24, ref a25, ref a26, ref a27);
                    // Blocks of 4 channels have at most 6 positions, blocks of 6 at most 4: the accumulators they lack are never touched.
                    if (TC.N > 3) Channel<TP>(tap[3], x0, x1, x2, x3, x4, x5, x6, x7, ref a30, ref a31, ref a32, ref a33, ref a34, ref a35, ref a36, ref a37);
                    if (TC.N > 4) Channel<TP>(tap[4], x0, x1, x2, x3, x4, x5, x6, x7, ref a40, ref a41, ref a42, ref a43, ref a44, ref a45, ref a46, ref a47);
                    if (TC.N > 5) Channel<TP>(tap[5], x0, x1, x2, x3, x4, x5, x6, x7, ref a50, ref a51, ref a52, ref a53, ref a54, ref a55, ref a56, ref a57);
                }
            }
        }
        int plane = g.OutputPlane;
        float* target = result + ((long)co0 * plane + oh * g.OutWidth + ow0) * Lanes;
        StoreRow<TP>(target, 0, co0, g.OutChannels, plane, bias, relu, a00, a01, a02, a03, a04, a05, a06, a07);
        StoreRow<TP>(target, 1, co0, g.OutChannels, plane, bias, relu, a10, a11, a12, a13, a14, a15, a16, a17);
        StoreRow<TP>(target, 2, co0, g.OutChannels, plane, bias, relu, a20, a21, a22, a23, a24, a25, a26, a27);
        if (TC.N > 3) StoreRow<TP>(target, 3, co0, g.OutChannels, plane, bias, relu, a30, a31, a32, a33, a34, a35, a36, a37);
        if (TC.N > 4) StoreRow<TP>(target, 4, co0, g.OutChannels, plane, bias, relu, a40, a41, a42, a43, a44, a45, a46, a47);
        if (TC.N > 5) StoreRow<TP>(target, 5, co0, g.OutChannels, plane, bias, relu, a50, a51, a52, a53, a54, a55, a56, a57);
    }

    /// <summary>One tap of one output channel: its weight times each of the TP input vectors, added to that position's accumulator.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Channel<TP>(float weight, Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3, Vector512<float> x4,
        Vector512<float> x5, Vector512<float> x6, Vector512<float> x7, ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2,
        ref Vector512<float> a3, ref Vector512<float> a4, ref Vector512<float> a5, ref Vector512<float> a6, ref Vector512<float> a7) where TP : struct, ICount
    {
        Vector512<float> w = Vector512.Create(weight);
        a0 = Vector512.FusedMultiplyAdd(w, x0, a0);
        if (TP.N > 1) a1 = Vector512.FusedMultiplyAdd(w, x1, a1);
        if (TP.N > 2) a2 = Vector512.FusedMultiplyAdd(w, x2, a2);
        if (TP.N > 3) a3 = Vector512.FusedMultiplyAdd(w, x3, a3);
        if (TP.N > 4) a4 = Vector512.FusedMultiplyAdd(w, x4, a4);
        if (TP.N > 5) a5 = Vector512.FusedMultiplyAdd(w, x5, a5);
        if (TP.N > 6) a6 = Vector512.FusedMultiplyAdd(w, x6, a6);
        if (TP.N > 7) a7 = Vector512.FusedMultiplyAdd(w, x7, a7);
    }

    /// <summary>Channel co0 + j's TP vectors (bias added, ReLU applied), if the channel exists.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TP>(float* target, int j, int co0, int channels, int plane, float* bias, bool relu,
        Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3, Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7)
        where TP : struct, ICount
    {
        if (co0 + j >= channels) return;
        Vector512<float> shift = bias is null ? Vector512<float>.Zero : Vector512.Create(bias[co0 + j]);
        Vector512<float> floor = relu ? Vector512<float>.Zero : Vector512.Create(float.NegativeInfinity);
        float* row = target + (long)j * plane * Lanes;
        Vector512.Store(Vector512.Max(v0 + shift, floor), row);
        if (TP.N > 1) Vector512.Store(Vector512.Max(v1 + shift, floor), row + 16);
        if (TP.N > 2) Vector512.Store(Vector512.Max(v2 + shift, floor), row + 32);
        if (TP.N > 3) Vector512.Store(Vector512.Max(v3 + shift, floor), row + 48);
        if (TP.N > 4) Vector512.Store(Vector512.Max(v4 + shift, floor), row + 64);
        if (TP.N > 5) Vector512.Store(Vector512.Max(v5 + shift, floor), row + 80);
        if (TP.N > 6) Vector512.Store(Vector512.Max(v6 + shift, floor), row + 96);
        if (TP.N > 7) Vector512.Store(Vector512.Max(v7 + shift, floor), row + 112);
    }

    /// <summary>
    /// Output rows per strip of the weight gradient: the rows of a block's 4 output-gradient planes that the sums read (64
    /// bytes a position) at most 16 KB a strip, so that they stay in a 48 KB L1 with the input rows the strip reads, or the
    /// whole plane where that is under twice as much (the small ResNet's 28 x 28 layers: 2 rows a strip; 14 x 14: 4; 7 x 7
    /// and LeNet's 10 x 10: the whole plane, whose strips of 6 rows measured slower).
    /// </summary>
    private static int WeightStrip(in Conv2dGeometry g)
    {
        int rows = Math.Max(1, 16384 / (4 * g.OutWidth * Lanes * sizeof(float)));
        return 2 * rows >= g.OutHeight ? g.OutHeight : rows;
    }

    /// <summary>
    /// For output rows <paramref name="oh0"/> to <paramref name="oh1"/> of one group: s[j * 5 + t] = dY[j, position] x
    /// [position + (kh, k0 + t)] summed over the rows' positions in order, from <paramref name="from"/>'s sums (or zero), for
    /// <paramref name="channels"/> output channels (planes <paramref name="gradPlane"/> apart, rows <paramref name="gradRow"/>
    /// wide) and <paramref name="width"/> taps, 4 x (up to 5) accumulators in registers; stored to <paramref name="to"/>, or
    /// added to it with <paramref name="add"/> (only the channels' and taps' places).
    /// </summary>
    private static void WeightBlock(Vector512<float>* to, float* weightsAt, long channelStep, Vector512<float>* from, bool add, float* x, float* dy, int channels, int width,
        in Conv2dGeometry g, int kh, int k0, int paddedW, int gradPlane, int gradRow, int oh0, int oh1)
    {
        switch (width)
        {
            case 5: Taps5<Five>(to, weightsAt, channelStep, from, add, x, dy, channels, g, kh, k0, paddedW, gradPlane, gradRow, oh0, oh1); break;
            case 4: Taps5<Four>(to, weightsAt, channelStep, from, add, x, dy, channels, g, kh, k0, paddedW, gradPlane, gradRow, oh0, oh1); break;
            case 3: Taps5<Three>(to, weightsAt, channelStep, from, add, x, dy, channels, g, kh, k0, paddedW, gradPlane, gradRow, oh0, oh1); break;
            case 2: Taps5<Two>(to, weightsAt, channelStep, from, add, x, dy, channels, g, kh, k0, paddedW, gradPlane, gradRow, oh0, oh1); break;
            default: Taps5<One>(to, weightsAt, channelStep, from, add, x, dy, channels, g, kh, k0, paddedW, gradPlane, gradRow, oh0, oh1); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Taps5<TT>(Vector512<float>* to, float* weightsAt, long channelStep, Vector512<float>* from, bool add, float* x, float* dy, int channels,
        in Conv2dGeometry g, int kh, int k0, int paddedW, int gradPlane, int gradRow, int oh0, int oh1)
        where TT : struct, ICount
    {
        Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default, s04 = default;
        Vector512<float> s10 = default, s11 = default, s12 = default, s13 = default, s14 = default;
        Vector512<float> s20 = default, s21 = default, s22 = default, s23 = default, s24 = default;
        Vector512<float> s30 = default, s31 = default, s32 = default, s33 = default, s34 = default;
        if (from != null)
        {
            (s00, s01, s02, s03, s04) = (from[0], from[1], from[2], from[3], from[4]);
            (s10, s11, s12, s13, s14) = (from[5], from[6], from[7], from[8], from[9]);
            (s20, s21, s22, s23, s24) = (from[10], from[11], from[12], from[13], from[14]);
            (s30, s31, s32, s33, s34) = (from[15], from[16], from[17], from[18], from[19]);
        }
        // Missing channels (a last block of fewer than 4) read channel 0 again; their sums are never used.
        long planeStep = (long)gradPlane * Lanes;
        float* c0 = dy, c1 = channels > 1 ? dy + planeStep : dy, c2 = channels > 2 ? dy + 2 * planeStep : dy, c3 = channels > 3 ? dy + 3 * planeStep : dy;
        int step = g.StrideW * Lanes; // from one output position's input to the next's
        for (int oh = oh0; oh < oh1; oh++)
        {
            float* row = x + ((long)(oh * g.StrideH + kh) * paddedW + k0) * Lanes;
            long at = (long)oh * gradRow * Lanes;
            float* d0 = c0 + at, d1 = c1 + at, d2 = c2 + at, d3 = c3 + at;
            int ow = 0;
            if (TT.N == 5 && step == Lanes)
            {
                // Two positions at a time: the second reads four of the first's five input vectors again, kept in
                // registers (each sum still takes its positions in order: the same bits).
                for (; ow + 2 <= g.OutWidth; ow += 2, row += 2 * Lanes, d0 += 2 * Lanes, d1 += 2 * Lanes, d2 += 2 * Lanes, d3 += 2 * Lanes)
                {
                    Vector512<float> g0 = Vector512.Load(d0), g1 = Vector512.Load(d1), g2 = Vector512.Load(d2), g3 = Vector512.Load(d3);
                    Vector512<float> x0 = Vector512.Load(row), x1 = Vector512.Load(row + 16), x2 = Vector512.Load(row + 32), x3 = Vector512.Load(row + 48), x4 = Vector512.Load(row + 64);
                    s00 = Vector512.FusedMultiplyAdd(g0, x0, s00); s10 = Vector512.FusedMultiplyAdd(g1, x0, s10); s20 = Vector512.FusedMultiplyAdd(g2, x0, s20); s30 = Vector512.FusedMultiplyAdd(g3, x0, s30);
                    s01 = Vector512.FusedMultiplyAdd(g0, x1, s01); s11 = Vector512.FusedMultiplyAdd(g1, x1, s11); s21 = Vector512.FusedMultiplyAdd(g2, x1, s21); s31 = Vector512.FusedMultiplyAdd(g3, x1, s31);
                    s02 = Vector512.FusedMultiplyAdd(g0, x2, s02); s12 = Vector512.FusedMultiplyAdd(g1, x2, s12); s22 = Vector512.FusedMultiplyAdd(g2, x2, s22); s32 = Vector512.FusedMultiplyAdd(g3, x2, s32);
                    s03 = Vector512.FusedMultiplyAdd(g0, x3, s03); s13 = Vector512.FusedMultiplyAdd(g1, x3, s13); s23 = Vector512.FusedMultiplyAdd(g2, x3, s23); s33 = Vector512.FusedMultiplyAdd(g3, x3, s33);
                    s04 = Vector512.FusedMultiplyAdd(g0, x4, s04); s14 = Vector512.FusedMultiplyAdd(g1, x4, s14); s24 = Vector512.FusedMultiplyAdd(g2, x4, s24); s34 = Vector512.FusedMultiplyAdd(g3, x4, s34);
                    g0 = Vector512.Load(d0 + 16); g1 = Vector512.Load(d1 + 16); g2 = Vector512.Load(d2 + 16); g3 = Vector512.Load(d3 + 16);
                    x0 = Vector512.Load(row + 80);
                    s00 = Vector512.FusedMultiplyAdd(g0, x1, s00); s10 = Vector512.FusedMultiplyAdd(g1, x1, s10); s20 = Vector512.FusedMultiplyAdd(g2, x1, s20); s30 = Vector512.FusedMultiplyAdd(g3, x1, s30);
                    s01 = Vector512.FusedMultiplyAdd(g0, x2, s01); s11 = Vector512.FusedMultiplyAdd(g1, x2, s11); s21 = Vector512.FusedMultiplyAdd(g2, x2, s21); s31 = Vector512.FusedMultiplyAdd(g3, x2, s31);
                    s02 = Vector512.FusedMultiplyAdd(g0, x3, s02); s12 = Vector512.FusedMultiplyAdd(g1, x3, s12); s22 = Vector512.FusedMultiplyAdd(g2, x3, s22); s32 = Vector512.FusedMultiplyAdd(g3, x3, s32);
                    s03 = Vector512.FusedMultiplyAdd(g0, x4, s03); s13 = Vector512.FusedMultiplyAdd(g1, x4, s13); s23 = Vector512.FusedMultiplyAdd(g2, x4, s23); s33 = Vector512.FusedMultiplyAdd(g3, x4, s33);
                    s04 = Vector512.FusedMultiplyAdd(g0, x0, s04); s14 = Vector512.FusedMultiplyAdd(g1, x0, s14); s24 = Vector512.FusedMultiplyAdd(g2, x0, s24); s34 = Vector512.FusedMultiplyAdd(g3, x0, s34);
                }
            }
            for (; ow < g.OutWidth; ow++, row += step, d0 += Lanes, d1 += Lanes, d2 += Lanes, d3 += Lanes)
            {
                Vector512<float> g0 = Vector512.Load(d0), g1 = Vector512.Load(d1), g2 = Vector512.Load(d2), g3 = Vector512.Load(d3);
                Vector512<float> x0 = Vector512.Load(row);
                s00 = Vector512.FusedMultiplyAdd(g0, x0, s00); s10 = Vector512.FusedMultiplyAdd(g1, x0, s10);
                s20 = Vector512.FusedMultiplyAdd(g2, x0, s20); s30 = Vector512.FusedMultiplyAdd(g3, x0, s30);
                if (TT.N > 1)
                {
                    Vector512<float> x1 = Vector512.Load(row + 16);
                    s01 = Vector512.FusedMultiplyAdd(g0, x1, s01); s11 = Vector512.FusedMultiplyAdd(g1, x1, s11);
                    s21 = Vector512.FusedMultiplyAdd(g2, x1, s21); s31 = Vector512.FusedMultiplyAdd(g3, x1, s31);
                }
                if (TT.N > 2)
                {
                    Vector512<float> x2 = Vector512.Load(row + 32);
                    s02 = Vector512.FusedMultiplyAdd(g0, x2, s02); s12 = Vector512.FusedMultiplyAdd(g1, x2, s12);
                    s22 = Vector512.FusedMultiplyAdd(g2, x2, s22); s32 = Vector512.FusedMultiplyAdd(g3, x2, s32);
                }
                if (TT.N > 3)
                {
                    Vector512<float> x3 = Vector512.Load(row + 48);
                    s03 = Vector512.FusedMultiplyAdd(g0, x3, s03); s13 = Vector512.FusedMultiplyAdd(g1, x3, s13);
                    s23 = Vector512.FusedMultiplyAdd(g2, x3, s23); s33 = Vector512.FusedMultiplyAdd(g3, x3, s33);
                }
                if (TT.N > 4)
                {
                    Vector512<float> x4 = Vector512.Load(row + 64);
                    s04 = Vector512.FusedMultiplyAdd(g0, x4, s04); s14 = Vector512.FusedMultiplyAdd(g1, x4, s14);
                    s24 = Vector512.FusedMultiplyAdd(g2, x4, s24); s34 = Vector512.FusedMultiplyAdd(g3, x4, s34);
                }
            }
        }
        if (weightsAt != null)
        {
            PutSums<TT>(weightsAt, add, s00, s01, s02, s03, s04);
            if (channels > 1) PutSums<TT>(weightsAt + channelStep, add, s10, s11, s12, s13, s14);
            if (channels > 2) PutSums<TT>(weightsAt + 2 * channelStep, add, s20, s21, s22, s23, s24);
            if (channels > 3) PutSums<TT>(weightsAt + 3 * channelStep, add, s30, s31, s32, s33, s34);
            return;
        }
        Put<TT>(to, add, s00, s01, s02, s03, s04);
        if (channels > 1) Put<TT>(to + 5, add, s10, s11, s12, s13, s14);
        if (channels > 2) Put<TT>(to + 10, add, s20, s21, s22, s23, s24);
        if (channels > 3) Put<TT>(to + 15, add, s30, s31, s32, s33, s34);
    }

    /// <summary>One output channel's sums of <see cref="Taps5{TT}"/>, each summed across its lanes, stored to its weight's place (after a zero, as the first add) or added to it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutSums<TT>(float* place, bool add, Vector512<float> s0, Vector512<float> s1, Vector512<float> s2, Vector512<float> s3, Vector512<float> s4)
        where TT : struct, ICount
    {
        place[0] = (add ? place[0] : 0f) + Vector512.Sum(s0);
        if (TT.N > 1) place[1] = (add ? place[1] : 0f) + Vector512.Sum(s1);
        if (TT.N > 2) place[2] = (add ? place[2] : 0f) + Vector512.Sum(s2);
        if (TT.N > 3) place[3] = (add ? place[3] : 0f) + Vector512.Sum(s3);
        if (TT.N > 4) place[4] = (add ? place[4] : 0f) + Vector512.Sum(s4);
    }

    /// <summary>One output channel's sums of <see cref="Taps5{TT}"/>, stored to its places or added to them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<TT>(Vector512<float>* to, bool add, Vector512<float> s0, Vector512<float> s1, Vector512<float> s2, Vector512<float> s3, Vector512<float> s4)
        where TT : struct, ICount
    {
        to[0] = add ? to[0] + s0 : s0;
        if (TT.N > 1) to[1] = add ? to[1] + s1 : s1;
        if (TT.N > 2) to[2] = add ? to[2] + s2 : s2;
        if (TT.N > 3) to[3] = add ? to[3] + s3 : s3;
        if (TT.N > 4) to[4] = add ? to[4] + s4 : s4;
    }
}
