using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>
    /// A 2-D convolution over a batch of [C, H, W] samples (torch.nn.Conv2d with zero padding): per group, the weight
    /// [out / groups, in / groups * kH * kW] times the patch matrix of a chunk of samples side by side, then the bias (and
    /// with <paramref name="relu"/>, max(that, 0): a Conv2d followed by a ReLU). Chunks are split across threads; every
    /// output is summed in one fixed order whatever the chunking and the split.
    /// </summary>
    public static void Conv2dForward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        int batch, Conv2dGeometry geometry, bool relu = false)
    {
        CheckConv(output.Length, input.Length, weight.Length, bias.Length, batch, geometry);
        if (output.Overlaps(input)) throw new ArgumentException("output overlaps input; kernels need separate buffers.", nameof(output));
        if (batch == 0) return;
        if (LaneConv.AppliesStrided(geometry, batch)) LaneConv.Forward(output, input, weight, bias, batch, geometry, relu);
        else if (DepthwiseConv.Applies(geometry)) DepthwiseConv.Forward(output, input, weight, bias, batch, geometry, relu);
        else ConvJob.Run(ConvPass.Forward, output, input, weight, bias, default, batch, geometry, relu);
    }

    /// <summary>
    /// The gradients of <see cref="Conv2dForward"/>: inputGrad = the transposed convolution of outputGrad (written;
    /// skipped when empty), weightGrad += outputGrad times the patch matrices, biasGrad += outputGrad summed per channel
    /// (each skipped when empty, as for a frozen parameter).
    /// </summary>
    public static void Conv2dBackward(Span<float> inputGrad, Span<float> weightGrad, Span<float> biasGrad, ReadOnlySpan<float> outputGrad,
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int batch, Conv2dGeometry geometry)
    {
        CheckConv(outputGrad.Length, input.Length, weight.Length, biasGrad.Length, batch, geometry);
        if (!weightGrad.IsEmpty) CheckLength(weightGrad.Length, geometry.WeightSize, nameof(weightGrad));
        if (!inputGrad.IsEmpty)
        {
            CheckLength(inputGrad.Length, input.Length, nameof(inputGrad));
            if (inputGrad.Overlaps(outputGrad) || inputGrad.Overlaps(input) || inputGrad.Overlaps(weight))
            {
                throw new ArgumentException("inputGrad overlaps outputGrad, input or weight; kernels need separate buffers.", nameof(inputGrad));
            }
        }
        if (batch == 0) return;
        bool biasDone = false;
        if (DepthwiseConv.Applies(geometry))
        {
            if (!inputGrad.IsEmpty) DepthwiseConv.InputGradient(inputGrad, outputGrad, weight, batch, geometry);
            if (!weightGrad.IsEmpty) DepthwiseConv.WeightGradient(weightGrad, outputGrad, input, batch, geometry);
        }
        else if (LaneConv.Applies(geometry, batch))
        {
            // With a frozen weight too: the input gradient's bits then do not depend on whether the weight trains.
            LaneConv.Backward(inputGrad, weightGrad, biasGrad, outputGrad, input, weight, batch, geometry);
            biasDone = true;
        }
        else if (LaneConv.AppliesToStridedInputGradient(geometry, batch))
        {
            // A strided layer with short rows (ResNet's 3 x 3 downsampling): all three gradients in lanes, the input
            // gradient a stride-1 lane convolution per phase of the input.
            LaneConv.Backward(inputGrad, weightGrad, biasGrad, outputGrad, input, weight, batch, geometry);
            biasDone = true;
        }
        else if (LaneConv.AppliesStrided(geometry, batch))
        {
            // The weight and bias gradients in lanes, the input gradient through patch matrices (a phase of the input
            // would read no tap, or output gradient before the first).
            if (!inputGrad.IsEmpty) ConvJob.Run(ConvPass.InputGradient, inputGrad, outputGrad, weight, default, default, batch, geometry, relu: false);
            if (!weightGrad.IsEmpty || !biasGrad.IsEmpty) LaneConv.Backward(default, weightGrad, biasGrad, outputGrad, input, weight, batch, geometry);
            biasDone = true;
        }
        else if (weightGrad.IsEmpty)
        {
            // A frozen weight: only the input gradient.
            if (!inputGrad.IsEmpty) ConvJob.Run(ConvPass.InputGradient, inputGrad, outputGrad, weight, default, default, batch, geometry, relu: false);
        }
        else
        {
            if (!inputGrad.IsEmpty) ConvJob.Run(ConvPass.InputGradient, inputGrad, outputGrad, weight, default, default, batch, geometry, relu: false);
            // The weight gradient sums over samples: on the calling thread, in order, so it does not depend on threads.
            if (UsesDirectWeightGradient(geometry, batch))
            {
                DirectConv.WeightGradient(weightGrad, biasGrad, outputGrad, input, batch, geometry);
                biasDone = true;
            }
            else ConvJob.Run(ConvPass.WeightGradient, weightGrad, outputGrad, default, default, input, batch, geometry, relu: false);
        }
        if (!biasGrad.IsEmpty && !biasDone)
        {
            int plane = geometry.OutputPlane;
            for (int n = 0; n < batch; n++)
            {
                for (int c = 0; c < geometry.OutChannels; c++) biasGrad[c] += TensorPrimitives.Sum(outputGrad.Slice((n * geometry.OutChannels + c) * plane, plane));
            }
        }
    }

    /// <summary>
    /// A Conv2d, a Sigmoid on its output and an average pooling after that (LeNet's pattern), forward:
    /// <paramref name="output"/> = pool(sigmoid(conv(input))), the bits of <see cref="Conv2dForward"/> then
    /// <see cref="SigmoidAvgPool2dForward"/>, and <paramref name="sigmoidDerivative"/> = the Sigmoid's derivative at
    /// the convolution's output, all that <see cref="Conv2dSigmoidAvgPool2dBackward"/> needs (at outputs of at least 0 the
    /// factor <see cref="SigmoidBackward"/> would compute, bit for bit; below 0 as s (1 - s), within a few ulps of it).
    /// The forward has the exponential at hand, so the backward needs none: it only multiplies. Where the convolution
    /// runs directly, a sample at a time (small layers such as LeNet's first), each sample's output goes through the
    /// Sigmoid and the pooling while it is still in cache, or, for 2 x 2 windows over rows of 17 to 32 (LeNet's first
    /// layer), from the registers each pair of rows is summed in.
    /// </summary>
    /// <remarks>
    /// <paramref name="sigmoidDerivative"/> is a workspace for <see cref="Conv2dSigmoidAvgPool2dBackward"/> with the same
    /// geometries and batch, in a layout of the kernel's choosing: where the lane kernel runs (short rows, as LeNet's second
    /// layer, and windows that tile the output), each whole group of 16 samples keeps it with the samples in the lanes
    /// ([C, H, W, 16] in the group's 16 samples' place), which spares moving it out of that layout and back (a transpose
    /// each way); a last partial group, and every other layer, keep [N, C, H, W].
    /// With <paramref name="keepDerivative"/> false (inference, as Network.Infer runs it: no backward follows), the
    /// derivative is not computed where the kernel can skip it, and <paramref name="sigmoidDerivative"/> is only scratch
    /// space whose contents are then unspecified; <paramref name="output"/> has the same bits either way.
    /// </remarks>
    public static void Conv2dSigmoidAvgPool2dForward(Span<float> sigmoidDerivative, Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, int batch, Conv2dGeometry convGeometry, Pool2dGeometry poolGeometry, bool countIncludePad, int divisorOverride,
        bool keepDerivative = true)
    {
        CheckConvThenPool(convGeometry, poolGeometry);
        CheckConv(sigmoidDerivative.Length, input.Length, weight.Length, bias.Length, batch, convGeometry);
        CheckPool(output.Length, sigmoidDerivative.Length, batch, poolGeometry);
        if (sigmoidDerivative.Overlaps(input) || output.Overlaps(sigmoidDerivative) || output.Overlaps(input))
        {
            throw new ArgumentException("sigmoidDerivative, output and input overlap; kernels need separate buffers.", nameof(output));
        }
        if (batch == 0) return;
        if (KeepsDerivativeInLanes(convGeometry, poolGeometry, batch))
        {
            LaneConv.ForwardSigmoidPool(sigmoidDerivative, output, input, weight, bias, batch, convGeometry, poolGeometry,
                1f / (divisorOverride > 0 ? divisorOverride : poolGeometry.KernelH * poolGeometry.KernelW), keepDerivative);
            return;
        }
        if (!LaneConv.Applies(convGeometry, batch) && !DepthwiseConv.Applies(convGeometry) && DirectConv.Applies(convGeometry))
        {
            ConvJob.Run(ConvPass.Forward, sigmoidDerivative, input, weight, bias, default, batch, convGeometry, relu: false, output, poolGeometry, countIncludePad,
                divisorOverride, keepDerivative);
            return;
        }
        Conv2dForward(sigmoidDerivative, input, weight, bias, batch, convGeometry);
        if (keepDerivative) SigmoidAvgPool2dForwardKeepingDerivative(output, sigmoidDerivative, batch, poolGeometry, countIncludePad, divisorOverride);
        else SigmoidAvgPool2dForward(output, sigmoidDerivative, batch, poolGeometry, countIncludePad, divisorOverride);
    }

    /// <summary>
    /// Whether <see cref="Conv2dSigmoidAvgPool2dForward"/> runs the lane kernel, and so leaves whole groups' derivative
    /// with the samples in the lanes.
    /// </summary>
    private static bool KeepsDerivativeInLanes(in Conv2dGeometry conv, in Pool2dGeometry pool, int batch) => LaneConv.Applies(conv, batch) && IsTiling(pool);

    /// <summary>The Sigmoid's derivative that <see cref="Conv2dSigmoidAvgPool2dForward"/> left, as [N, C, H, W] (for tests).</summary>
    internal static void SigmoidDerivativeInSamples(Span<float> samples, ReadOnlySpan<float> workspace, int batch, in Conv2dGeometry conv, in Pool2dGeometry pool)
    {
        CheckLength(workspace.Length, samples.Length, nameof(workspace));
        workspace.CopyTo(samples);
        if (KeepsDerivativeInLanes(conv, pool, batch)) LaneConv.WholeGroupsToSamples(samples, workspace, batch, conv.OutChannels, conv.OutputPlane);
    }

    /// <summary>Throws unless the pooling takes the convolution's output samples.</summary>
    private static void CheckConvThenPool(in Conv2dGeometry conv, in Pool2dGeometry pool)
    {
        if (pool.Channels != conv.OutChannels || pool.InHeight != conv.OutHeight || pool.InWidth != conv.OutWidth)
        {
            throw new ArgumentException($"The pooling takes samples of {pool.Channels} x {pool.InHeight} x {pool.InWidth}, " +
                $"but the convolution's output samples are {conv.OutChannels} x {conv.OutHeight} x {conv.OutWidth}.", "poolGeometry");
        }
    }

    /// <summary>Whether <see cref="Conv2dBackward"/> sums a trained weight's gradient with <see cref="DirectConv.WeightGradient"/>.</summary>
    private static bool UsesDirectWeightGradient(in Conv2dGeometry g, int batch) =>
        !DepthwiseConv.Applies(g) && !LaneConv.Applies(g, batch) && DirectConv.AppliesToWeightGradient(g);

    /// <summary>
    /// The backward of a Conv2d, a Sigmoid on its output and an average pooling after that (LeNet's pattern), from the
    /// pooling's output gradient and the Sigmoid's derivative that <see cref="Conv2dSigmoidAvgPool2dForward"/> left (in
    /// its layout, so with the same geometries and batch as that forward): the
    /// pooling's input gradient times that derivative into <paramref name="convOutputGrad"/>, then
    /// <see cref="Conv2dBackward"/> from it, with the same bits. Where no input gradient is asked (a first layer) and a
    /// trained weight's gradient is summed directly (small layers such as LeNet's first), the convolution's output
    /// gradient is instead formed a sample at a time, for the channels each thread sums, in a buffer that stays in L1 as
    /// the weight gradient reads it; where the lane kernel runs (short rows: LeNet's second layer) and the windows tile
    /// the output, it is formed in that kernel's layout, 16 samples at a time. <paramref name="convOutputGrad"/>, as large
    /// as the convolution's output, is then left as it was (nothing else reads it), and the pass over memory that writes
    /// it and the one that reads it back are saved.
    /// </summary>
    public static void Conv2dSigmoidAvgPool2dBackward(Span<float> inputGrad, Span<float> weightGrad, Span<float> biasGrad, Span<float> convOutputGrad,
        ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> sigmoidDerivative, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int batch,
        Conv2dGeometry convGeometry, Pool2dGeometry poolGeometry, bool countIncludePad, int divisorOverride)
    {
        CheckConvThenPool(convGeometry, poolGeometry);
        CheckConv(sigmoidDerivative.Length, input.Length, weight.Length, biasGrad.Length, batch, convGeometry);
        CheckPool(outputGrad.Length, sigmoidDerivative.Length, batch, poolGeometry);
        CheckLength(convOutputGrad.Length, sigmoidDerivative.Length, nameof(convOutputGrad));
        if (inputGrad.IsEmpty && weightGrad.IsEmpty && biasGrad.IsEmpty) return; // nothing below trains
        if (KeepsDerivativeInLanes(convGeometry, poolGeometry, batch))
        {
            // The lane kernel Conv2dBackward would run, forming the layer's output gradient in its own layout from the
            // derivative that the forward left there.
            if (!weightGrad.IsEmpty) CheckLength(weightGrad.Length, convGeometry.WeightSize, nameof(weightGrad));
            if (!inputGrad.IsEmpty) CheckLength(inputGrad.Length, input.Length, nameof(inputGrad));
            if (inputGrad.Overlaps(outputGrad) || inputGrad.Overlaps(input) || inputGrad.Overlaps(weight) || inputGrad.Overlaps(sigmoidDerivative))
            {
                throw new ArgumentException("inputGrad overlaps outputGrad, sigmoidDerivative, input or weight; kernels need separate buffers.", nameof(inputGrad));
            }
            LaneConv.Backward(inputGrad, weightGrad, biasGrad, outputGrad, input, weight, batch, convGeometry, sigmoidDerivative, poolGeometry,
                1f / (divisorOverride > 0 ? divisorOverride : poolGeometry.KernelH * poolGeometry.KernelW));
            return;
        }
        if (inputGrad.IsEmpty && !weightGrad.IsEmpty && UsesDirectWeightGradient(convGeometry, batch))
        {
            CheckLength(weightGrad.Length, convGeometry.WeightSize, nameof(weightGrad));
            if (batch > 0) DirectConv.WeightGradient(weightGrad, biasGrad, outputGrad, input, batch, convGeometry, sigmoidDerivative, poolGeometry, countIncludePad, divisorOverride);
            return;
        }
        AvgPool2dTimesDerivativeBackward(convOutputGrad, outputGrad, sigmoidDerivative, batch, poolGeometry, countIncludePad, divisorOverride);
        Conv2dBackward(inputGrad, weightGrad, biasGrad, convOutputGrad, input, weight, batch, convGeometry);
    }

    /// <summary>
    /// A Conv2d and the BatchNorm2d after it in eval mode as one convolution, as inference engines fold them: per output
    /// channel c, scale = bnWeight[c] / sqrt(runningVar[c] + eps), the weights times scale and the bias
    /// (bias[c] - runningMean[c]) * scale + bnBias[c] (scales and shifts in double, then rounded). Equal to the two
    /// layers within float rounding, not bit for bit (the scale enters before the sums instead of after). Empty
    /// <paramref name="bias"/>, <paramref name="bnWeight"/> or <paramref name="bnBias"/> mean none (0, 1, 0).
    /// </summary>
    public static void Conv2dBatchNormInference(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> bnWeight, ReadOnlySpan<float> bnBias, ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar, float eps,
        int batch, Conv2dGeometry geometry, bool relu = false)
    {
        CheckConv(output.Length, input.Length, weight.Length, bias.Length, batch, geometry);
        int channels = geometry.OutChannels;
        if (!bnWeight.IsEmpty) CheckLength(bnWeight.Length, channels, nameof(bnWeight));
        if (!bnBias.IsEmpty) CheckLength(bnBias.Length, channels, nameof(bnBias));
        CheckLength(runningMean.Length, channels, nameof(runningMean));
        CheckLength(runningVar.Length, channels, nameof(runningVar));
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be positive.");
        int perChannel = geometry.WeightSize / channels;
        float[] folded = s_folded is { } f && f.Length >= geometry.WeightSize + channels ? f : (s_folded = new float[geometry.WeightSize + channels]);
        Span<float> foldedWeight = folded.AsSpan(0, geometry.WeightSize), foldedBias = folded.AsSpan(geometry.WeightSize, channels);
        for (int c = 0; c < channels; c++)
        {
            double scale = (bnWeight.IsEmpty ? 1.0 : bnWeight[c]) / Math.Sqrt((double)runningVar[c] + eps);
            TensorPrimitives.Multiply(weight.Slice(c * perChannel, perChannel), (float)scale, foldedWeight.Slice(c * perChannel, perChannel));
            foldedBias[c] = (float)(((bias.IsEmpty ? 0.0 : bias[c]) - runningMean[c]) * scale + (bnBias.IsEmpty ? 0.0 : bnBias[c]));
        }
        Conv2dForward(output, input, foldedWeight, foldedBias, batch, geometry, relu);
    }

    [ThreadStatic] private static float[]? s_folded;

    private static void CheckConv(int outputLength, int inputLength, int weightLength, int biasLength, int batch, in Conv2dGeometry g)
    {
        CheckPositive(batch, nameof(batch));
        g.Validate();
        CheckLength(inputLength, (long)batch * g.InputSize, "input");
        CheckLength(outputLength, (long)batch * g.OutputSize, "output");
        CheckLength(weightLength, g.WeightSize, "weight");
        if (biasLength != 0) CheckLength(biasLength, g.OutChannels, "bias");
    }

    /// <summary>
    /// The passes of a convolution over chunks of samples. A chunk's patch matrix holds its samples side by side
    /// ([in / groups * kH * kW, chunk * outH * outW]), so that each product is wide enough to run at the GEMM's speed
    /// even when one sample's plane is small; the chunk size depends only on the geometry. Forward and the input
    /// gradient split chunks across threads (samples are independent); the weight gradient runs them in order.
    /// </summary>
    private sealed unsafe class ConvJob : ConvPassJob
    {
        // Floats of patch matrix per chunk: about half of a core's L2, so the matrix stays there through the product.
        private const int ChunkFloats = 1 << 17;

        // Products below this many multiply-adds in all stay on one thread.
        private const long ParallelThreshold = 1L << 20;

        [ThreadStatic] private static ConvJob? s_job;
        [ThreadStatic] private static float[]? s_columns, s_rows;

        private float* _taps, _pooled;
        private int _tapsLength, _chunk, _divisorOverride;
        private Pool2dGeometry _pool;
        private bool _countIncludePad, _keepDerivative;

        protected override int Variant => _pooled != null ? 1 : 0;

        /// <summary>
        /// The pass over the batch. With <paramref name="pooled"/> (a direct forward only), each sample's output is also
        /// taken through a Sigmoid and the average pooling <paramref name="pool"/> into it while it is in cache, and
        /// replaced by the Sigmoid's derivative there (left as scratch without <paramref name="keepDerivative"/>).
        /// </summary>
        public static void Run(ConvPass pass, Span<float> destination, ReadOnlySpan<float> source, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
            ReadOnlySpan<float> input, int batch, in Conv2dGeometry geometry, bool relu, Span<float> pooled = default, in Pool2dGeometry pool = default,
            bool countIncludePad = true, int divisorOverride = 0, bool keepDerivative = true)
        {
            // Small layers run directly (one sample at a time, weights rearranged once here); the rest through patch matrices.
            bool direct = pass == ConvPass.Forward ? DirectConv.Applies(geometry) : pass == ConvPass.InputGradient && DirectConv.AppliesToInputGradient(geometry);
            ReadOnlySpan<float> taps = direct ? DirectConv.Taps(weight, geometry, flip: pass == ConvPass.InputGradient) : default;
            int chunk = direct ? 1 : Math.Clamp(ChunkFloats / Math.Max(1, geometry.PatchSize * geometry.OutputPlane), 1, batch);
            int chunks = (batch + chunk - 1) / chunk;
            int threads = Math.Min(Threading.NumThreads, chunks);
            bool split = pass != ConvPass.WeightGradient && threads > 1 && (long)batch * geometry.OutputSize * geometry.PatchSize >= ParallelThreshold;
            fixed (float* d = destination, s = source, w = weight, b = bias, x = input, t = taps, o = pooled)
            {
                ConvJob job = s_job ??= new ConvJob();
                job._taps = t;
                job._pooled = pooled.IsEmpty ? null : o;
                (job._tapsLength, job._chunk, job._pool, job._countIncludePad, job._divisorOverride) = (taps.Length, chunk, pool, countIncludePad, divisorOverride);
                job._keepDerivative = keepDerivative;
                job.Run(pass, d, s, w, b, bias.Length, x, batch, geometry, relu, split ? threads : 1);
            }
        }

        public override void Execute(int part)
        {
            int chunks = (_batch + _chunk - 1) / _chunk;
            int first = (int)((long)chunks * part / _parts), last = (int)((long)chunks * (part + 1) / _parts);
            Conv2dGeometry g = _geometry;
            for (int c = first; c < last; c++)
            {
                int n0 = c * _chunk, count = Math.Min(_chunk, _batch - n0);
                if (_tapsLength > 0)
                {
                    var taps = new ReadOnlySpan<float>(_taps, _tapsLength);
                    if (_pass == ConvPass.Forward)
                    {
                        var y = new Span<float>(_destination + (long)n0 * g.OutputSize, g.OutputSize);
                        bool fused = _pooled != null && DirectConv.FusesSigmoidPool(g, _pool);
                        if (c + 1 < last && !(fused && !_keepDerivative))
                        {
                            // The next sample's output lines into L2 while this one computes: its stores then find them
                            // there, rather than each waiting on a read of the line from memory.
                            Simd.Prefetch.ToL2(_destination + (long)(n0 + 1) * g.OutputSize, g.OutputSize);
                        }
                        var x = new ReadOnlySpan<float>(_source + (long)n0 * g.InputSize, g.InputSize);
                        var b = new ReadOnlySpan<float>(_bias, _biasLength);
                        if (fused)
                        {
                            // The Sigmoid and pooling taken from the registers each row pair is summed in (y not written without the derivative).
                            DirectConv.Forward(y, x, taps, b, g, relu: false, new Span<float>(_pooled + (long)n0 * _pool.OutputSize, _pool.OutputSize), _pool,
                                1f / (_divisorOverride > 0 ? _divisorOverride : 4), _keepDerivative);
                            continue;
                        }
                        DirectConv.Forward(y, x, taps, b, g, _relu);
                        if (_pooled != null)
                        {
                            // What SigmoidAvgPool2dForwardKeepingDerivative does, on this sample alone.
                            Span<float> activated = Tile(g.OutputSize);
                            if (_keepDerivative) SigmoidAndDerivative(activated, y);
                            else SigmoidForward(activated, y);
                            AvgPool2dForward(new Span<float>(_pooled + (long)n0 * _pool.OutputSize, _pool.OutputSize), activated, 1, _pool, _countIncludePad, _divisorOverride);
                        }
                    }
                    else
                    {
                        DirectConv.Forward(new Span<float>(_destination + (long)n0 * g.InputSize, g.InputSize), new ReadOnlySpan<float>(_source + (long)n0 * g.OutputSize, g.OutputSize),
                            taps, default, DirectConv.Transposed(g), relu: false);
                    }
                    continue;
                }
                switch (_pass)
                {
                    case ConvPass.Forward:
                        Forward(new Span<float>(_destination + (long)n0 * g.OutputSize, count * g.OutputSize), new ReadOnlySpan<float>(_source + (long)n0 * g.InputSize, count * g.InputSize),
                            new ReadOnlySpan<float>(_weight, g.WeightSize), new ReadOnlySpan<float>(_bias, _biasLength), count, g, _relu);
                        break;
                    case ConvPass.InputGradient:
                        InputGradient(new Span<float>(_destination + (long)n0 * g.InputSize, count * g.InputSize), new ReadOnlySpan<float>(_source + (long)n0 * g.OutputSize, count * g.OutputSize),
                            new ReadOnlySpan<float>(_weight, g.WeightSize), count, g);
                        break;
                    default:
                        WeightGradient(new Span<float>(_destination, g.WeightSize), new ReadOnlySpan<float>(_source + (long)n0 * g.OutputSize, count * g.OutputSize),
                            new ReadOnlySpan<float>(_input + (long)n0 * g.InputSize, count * g.InputSize), count, g);
                        break;
                }
            }
        }

        /// <summary>A chunk: per group, Y = W patches, then each sample's rows moved to its place with the bias (and ReLU).</summary>
        private static void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int count, in Conv2dGeometry g, bool relu)
        {
            int plane = g.OutputPlane, patch = g.PatchSize, cout = g.GroupOutChannels, width = count * plane;
            Span<float> columns = Buffer(ref s_columns, patch * width), rows = Buffer(ref s_rows, cout * width);
            for (int group = 0; group < g.Groups; group++)
            {
                FillChunk(columns, x, count, group, g);
                StridedGemm.MultiplyOnThisThread(ref MemoryMarshal.GetReference(rows), ref MemoryMarshal.GetReference(weight.Slice(group * cout * patch)), patch, 1,
                    ref MemoryMarshal.GetReference(columns), width, 1, cout, width, patch, accumulate: false);
                for (int n = 0; n < count; n++)
                {
                    for (int c = 0; c < cout; c++)
                    {
                        ReadOnlySpan<float> source = rows.Slice(c * width + n * plane, plane);
                        Span<float> target = y.Slice(n * g.OutputSize + (group * cout + c) * plane, plane);
                        if (bias.IsEmpty) source.CopyTo(target);
                        else TensorPrimitives.Add(source, bias[group * cout + c], target);
                        if (relu) TensorPrimitives.Max(target, 0f, target);
                    }
                }
            }
        }

        /// <summary>A chunk: per group, the patch-matrix gradient W^T dY, scattered back onto each sample's input.</summary>
        private static void InputGradient(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> weight, int count, in Conv2dGeometry g)
        {
            int plane = g.OutputPlane, patch = g.PatchSize, cin = g.GroupInChannels, cout = g.GroupOutChannels, inPlane = g.InHeight * g.InWidth, width = count * plane;
            Span<float> columns = Buffer(ref s_columns, patch * width), rows = Buffer(ref s_rows, cout * width);
            dx.Clear();
            for (int group = 0; group < g.Groups; group++)
            {
                GatherRows(rows, dy, count, group, g);
                // dcol[p, pos] = sum over co of W[co, p] * dY[co, pos]: A(p, co) = W[co * patch + p].
                StridedGemm.MultiplyOnThisThread(ref MemoryMarshal.GetReference(columns), ref MemoryMarshal.GetReference(weight.Slice(group * cout * patch)), 1, patch,
                    ref MemoryMarshal.GetReference(rows), width, 1, patch, width, cout, accumulate: false);
                for (int n = 0; n < count; n++)
                {
                    Im2Col.AddColumns(dx.Slice(n * g.InputSize + group * cin * inPlane, cin * inPlane), columns, n * plane, width, cin, g);
                }
            }
        }

        /// <summary>A chunk: weightGrad[co, p] += dot(dY[co, chunk positions], patches[p, chunk positions]), both rows contiguous.</summary>
        private static void WeightGradient(Span<float> weightGrad, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int count, in Conv2dGeometry g)
        {
            int plane = g.OutputPlane, patch = g.PatchSize, cout = g.GroupOutChannels, width = count * plane;
            Span<float> columns = Buffer(ref s_columns, patch * width), rows = Buffer(ref s_rows, cout * width);
            for (int group = 0; group < g.Groups; group++)
            {
                FillChunk(columns, x, count, group, g);
                GatherRows(rows, dy, count, group, g);
                Gemm.AccumulateDotTiles(ref MemoryMarshal.GetReference(weightGrad.Slice(group * cout * patch)), patch,
                    ref MemoryMarshal.GetReference(rows), ref MemoryMarshal.GetReference(columns), cout, patch, width);
            }
        }

        /// <summary>The patch matrix of a chunk's group: each sample's columns at its offset in rows of count * plane.</summary>
        private static void FillChunk(Span<float> columns, ReadOnlySpan<float> x, int count, int group, in Conv2dGeometry g)
        {
            int cin = g.GroupInChannels, inPlane = g.InHeight * g.InWidth, width = count * g.OutputPlane;
            for (int n = 0; n < count; n++)
            {
                Im2Col.Fill(columns, n * g.OutputPlane, width, x.Slice(n * g.InputSize + group * cin * inPlane, cin * inPlane), cin, g);
            }
        }

        /// <summary>A chunk's output gradient of one group as [out / groups, count * plane]: each sample's channel rows side by side.</summary>
        private static void GatherRows(Span<float> rows, ReadOnlySpan<float> dy, int count, int group, in Conv2dGeometry g)
        {
            int plane = g.OutputPlane, cout = g.GroupOutChannels, width = count * plane;
            for (int n = 0; n < count; n++)
            {
                for (int c = 0; c < cout; c++)
                {
                    dy.Slice(n * g.OutputSize + (group * cout + c) * plane, plane).CopyTo(rows.Slice(c * width + n * plane, plane));
                }
            }
        }

        /// <summary>A per-thread buffer, grown once to the largest needed.</summary>
        private static Span<float> Buffer(ref float[]? buffer, int length)
        {
            if (buffer is null || buffer.Length < length) buffer = new float[length];
            return buffer.AsSpan(0, length);
        }
    }
}
