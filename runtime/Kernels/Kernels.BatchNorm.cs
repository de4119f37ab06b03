using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>
    /// BatchNorm over a tensor viewed as [batch, channels, spatial] (torch.nn.BatchNorm1d / 2d; spatial is L, H * W or 1).
    /// With <paramref name="batchStatistics"/>, each channel is normalised by its mean and biased variance over the batch
    /// and the spatial positions, and (when <paramref name="runningMean"/> is not empty) the running statistics move
    /// toward them by <paramref name="momentum"/>, the variance unbiased; otherwise by the running statistics. Either way
    /// the mean and 1 / sqrt(var + eps) used are written to <paramref name="mean"/> and <paramref name="rstd"/> for
    /// backward. Empty <paramref name="weight"/> and <paramref name="bias"/> mean 1 and 0 (affine = false).
    /// </summary>
    public static void BatchNormForward(Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> runningMean, Span<float> runningVar,
        int batch, int channels, int spatial, float eps, float momentum, bool batchStatistics) =>
        BatchNormForwardCore(output, mean, rstd, input, weight, bias, runningMean, runningVar, batch, channels, spatial, eps, momentum, batchStatistics, relu: false);

    /// <summary>
    /// A BatchNorm and the ReLU after it: output = max(<see cref="BatchNormForward"/>'s output, 0), equal bit for bit to
    /// BatchNormForward then <see cref="ReluForward"/>, with the same statistics saved. The ReLU is applied to each row
    /// of normalised values while it is in cache, so the normalised tensor is never written out and read back.
    /// </summary>
    public static void BatchNormReluForward(Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> runningMean, Span<float> runningVar,
        int batch, int channels, int spatial, float eps, float momentum, bool batchStatistics) =>
        BatchNormForwardCore(output, mean, rstd, input, weight, bias, runningMean, runningVar, batch, channels, spatial, eps, momentum, batchStatistics, relu: true);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BatchNormForwardCore(Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> runningMean, Span<float> runningVar,
        int batch, int channels, int spatial, float eps, float momentum, bool batchStatistics, bool relu)
    {
        CheckBatchNorm(output.Length, input.Length, mean.Length, rstd.Length, weight.Length, bias.Length, batch, channels, spatial);
        if (output.Overlaps(input)) throw new ArgumentException("output overlaps input; kernels need separate buffers.", nameof(output));
        if (!runningMean.IsEmpty || !runningVar.IsEmpty)
        {
            CheckLength(runningMean.Length, channels, nameof(runningMean));
            CheckLength(runningVar.Length, channels, nameof(runningVar));
        }
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be positive.");
        long count = (long)batch * spatial;
        if (batchStatistics && count <= 1)
        {
            throw new ArgumentException($"BatchNorm needs more than 1 value per channel for batch statistics, but a batch of {batch} with {spatial} per channel has {count}.", nameof(input));
        }

        if (spatial > 1)
        {
            BatchNormJob.Run(BatchNormJob.Pass.Forward, output, mean, rstd, input, weight, bias, runningMean, runningVar, default, default, default, default,
                batch, channels, spatial, eps, momentum, batchStatistics, relu: relu);
            return;
        }
        if (!batchStatistics)
        {
            for (int c = 0; c < channels; c++)
            {
                mean[c] = runningMean[c];
                rstd[c] = 1f / MathF.Sqrt(runningVar[c] + eps);
            }
        }
        else
        {
            // One value per channel per sample: sum down the rows, a vector of channels at a time.
            mean.Clear();
            for (int n = 0; n < batch; n++) TensorPrimitives.Add(mean, input.Slice(n * channels, channels), mean);
            TensorPrimitives.Multiply(mean, 1f / count, mean);
            rstd.Clear();
            for (int n = 0; n < batch; n++)
            {
                Span<float> centred = output.Slice(n * channels, channels);
                TensorPrimitives.Subtract(input.Slice(n * channels, channels), mean, centred);
                TensorPrimitives.MultiplyAdd(centred, centred, rstd, rstd);
            }
            UpdateRunning(mean, rstd, runningMean, runningVar, count, momentum);
            for (int c = 0; c < channels; c++) rstd[c] = 1f / MathF.Sqrt(rstd[c] / count + eps);
        }

        for (int n = 0; n < batch; n++)
        {
            Span<float> y = output.Slice(n * channels, channels);
            TensorPrimitives.Subtract(input.Slice(n * channels, channels), mean, y);
            TensorPrimitives.Multiply(y, rstd, y);
            if (!weight.IsEmpty) TensorPrimitives.MultiplyAdd(y, weight, bias, y);
            if (relu) ReluInPlace(y);
        }
    }

    /// <summary>
    /// <see cref="BatchNormForward"/> with values per channel per sample (BatchNorm2d, BatchNorm1d on [C, L]), channels
    /// [c0, c1): each channel's statistics, running statistics and output depend on that channel alone.
    /// </summary>
    private static void BatchNormForwardChannels(int c0, int c1, Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> runningMean, Span<float> runningVar,
        int batch, int channels, int spatial, float eps, float momentum, bool batchStatistics, bool relu)
    {
        long count = (long)batch * spatial;
        for (int c = c0; c < c1; c++)
        {
            if (!batchStatistics)
            {
                mean[c] = runningMean[c];
                rstd[c] = 1f / MathF.Sqrt(runningVar[c] + eps);
            }
            else
            {
                double sum = 0;
                for (int n = 0; n < batch; n++) sum += CenteredRows.Sum(input.Slice((n * channels + c) * spatial, spatial));
                float m = (float)(sum / count);
                double squares = 0;
                for (int n = 0; n < batch; n++) squares += CenteredRows.SquaredDeviations(input.Slice((n * channels + c) * spatial, spatial), m);
                mean[c] = m;
                rstd[c] = (float)squares;
                UpdateRunning(mean.Slice(c, 1), rstd.Slice(c, 1), runningMean.IsEmpty ? default : runningMean.Slice(c, 1), runningVar.IsEmpty ? default : runningVar.Slice(c, 1),
                    count, momentum);
                rstd[c] = 1f / MathF.Sqrt(rstd[c] / count + eps);
            }
            float scale = weight.IsEmpty ? rstd[c] : rstd[c] * weight[c];
            float shift = (bias.IsEmpty ? 0f : bias[c]) - mean[c] * scale;
            // Last sample first: the rows the statistics read last are the ones still in L2 (a channel of 28 x 28 at
            // batch 256 is 800 KB); each row's outputs do not depend on the order.
            for (int n = batch - 1; n >= 0; n--)
            {
                int at = (n * channels + c) * spatial;
                Span<float> y = output.Slice(at, spatial);
                CenteredRows.ScaleShift(y, input.Slice(at, spatial), scale, shift, relu);
            }
        }
    }

    /// <summary>
    /// The gradients of <see cref="BatchNormForward"/>, from the mean and 1/std it saved: weightGrad += sum(dy * xhat) and
    /// biasGrad += sum(dy) per channel, and (unless empty) inputGrad = w * rstd * (dy - mean(dy) - xhat * mean(dy * xhat))
    /// with batch statistics, or w * rstd * dy with running statistics (which do not depend on the input).
    /// </summary>
    public static void BatchNormBackward(Span<float> inputGrad, Span<float> weightGrad, Span<float> biasGrad, ReadOnlySpan<float> outputGrad,
        ReadOnlySpan<float> input, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> weight,
        int batch, int channels, int spatial, bool batchStatistics) =>
        BatchNormBackwardCore(inputGrad, weightGrad, biasGrad, MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(outputGrad), outputGrad.Length), default,
            input, mean, rstd, weight, batch, channels, spatial, batchStatistics);

    /// <summary>
    /// The gradients of <see cref="BatchNormReluForward"/>: <see cref="BatchNormBackward"/> from the gradient at the
    /// ReLU's <paramref name="output"/>, equal bit for bit to <see cref="ReluBackward"/> then BatchNormBackward. The
    /// ReLU's mask is applied in place (with several values per channel per sample, a row at a time as the sums read it;
    /// with one, in a pass of its own first): <paramref name="outputGrad"/> is left holding the gradient at the ReLU's
    /// input (0 where <paramref name="output"/> is not above 0).
    /// </summary>
    public static void BatchNormReluBackward(Span<float> inputGrad, Span<float> weightGrad, Span<float> biasGrad, Span<float> outputGrad,
        ReadOnlySpan<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> weight,
        int batch, int channels, int spatial, bool batchStatistics)
    {
        CheckLength(output.Length, outputGrad.Length, nameof(output));
        if (outputGrad.Overlaps(output) || outputGrad.Overlaps(input)) throw new ArgumentException("outputGrad overlaps output or input; kernels need separate buffers.", nameof(outputGrad));
        BatchNormBackwardCore(inputGrad, weightGrad, biasGrad, outputGrad, output, input, mean, rstd, weight, batch, channels, spatial, batchStatistics);
    }

    /// <summary>BatchNorm's backward; with a ReLU <paramref name="reluOutput"/>, outputGrad is masked in place first (row by row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BatchNormBackwardCore(Span<float> inputGrad, Span<float> weightGrad, Span<float> biasGrad, Span<float> outputGrad, ReadOnlySpan<float> reluOutput,
        ReadOnlySpan<float> input, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> weight,
        int batch, int channels, int spatial, bool batchStatistics)
    {
        CheckBatchNorm(outputGrad.Length, input.Length, mean.Length, rstd.Length, weight.Length, weight.Length, batch, channels, spatial);
        if (!inputGrad.IsEmpty)
        {
            CheckLength(inputGrad.Length, input.Length, nameof(inputGrad));
            if (inputGrad.Overlaps(outputGrad) || inputGrad.Overlaps(input))
            {
                throw new ArgumentException("inputGrad overlaps outputGrad or input; kernels need separate buffers.", nameof(inputGrad));
            }
        }
        // Either parameter gradient may be empty (no affine parameters, or a frozen one): it is then skipped.
        if (!weightGrad.IsEmpty) CheckLength(weightGrad.Length, channels, nameof(weightGrad));
        if (!biasGrad.IsEmpty) CheckLength(biasGrad.Length, channels, nameof(biasGrad));
        if (!weight.IsEmpty) CheckLength(weight.Length, channels, nameof(weight));
        float inverseCount = 1f / ((long)batch * spatial);
        if (spatial == 1)
        {
            if (!reluOutput.IsEmpty) ReluBackwardInPlace(outputGrad, reluOutput);
            BatchNormBackwardRows(inputGrad, weightGrad, biasGrad, outputGrad, input, mean, rstd, weight, batch, channels, inverseCount, batchStatistics);
            return;
        }
        BatchNormJob.Run(BatchNormJob.Pass.Backward, default, default, default, input, weight, default, default, default, inputGrad, weightGrad, biasGrad, outputGrad,
            batch, channels, spatial, 0, 0, batchStatistics, false, mean, rstd, reluOutput);
    }

    /// <summary><see cref="BatchNormBackward"/> with values per channel per sample, channels [c0, c1): each channel's gradients depend on that channel alone.</summary>
    private static void BatchNormBackwardChannels(int c0, int c1, Span<float> inputGrad, Span<float> weightGrad, Span<float> biasGrad, Span<float> outputGrad,
        ReadOnlySpan<float> reluOutput, ReadOnlySpan<float> input, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> weight,
        int batch, int channels, int spatial, bool batchStatistics)
    {
        float inverseCount = 1f / ((long)batch * spatial);
        for (int c = c0; c < c1; c++)
        {
            double sumDy = 0, sumDyCentred = 0;
            for (int n = 0; n < batch; n++)
            {
                int at = (n * channels + c) * spatial;
                (float rowSum, float rowDot) = CenteredRows.SumAndDot(outputGrad.Slice(at, spatial), reluOutput.IsEmpty ? default : reluOutput.Slice(at, spatial),
                    input.Slice(at, spatial), mean[c]);
                sumDy += rowSum;
                sumDyCentred += rowDot;
            }
            float r = rstd[c], sumDyXhat = (float)(sumDyCentred * r);
            if (!weightGrad.IsEmpty) weightGrad[c] += sumDyXhat;
            if (!biasGrad.IsEmpty) biasGrad[c] += (float)sumDy;
            if (inputGrad.IsEmpty) continue;
            float g = weight.IsEmpty ? r : weight[c] * r;
            // dx = g dy + x * scaleX + shift, with scaleX = -g r mean(dy xhat) and shift = -g mean(dy) - scaleX * mean.
            float scaleX = batchStatistics ? -g * r * sumDyXhat * inverseCount : 0f;
            float shift = batchStatistics ? -g * (float)sumDy * inverseCount - scaleX * mean[c] : 0f;
            // Last sample first, as forward: the sums' last rows of the output gradient and input (1.6 MB a channel at
            // 28 x 28) are the ones still in L2.
            for (int n = batch - 1; n >= 0; n--)
            {
                int at = (n * channels + c) * spatial;
                CenteredRows.Combine(inputGrad.Slice(at, spatial), outputGrad.Slice(at, spatial), default, g, input.Slice(at, spatial), scaleX, shift);
            }
        }
    }

    /// <summary>BatchNorm backward with one value per channel per sample: channels a block at a time, rows vectorised over them.</summary>
    private static void BatchNormBackwardRows(Span<float> inputGrad, Span<float> weightGrad, Span<float> biasGrad, ReadOnlySpan<float> outputGrad,
        ReadOnlySpan<float> input, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> weight,
        int batch, int channels, float inverseCount, bool batchStatistics)
    {
        const int Block = 64;
        Span<float> sumDy = stackalloc float[Block], sumDyXhat = stackalloc float[Block], centred = stackalloc float[Block];
        Span<float> g = stackalloc float[Block], scaleX = stackalloc float[Block], shift = stackalloc float[Block];
        for (int c0 = 0; c0 < channels; c0 += Block)
        {
            int width = Math.Min(Block, channels - c0);
            Span<float> sDy = sumDy[..width], sDyXhat = sumDyXhat[..width], xc = centred[..width];
            ReadOnlySpan<float> m = mean.Slice(c0, width), r = rstd.Slice(c0, width);
            sDy.Clear();
            sDyXhat.Clear();
            for (int n = 0; n < batch; n++)
            {
                ReadOnlySpan<float> dy = outputGrad.Slice(n * channels + c0, width);
                TensorPrimitives.Add(sDy, dy, sDy);
                TensorPrimitives.Subtract(input.Slice(n * channels + c0, width), m, xc);
                TensorPrimitives.MultiplyAdd(dy, xc, sDyXhat, sDyXhat);
            }
            TensorPrimitives.Multiply(sDyXhat, r, sDyXhat);
            if (!weightGrad.IsEmpty) TensorPrimitives.Add(weightGrad.Slice(c0, width), sDyXhat, weightGrad.Slice(c0, width));
            if (!biasGrad.IsEmpty) TensorPrimitives.Add(biasGrad.Slice(c0, width), sDy, biasGrad.Slice(c0, width));
            if (inputGrad.IsEmpty) continue;
            Span<float> gw = g[..width], sx = scaleX[..width], sh = shift[..width];
            if (weight.IsEmpty) r.CopyTo(gw);
            else TensorPrimitives.Multiply(weight.Slice(c0, width), r, gw);
            if (batchStatistics)
            {
                for (int c = 0; c < width; c++)
                {
                    sx[c] = -gw[c] * r[c] * sDyXhat[c] * inverseCount;
                    sh[c] = -gw[c] * sDy[c] * inverseCount - sx[c] * m[c];
                }
            }
            else
            {
                sx.Clear();
                sh.Clear();
            }
            for (int n = 0; n < batch; n++)
            {
                Span<float> dx = inputGrad.Slice(n * channels + c0, width);
                TensorPrimitives.MultiplyAdd(outputGrad.Slice(n * channels + c0, width), gw, sh, dx);
                TensorPrimitives.MultiplyAdd(input.Slice(n * channels + c0, width), sx, dx, dx);
            }
        }
    }

    /// <summary>
    /// BatchNorm's forward or backward with values per channel per sample, split by channels across the threads where
    /// that measured faster for the layer (SplitCalibration): every channel computed by one thread in the one order, so
    /// the same bits on any thread count. The caller's spans are pinned for the call, which waits for every part.
    /// </summary>
    private sealed unsafe class BatchNormJob : IPartitionedJob
    {
        public enum Pass { Forward, Backward }

        [ThreadStatic] private static BatchNormJob? s_job;

        private Pass _pass;
        private float* _output, _mean, _rstd, _input, _weight, _bias, _runningMean, _runningVar, _inputGrad, _weightGrad, _biasGrad, _outputGrad;
        private int _outputLength, _inputLength, _weightLength, _biasLength, _runningLength, _inputGradLength, _weightGradLength, _biasGradLength;
        private int _batch, _channels, _spatial, _parts;
        private float _eps, _momentum;
        private bool _batchStatistics, _relu;
        private float* _reluOutput;

        /// <summary>
        /// Forward (with <paramref name="relu"/>, max(y, 0) stored) or backward (from the saved mean and rstd; with a
        /// non-empty <paramref name="reluOutput"/>, outputGrad is first masked in place by it).
        /// </summary>
        public static void Run(Pass pass, Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
            ReadOnlySpan<float> bias, Span<float> runningMean, Span<float> runningVar, Span<float> inputGrad, Span<float> weightGrad, Span<float> biasGrad,
            Span<float> outputGrad, int batch, int channels, int spatial, float eps, float momentum, bool batchStatistics, bool relu = false,
            ReadOnlySpan<float> savedMean = default, ReadOnlySpan<float> savedRstd = default, ReadOnlySpan<float> reluOutput = default)
        {
            if (pass == Pass.Backward)
            {
                mean = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(savedMean), savedMean.Length);
                rstd = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(savedRstd), savedRstd.Length);
            }
            long values = (long)batch * channels * spatial;
            SplitCalibration.Trial trial = SplitCalibration.Begin(SplitCalibration.BatchNorm, (long)batch * 4 + (int)pass * 2 + (batchStatistics ? 1 : 0), channels, spatial,
                values >= 1L << 16 ? Math.Min(Threading.NumThreads, channels) : 1);
            fixed (float* o = output, m = mean, r = rstd, x = input, w = weight, b = bias, rm = runningMean, rv = runningVar, dx = inputGrad, dw = weightGrad,
                db = biasGrad, dy = outputGrad, ry = reluOutput)
            {
                BatchNormJob job = s_job ??= new BatchNormJob();
                job._pass = pass;
                job._output = o;
                job._mean = m;
                job._rstd = r;
                job._input = x;
                job._weight = w;
                job._bias = b;
                job._runningMean = rm;
                job._runningVar = rv;
                job._inputGrad = dx;
                job._weightGrad = dw;
                job._biasGrad = db;
                job._outputGrad = dy;
                job._reluOutput = ry;
                job._relu = relu;
                (job._outputLength, job._inputLength, job._weightLength, job._biasLength) = (output.Length, input.Length, weight.Length, bias.Length);
                (job._runningLength, job._inputGradLength, job._weightGradLength, job._biasGradLength) = (runningMean.Length, inputGrad.Length, weightGrad.Length, biasGrad.Length);
                (job._batch, job._channels, job._spatial, job._eps, job._momentum, job._batchStatistics, job._parts) =
                    (batch, channels, spatial, eps, momentum, batchStatistics, trial.Parts);
                WorkerPool.Run(job, trial.Parts);
            }
            trial.End();
        }

        public void Execute(int part)
        {
            int c0 = (int)((long)_channels * part / _parts), c1 = (int)((long)_channels * (part + 1) / _parts);
            if (c0 >= c1) return;
            int values = _batch * _channels * _spatial;
            if (_pass == Pass.Forward)
            {
                BatchNormForwardChannels(c0, c1, new Span<float>(_output, _outputLength), new Span<float>(_mean, _channels), new Span<float>(_rstd, _channels),
                    new ReadOnlySpan<float>(_input, _inputLength), new ReadOnlySpan<float>(_weight, _weightLength), new ReadOnlySpan<float>(_bias, _biasLength),
                    new Span<float>(_runningMean, _runningLength), new Span<float>(_runningVar, _runningLength), _batch, _channels, _spatial, _eps, _momentum,
                    _batchStatistics, _relu);
            }
            else
            {
                BatchNormBackwardChannels(c0, c1, new Span<float>(_inputGrad, _inputGradLength), new Span<float>(_weightGrad, _weightGradLength),
                    new Span<float>(_biasGrad, _biasGradLength), new Span<float>(_outputGrad, values),
                    _reluOutput is null ? default : new ReadOnlySpan<float>(_reluOutput, values), new ReadOnlySpan<float>(_input, _inputLength),
                    new ReadOnlySpan<float>(_mean, _channels), new ReadOnlySpan<float>(_rstd, _channels), new ReadOnlySpan<float>(_weight, _weightLength),
                    _batch, _channels, _spatial, _batchStatistics);
            }
        }
    }

    /// <summary>running = (1 - m) running + m batch, the variance unbiased (sumSquares / (count - 1)), in double as PyTorch does.</summary>
    private static void UpdateRunning(ReadOnlySpan<float> mean, ReadOnlySpan<float> sumSquares, Span<float> runningMean, Span<float> runningVar, long count, float momentum)
    {
        if (runningMean.IsEmpty) return;
        for (int c = 0; c < mean.Length; c++)
        {
            runningMean[c] = (float)(momentum * (double)mean[c] + (1 - (double)momentum) * runningMean[c]);
            runningVar[c] = (float)(momentum * (sumSquares[c] / (double)(count - 1)) + (1 - (double)momentum) * runningVar[c]);
        }
    }

    private static void CheckBatchNorm(int outputLength, int inputLength, int meanLength, int rstdLength, int weightLength, int biasLength,
        int batch, int channels, int spatial)
    {
        CheckPositive(batch, nameof(batch));
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be positive.");
        if (spatial <= 0) throw new ArgumentOutOfRangeException(nameof(spatial), spatial, "spatial must be positive.");
        long size = (long)batch * channels * spatial;
        CheckLength(inputLength, size, "input");
        CheckLength(outputLength, size, "output");
        CheckLength(meanLength, channels, "mean");
        CheckLength(rstdLength, channels, "rstd");
        if (weightLength != 0 || biasLength != 0)
        {
            CheckLength(weightLength, channels, "weight");
            CheckLength(biasLength, channels, "bias");
        }
    }
}
