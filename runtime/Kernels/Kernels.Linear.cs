using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>
    /// output[r, o] = sum_i input[r, i] * weight[o, i] + bias[o], for <paramref name="rows"/> rows (torch.nn.Linear).
    /// An empty <paramref name="bias"/> means no bias.
    /// </summary>
    public static void LinearForward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        int rows, int inFeatures, int outFeatures) => LinearForwardCore(output, input, weight, bias, rows, inFeatures, outFeatures, relu: false);

    /// <summary>
    /// output = max(input W^T + bias, 0): a Linear layer and the ReLU after it, equal bit for bit to
    /// <see cref="LinearForward"/> then <see cref="ReluForward"/>. Where the product runs on the packed GEMM the ReLU is
    /// applied as its tiles are stored, so the pre-activation is never written nor read back; elsewhere it is a second
    /// pass over output.
    /// </summary>
    public static void LinearReluForward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        int rows, int inFeatures, int outFeatures) => LinearForwardCore(output, input, weight, bias, rows, inFeatures, outFeatures, relu: true);

    private static void LinearForwardCore(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        int rows, int inFeatures, int outFeatures, bool relu)
    {
        CheckLinear(rows, inFeatures, outFeatures, input.Length, weight.Length, bias.Length);
        CheckLength(output.Length, (long)rows * outFeatures, nameof(output));
        if (output.Overlaps(input)) throw new ArgumentException("output overlaps input; kernels need separate buffers.", nameof(output));
        if (rows == 0) return;
        if (SmallLinear.Applies(outFeatures, inFeatures))
        {
            SmallLinear.Forward(output, input, weight, bias, rows, outFeatures, inFeatures);
        }
        else if (NarrowLinear.Applies(rows, outFeatures))
        {
            NarrowLinear.Forward(ref MemoryMarshal.GetReference(output), ref MemoryMarshal.GetReference(input), ref MemoryMarshal.GetReference(weight),
                ref MemoryMarshal.GetReference(bias), !bias.IsEmpty, rows, outFeatures, inFeatures);
        }
        else if (UsePacked(rows, outFeatures, inFeatures) && rows >= Math.Min(PrepackedRows, StreamedRows(inFeatures))
            && PrepackedWeights.TryFind(weight, outFeatures, inFeatures, out float[]? packed, out int packedStart))
        {
            // Network.PrepackWeights packed this weight beforehand (during Infer).
            PackedGemm.MultiplyPrepacked(ref MemoryMarshal.GetReference(output), ref MemoryMarshal.GetReference(input),
                ref packed[packedStart], ref MemoryMarshal.GetReference(bias), !bias.IsEmpty, rows, outFeatures, inFeatures, relu);
            return;
        }
        else if (UsePacked(rows, outFeatures, inFeatures) && rows >= StreamedRows(inFeatures))
        {
            // x W^T on top of the bias (or from zero): B(p, j) = W[j, p] is read through strides. The ReLU, if any, is
            // applied as the last depth block is stored.
            ref float y = ref MemoryMarshal.GetReference(output), x = ref MemoryMarshal.GetReference(input), w = ref MemoryMarshal.GetReference(weight);
            if (bias.IsEmpty) PackedGemm.Multiply(ref y, ref x, inFeatures, 1, ref w, 1, inFeatures, rows, outFeatures, inFeatures, accumulate: false, relu);
            else PackedGemm.MultiplyAddBias(ref y, ref x, inFeatures, 1, ref w, 1, inFeatures, rows, outFeatures, inFeatures, ref MemoryMarshal.GetReference(bias), relu);
            return;
        }
        else
        {
            Gemm.MultiplyTransposed(ref MemoryMarshal.GetReference(output), ref MemoryMarshal.GetReference(input),
                ref MemoryMarshal.GetReference(weight), ref MemoryMarshal.GetReference(bias), !bias.IsEmpty, rows, outFeatures, inFeatures);
        }
        if (relu) ReluInPlace(output);
    }

    /// <summary>
    /// The gradients of <see cref="LinearForward"/>: inputGrad = outputGrad W (written; skipped when empty),
    /// weightGrad += outputGrad^T input and biasGrad += the column sums of outputGrad (each skipped when empty, as for a
    /// frozen parameter).
    /// </summary>
    public static void LinearBackward(Span<float> inputGrad, Span<float> weightGrad, Span<float> biasGrad,
        ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int rows, int inFeatures, int outFeatures) =>
        LinearBackwardCore(inputGrad, weightGrad, biasGrad, outputGrad, input, weight, rows, inFeatures, outFeatures, throughRelu: false);

    /// <summary>
    /// <see cref="LinearBackward"/>
    /// for a Linear layer whose input is the output of a ReLU, with the input gradient carried through that ReLU:
    /// inputGrad = outputGrad W where input &gt; 0, else 0, equal bit for bit to LinearBackward then
    /// <see cref="ReluBackward"/>(inputGrad, that, input). For layers of at most 16 outputs the mask is applied as the
    /// gradient is stored, so the gradient at the ReLU's output is never written nor read back.
    /// </summary>
    public static void LinearBackwardThroughRelu(Span<float> inputGrad, Span<float> weightGrad, Span<float> biasGrad,
        ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int rows, int inFeatures, int outFeatures) =>
        LinearBackwardCore(inputGrad, weightGrad, biasGrad, outputGrad, input, weight, rows, inFeatures, outFeatures, throughRelu: true);

    private static void LinearBackwardCore(Span<float> inputGrad, Span<float> weightGrad, Span<float> biasGrad,
        ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int rows, int inFeatures, int outFeatures, bool throughRelu)
    {
        CheckLinear(rows, inFeatures, outFeatures, input.Length, weight.Length, biasGrad.Length);
        CheckLength(outputGrad.Length, (long)rows * outFeatures, nameof(outputGrad));
        if (!weightGrad.IsEmpty) CheckLength(weightGrad.Length, (long)outFeatures * inFeatures, nameof(weightGrad));
        if (!inputGrad.IsEmpty)
        {
            CheckLength(inputGrad.Length, (long)rows * inFeatures, nameof(inputGrad));
            // The weight gradient (and a ReLU mask) read the input after the input gradient is written.
            if (inputGrad.Overlaps(outputGrad) || inputGrad.Overlaps(weight) || inputGrad.Overlaps(input))
            {
                throw new ArgumentException("inputGrad overlaps outputGrad, input or weight; kernels need separate buffers.", nameof(inputGrad));
            }
        }
        if (rows == 0) return;
        ref float dY = ref MemoryMarshal.GetReference(outputGrad);
        bool packed = UsePacked(rows, outFeatures, inFeatures);
        bool narrow = NarrowLinear.Applies(rows, outFeatures);
        if (!inputGrad.IsEmpty)
        {
            if (narrow)
            {
                ref float dx = ref MemoryMarshal.GetReference(inputGrad);
                NarrowLinear.InputGradient(ref dx, ref dY, ref MemoryMarshal.GetReference(weight), ref throughRelu ? ref MemoryMarshal.GetReference(input) : ref dx,
                    throughRelu, rows, outFeatures, inFeatures);
            }
            else if (packed)
            {
                PackedGemm.Multiply(ref MemoryMarshal.GetReference(inputGrad), ref dY, outFeatures, 1,
                    ref MemoryMarshal.GetReference(weight), inFeatures, 1, rows, inFeatures, outFeatures, accumulate: false);
            }
            else
            {
                Gemm.Multiply(ref MemoryMarshal.GetReference(inputGrad), ref dY, ref MemoryMarshal.GetReference(weight), rows, inFeatures, outFeatures);
            }
            if (throughRelu && !narrow) ReluBackwardInPlace(inputGrad, input);
        }
        if (weightGrad.IsEmpty)
        {
            // A frozen weight: no gradient to compute.
        }
        else if (narrow)
        {
            NarrowLinear.WeightGradient(ref MemoryMarshal.GetReference(weightGrad), ref dY, ref MemoryMarshal.GetReference(input), rows, outFeatures, inFeatures);
        }
        else if (packed)
        {
            // A(i, p) = dY[p, i]: the transpose is read through strides while packing.
            PackedGemm.Multiply(ref MemoryMarshal.GetReference(weightGrad), ref dY, 1, outFeatures,
                ref MemoryMarshal.GetReference(input), inFeatures, 1, outFeatures, inFeatures, rows, accumulate: true);
        }
        else
        {
            Gemm.AccumulateTransposed(ref MemoryMarshal.GetReference(weightGrad), ref dY, ref MemoryMarshal.GetReference(input), outFeatures, inFeatures, rows);
        }
        if (!biasGrad.IsEmpty)
        {
            Gemm.AccumulateColumnSums(ref MemoryMarshal.GetReference(biasGrad), ref dY, rows, outFeatures);
        }
    }

    /// <summary>
    /// Whether a Linear layer of these sizes ever runs its forward on the packed GEMM (wider than NarrowLinear's and
    /// SmallLinear's layers), so that <see cref="Network.PrepackWeights"/> keeps its weight packed.
    /// </summary>
    internal static bool PrepacksLinear(int inFeatures, int outFeatures) =>
        PackedGemm.IsSupported && outFeatures > NarrowLinear.MaxOutputs && !SmallLinear.Applies(outFeatures, inFeatures);

    /// <summary>
    /// The packed GEMM wins from a full row tile (8 rows) up, on machines with AVX-512 or AVX2 (measured down to the
    /// 2-16-16-1 net at batch 32); for a few rows (one sample) the direct dot-product kernels do.
    /// </summary>
    private static bool UsePacked(int rows, int outFeatures, int inFeatures) => PackedGemm.IsSupported && rows >= 8;

    /// <summary>
    /// From this many rows a forward whose weight is prepacked (<see cref="Network.PrepackWeights"/>) runs the packed
    /// GEMM on it even under <see cref="StreamedRows"/>, where the pack is what the streamed tiles save.
    /// </summary>
    /// <remarks>
    /// Measured on the 784 x 256 layer (one AMD Zen 5 core, prepacked against streamed, us): with AVX-512 (8-row tiles)
    /// 8 rows 17.2 against 23.9, 16 34.3 against 49.7, 64 133 against 172; with AVX2 (6-row tiles, the rows past a
    /// multiple of 6 in a tile of their own) 8 rows 54.1 against 41.4, 16 80.2 against 73.0, 24 97.0 against 119, 32 151
    /// against 155, 48 193 against 232, 64 276 against 283. Other shapes with AVX-512, 8 to 48 rows: ahead or level
    /// everywhere (400 x 120 level at 16, 9.2 against 9.1; 2048 x 256 and 1024 x 1024 35-40% ahead). With AVX2 from 24
    /// rows: 128 x 128, 1024 x 1024 and 2048 x 256 10-30% ahead at 24-80 rows; LeNet's 400 x 120 3-7% behind at 32-44
    /// (40.8 against 38.1 us at 32) and level at 52-64, 120 x 84 level at 32.
    /// </remarks>
    internal static int PrepackedRows => Vector512.IsHardwareAccelerated ? 8 : 24;

    /// <summary>
    /// Under this many rows a forward reads the weight in place, four of its rows against three or two input rows at a
    /// time (Gemm.MultiplyTransposed), rather than packing it whole for the packed GEMM, which the few rows do not repay.
    /// </summary>
    /// <remarks>
    /// Measured with `benchmarks -- --linear-rows` (both kernels alternating in one process, one AMD Zen 5 core, the
    /// rows where the packed GEMM first led, in features x out features): 64 x 512 by 8, 128 x 128 16-24, 192 x 192 40,
    /// 256 x 256 32-40, 512 x 512 64-96, 784 x 256 96-128, 1024 x 1024 96-128, 400 x 120 beyond 128; but 2048 x 64 and
    /// 2048 x 256 24-32, 4096 x 256 16-24 (their input rows, 8-16 KB each, no longer stay in L2 while every four weight
    /// rows pass them all), and with in features not a multiple of 16 (each dot product then ends one feature at a
    /// time: 100 x 300, 120 x 84, 200 x 256, 300 x 250, 1000 x 70) from 8 or 16. Hence in features / 8, at most
    /// 65,536 input floats (256 KB), 8 to 96 rows, and 8 for in features off a multiple of 16.
    /// Without AVX-512 (256-bit tiles, the packed GEMM's 6 x 16) the streamed tiles lead further (AVX-512 switched off on
    /// the same core, streamed / packed us): 64 x 512 to 16 rows, 128 x 128 to 40, 256 x 256, 512 x 512, 784 x 256,
    /// 1024 x 1024 and 2048 x 256 to 64 (at 64 rows 90.6 / 93.9, 362 / 383, 280 / 291, 1523 / 1592, 821 / 866), 400 x
    /// 120 beyond 128, and 120 x 84 (a multiple of 8, which is what the 256-bit dot products need) to 64 (17.3 / 18.8).
    /// Hence in features x 3 / 8 there, 8 to 96 rows, and 8 for in features off a multiple of 8.
    /// </remarks>
    internal static int StreamedRows(int inFeatures) => Vector512.IsHardwareAccelerated
        ? inFeatures % 16 != 0 ? 8 : Math.Clamp(Math.Min(inFeatures / 8, 65536 / inFeatures), 8, 96)
        : inFeatures % 8 != 0 ? 8 : Math.Clamp(inFeatures * 3 / 8, 8, 96);

    private static void CheckLinear(int rows, int inFeatures, int outFeatures, int inputLength, int weightLength, int biasLength)
    {
        CheckPositive(rows, nameof(rows));
        if (inFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(inFeatures), inFeatures, "in_features must be positive.");
        if (outFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(outFeatures), outFeatures, "out_features must be positive.");
        CheckLength(inputLength, (long)rows * inFeatures, "input");
        CheckLength(weightLength, (long)outFeatures * inFeatures, "weight");
        if (biasLength != 0) CheckLength(biasLength, outFeatures, "bias");
    }
}
