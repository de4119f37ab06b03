using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>
    /// A 2-D convolution over a batch of [C, H, W] samples (torch.nn.Conv2d with zero padding): per sample and group, the
    /// weight [out / groups, in / groups * kH * kW] times the sample's patch matrix, on top of the bias. With
    /// <paramref name="relu"/>, max(that, 0) (a Conv2d followed by a ReLU). Samples are split across threads; each
    /// output is summed in one fixed order whatever the split.
    /// </summary>
    public static void Conv2dForward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        int batch, Conv2dGeometry geometry, bool relu = false)
    {
        CheckConv(output.Length, input.Length, weight.Length, bias.Length, batch, geometry);
        if (output.Overlaps(input)) throw new ArgumentException("output overlaps input; kernels need separate buffers.", nameof(output));
        if (batch == 0) return;
        ConvJob.Run(ConvJob.Pass.Forward, output, input, weight, bias, batch, geometry, relu);
    }

    /// <summary>
    /// The gradients of <see cref="Conv2dForward"/>: inputGrad = the transposed convolution of outputGrad (written;
    /// skipped when empty), weightGrad += outputGrad times the patch matrices, biasGrad += outputGrad summed per channel
    /// (skipped when empty).
    /// </summary>
    public static void Conv2dBackward(Span<float> inputGrad, Span<float> weightGrad, Span<float> biasGrad, ReadOnlySpan<float> outputGrad,
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int batch, Conv2dGeometry geometry)
    {
        CheckConv(outputGrad.Length, input.Length, weight.Length, biasGrad.Length, batch, geometry);
        CheckLength(weightGrad.Length, geometry.WeightSize, nameof(weightGrad));
        if (!inputGrad.IsEmpty)
        {
            CheckLength(inputGrad.Length, input.Length, nameof(inputGrad));
            if (inputGrad.Overlaps(outputGrad) || inputGrad.Overlaps(input) || inputGrad.Overlaps(weight))
            {
                throw new ArgumentException("inputGrad overlaps outputGrad, input or weight; kernels need separate buffers.", nameof(inputGrad));
            }
        }
        if (batch == 0) return;
        if (!inputGrad.IsEmpty) ConvJob.Run(ConvJob.Pass.InputGradient, inputGrad, outputGrad, weight, default, batch, geometry, relu: false);
        ConvWeightGradient(weightGrad, outputGrad, input, batch, geometry);
        if (!biasGrad.IsEmpty)
        {
            int plane = geometry.OutputPlane;
            for (int n = 0; n < batch; n++)
            {
                for (int c = 0; c < geometry.OutChannels; c++) biasGrad[c] += TensorPrimitives.Sum(outputGrad.Slice((n * geometry.OutChannels + c) * plane, plane));
            }
        }
    }

    /// <summary>weightGrad += sum over samples of dY[n] (per group) times the patch matrix transposed; samples in order, so the sums do not depend on threads.</summary>
    private static void ConvWeightGradient(Span<float> weightGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> input, int batch, in Conv2dGeometry g)
    {
        int plane = g.OutputPlane, patch = g.PatchSize, cin = g.GroupInChannels, cout = g.GroupOutChannels;
        bool identity = Im2Col.IsIdentity(g);
        Span<float> columns = identity ? default : ConvJob.Columns(patch * plane);
        for (int n = 0; n < batch; n++)
        {
            for (int group = 0; group < g.Groups; group++)
            {
                ReadOnlySpan<float> x = input.Slice(n * g.InputSize + group * cin * g.InHeight * g.InWidth, cin * g.InHeight * g.InWidth);
                if (!identity) Im2Col.Fill(columns, x, cin, g);
                ref float col = ref identity ? ref MemoryMarshal.GetReference(x) : ref MemoryMarshal.GetReference(columns);
                // dW[co, p] += sum over positions of dY[co, pos] * col[p, pos]: B(pos, p) = col[p * plane + pos].
                StridedGemm.Multiply(ref MemoryMarshal.GetReference(weightGrad.Slice(group * cout * patch)),
                    ref MemoryMarshal.GetReference(outputGrad.Slice(n * g.OutputSize + group * cout * plane)), plane, 1,
                    ref col, 1, plane, cout, patch, plane, accumulate: true);
            }
        }
    }

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
    /// The per-sample passes of a convolution, split by samples across threads: forward (output from input) and the input
    /// gradient (from the output gradient). Samples are independent, so the split changes no result.
    /// </summary>
    private sealed unsafe class ConvJob : IPartitionedJob
    {
        // Per-sample products below this many multiply-adds stay on one thread.
        private const long ParallelThreshold = 1L << 18;

        [ThreadStatic] private static ConvJob? s_job;
        [ThreadStatic] private static float[]? s_columns;

        public enum Pass { Forward, InputGradient }

        private Pass _pass;
        private float* _destination, _source, _weight, _bias;
        private int _batch, _parts, _biasLength;
        private Conv2dGeometry _geometry;
        private bool _relu;

        /// <summary>A per-thread buffer for one patch matrix, grown once to the largest needed.</summary>
        public static Span<float> Columns(int length)
        {
            if (s_columns is null || s_columns.Length < length) s_columns = new float[length];
            return s_columns.AsSpan(0, length);
        }

        public static void Run(Pass pass, Span<float> destination, ReadOnlySpan<float> source, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
            int batch, in Conv2dGeometry geometry, bool relu)
        {
            int threads = Math.Min(Threading.NumThreads, batch);
            bool split = threads > 1 && (long)geometry.OutputSize * geometry.PatchSize >= ParallelThreshold / batch;
            fixed (float* d = destination, s = source, w = weight, b = bias)
            {
                ConvJob job = s_job ??= new ConvJob();
                job._pass = pass;
                job._destination = d;
                job._source = s;
                job._weight = w;
                job._bias = b;
                job._biasLength = bias.Length;
                (job._batch, job._geometry, job._relu, job._parts) = (batch, geometry, relu, split ? threads : 1);
                WorkerPool.Run(job, job._parts);
            }
        }

        public void Execute(int part)
        {
            int first = (int)((long)_batch * part / _parts), last = (int)((long)_batch * (part + 1) / _parts);
            Conv2dGeometry g = _geometry;
            for (int n = first; n < last; n++)
            {
                if (_pass == Pass.Forward)
                {
                    Forward(new Span<float>(_destination + (long)n * g.OutputSize, g.OutputSize), new ReadOnlySpan<float>(_source + (long)n * g.InputSize, g.InputSize),
                        new ReadOnlySpan<float>(_weight, g.WeightSize), new ReadOnlySpan<float>(_bias, _biasLength), g, _relu);
                }
                else
                {
                    InputGradient(new Span<float>(_destination + (long)n * g.InputSize, g.InputSize), new ReadOnlySpan<float>(_source + (long)n * g.OutputSize, g.OutputSize),
                        new ReadOnlySpan<float>(_weight, g.WeightSize), g);
                }
            }
        }

        /// <summary>One sample: per group, y = W x-patches on top of the bias rows.</summary>
        private static void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, in Conv2dGeometry g, bool relu)
        {
            int plane = g.OutputPlane, patch = g.PatchSize, cin = g.GroupInChannels, cout = g.GroupOutChannels, inPlane = g.InHeight * g.InWidth;
            bool identity = Im2Col.IsIdentity(g);
            Span<float> columns = identity ? default : Columns(patch * plane);
            for (int group = 0; group < g.Groups; group++)
            {
                ReadOnlySpan<float> xg = x.Slice(group * cin * inPlane, cin * inPlane);
                if (!identity) Im2Col.Fill(columns, xg, cin, g);
                Span<float> yg = y.Slice(group * cout * plane, cout * plane);
                if (!bias.IsEmpty)
                {
                    for (int c = 0; c < cout; c++) yg.Slice(c * plane, plane).Fill(bias[group * cout + c]);
                }
                StridedGemm.MultiplyOnThisThread(ref MemoryMarshal.GetReference(yg), ref MemoryMarshal.GetReference(weight.Slice(group * cout * patch)), patch, 1,
                    ref identity ? ref MemoryMarshal.GetReference(xg) : ref MemoryMarshal.GetReference(columns), plane, 1,
                    cout, plane, patch, accumulate: !bias.IsEmpty, relu);
            }
        }

        /// <summary>One sample: per group, the patch-matrix gradient W^T dY, scattered back onto the input.</summary>
        private static void InputGradient(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> weight, in Conv2dGeometry g)
        {
            int plane = g.OutputPlane, patch = g.PatchSize, cin = g.GroupInChannels, cout = g.GroupOutChannels, inPlane = g.InHeight * g.InWidth;
            bool identity = Im2Col.IsIdentity(g);
            Span<float> columns = identity ? default : Columns(patch * plane);
            if (!identity) dx.Clear();
            for (int group = 0; group < g.Groups; group++)
            {
                Span<float> target = identity ? dx.Slice(group * cin * inPlane, cin * inPlane) : columns;
                // dcol[p, pos] = sum over co of W[co, p] * dY[co, pos]: A(p, co) = W[co * patch + p].
                StridedGemm.MultiplyOnThisThread(ref MemoryMarshal.GetReference(target), ref MemoryMarshal.GetReference(weight.Slice(group * cout * patch)), 1, patch,
                    ref MemoryMarshal.GetReference(dy.Slice(group * cout * plane)), plane, 1, patch, plane, cout, accumulate: false);
                if (!identity) Im2Col.AddColumns(dx.Slice(group * cin * inPlane, cin * inPlane), columns, cin, g);
            }
        }
    }
}
