using System;
using System.IO;
using System.Linq;
using System.Runtime.Intrinsics.X86;
using StaticNet.Tests.Networks;
using StaticNet.Tests.Reference;
using Xunit;

namespace StaticNet.Tests;

/// <summary>Convolutions, pooling and residual shortcuts against PyTorch (fixtures from tests/fixtures/make_fixtures.py).</summary>
public class ConvolutionTests
{
    private static readonly Fixture Torch = new("convolution.safetensors");

    public static TheoryData<string> TorchNames => new(
        "small_lenet", "strided_groups", "same_padding", "rectangular", "adaptive", "depthwise", "tiny_resnet", "lenet", "lenet_bn", "signal1d", "pool1d_mix", "adaptive1d", "global_pool1d");

    private static Network Create(string name) => name switch
    {
        "small_lenet" => new SmallLeNet(6),
        "strided_groups" => new StridedGroups(6),
        "same_padding" => new SamePadding(6),
        "rectangular" => new Rectangular(6),
        "adaptive" => new Adaptive(6),
        "depthwise" => new Depthwise(6),
        "tiny_resnet" => new TinyResNet(6),
        "lenet" => new D2lLeNet(6),
        "lenet_bn" => new D2lLeNetBatchNorm(6),
        "signal1d" => new Signal1d(6),
        "pool1d_mix" => new Pool1dMix(6),
        "adaptive1d" => new Adaptive1d(6),
        "global_pool1d" => new GlobalPool1d(6),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(TorchNames))]
    public void Training_steps_and_eval_match_pytorch(string name) => TrainedParity.Check(Torch, name, Create(name));

    [Fact]
    public void A_pytorch_resnet_state_dict_loads_strictly_and_reproduces_pytorch()
    {
        var net = new TinyResNet(5);
        Assert.True(Safetensors.Load(net, Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny_resnet_state_dict.safetensors")).IsExactMatch);
        net.Eval();
        var output = new float[15];
        net.Forward(Torch.Floats("tiny_resnet.eval.input"), output);
        TrainedParity.AssertClose(Torch.Floats("tiny_resnet.eval.output"), output, "tiny_resnet loaded from PyTorch's state_dict");
        Assert.Equal(
        [
            "0.block.0.weight", "0.block.1.weight", "0.block.1.bias", "0.block.1.running_mean", "0.block.1.running_var", "0.block.1.num_batches_tracked",
            "0.block.3.weight", "0.block.4.weight", "0.block.4.bias", "0.block.4.running_mean", "0.block.4.running_var", "0.block.4.num_batches_tracked",
            "0.shortcut.0.weight", "0.shortcut.1.weight", "0.shortcut.1.bias", "0.shortcut.1.running_mean", "0.shortcut.1.running_var", "0.shortcut.1.num_batches_tracked",
            "2.block.0.weight", "2.block.0.bias", "2.block.2.weight", "2.block.2.bias", "5.weight", "5.bias",
        ], net.StateDict().Select(t => t.Name));
    }

    [Fact]
    public void Lane_packing_keeps_its_padding_zero_across_layers()
    {
        // A padded layer, an unpadded one whose packed input covers the first one's padding, then the padded one again:
        // the lane layout clears a packing buffer's padding once and keeps it while the layout stays; the second layer
        // must not leave its values there.
        var padded = new Conv2dGeometry(8, 8, 8, 4, 8, 8, 5, 5, 1, 1, 2, 2); // packed as 12 x 12 planes, zeros around 8 x 8
        var plain = new Conv2dGeometry(4, 12, 12, 4, 8, 8, 5, 5);           // packed as 12 x 12 planes too (fewer), all values
        const int batch = 16;
        float[] x = NetworkCases.RandomFloats(batch * padded.InputSize, 31), w = NetworkCases.RandomFloats(padded.WeightSize, 32);
        float[] other = NetworkCases.RandomFloats(batch * plain.InputSize, 33), otherW = NetworkCases.RandomFloats(plain.WeightSize, 34);
        float[] dy = NetworkCases.RandomFloats(batch * padded.OutputSize, 35);
        (float[] Y, float[] Dx, float[] Dw) Padded()
        {
            var y = new float[batch * padded.OutputSize];
            var dx = new float[x.Length];
            var dw = new float[padded.WeightSize];
            Kernels.Conv2dForward(y, x, w, default, batch, padded);
            Kernels.Conv2dBackward(dx, dw, default, dy, x, w, batch, padded);
            return (y, dx, dw);
        }
        NetworkCases.OnThreads(1, () =>
        {
            var first = Padded();
            var y2 = new float[batch * plain.OutputSize];
            Kernels.Conv2dForward(y2, other, otherW, default, batch, plain);
            Kernels.Conv2dBackward(new float[other.Length], new float[plain.WeightSize], default, NetworkCases.RandomFloats(y2.Length, 36), other, otherW, batch, plain);
            var again = Padded();
            Assert.Equal(first.Y, again.Y);
            Assert.Equal(first.Dx, again.Dx);
            Assert.Equal(first.Dw, again.Dw);
            return 0;
        });
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        // Batches large enough that the convolutions split their chunks of samples across threads.
        (float[], float[], float[], float[]) Run(int threads)
        {
            return NetworkCases.OnThreads(threads, () =>
            {
                var lenet = new D2lLeNetBatchNorm(96, 3);
                float[] input = NetworkCases.RandomFloats(96 * 784, 1);
                var output = new float[960];
                var inputGrad = new float[input.Length];
                lenet.Forward(input, output);
                lenet.Backward(NetworkCases.RandomFloats(960, 2), inputGrad);
                var resnet = new TinyResNet(200, 4);
                float[] x = NetworkCases.RandomFloats(200 * 72, 5);
                var y = new float[600];
                resnet.Forward(x, y);
                resnet.Backward(NetworkCases.RandomFloats(600, 6));
                return (output, lenet.GradientArena.ToArray().Concat(inputGrad).ToArray(), y, resnet.GradientArena.ToArray());
            });
        }
        var one = Run(1);
        foreach (int threads in new[] { 2, 3 })
        {
            var many = Run(threads);
            Assert.Equal(one.Item1, many.Item1);
            Assert.Equal(one.Item2, many.Item2);
            Assert.Equal(one.Item3, many.Item3);
            Assert.Equal(one.Item4, many.Item4);
        }
    }

    [Fact]
    public void Convolution_networks_allocate_nothing_once_warm()
    {
        foreach (Network net in new Network[] { new D2lLeNetBatchNorm(32, 1), new TinyResNet(32, 1), new SamePadding(32, 1), new Adaptive(32, 1), new Signal1d(32, 1), new Adaptive1d(32, 1) })
        {
            float[] input = NetworkCases.RandomFloats(32 * net.SampleInputSize, 1);
            var output = new float[32 * net.SampleOutputSize];
            float[] outputGrad = NetworkCases.RandomFloats(output.Length, 2);
            var inputGrad = new float[input.Length];
            void Step()
            {
                net.ZeroGrad();
                net.Forward(input, output);
                net.Backward(outputGrad, inputGrad);
            }
            for (int i = 0; i < 3; i++) Step();
            long least = long.MaxValue;
            for (int round = 0; round < 5; round++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 10; i++) Step();
                least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            Assert.Equal(0, least);
        }
    }

    [Theory]
    [InlineData(2, 6, 41, 2, 2)]  // 20 outputs a row: a full vector and a partial one, an odd column left out
    [InlineData(3, 9, 10, 3, 2)]  // 5 outputs a row (one vector, its second half unused), windows 3 rows high
    [InlineData(1, 4, 28, 2, 2)]  // LeNet's first pooling: 14 outputs a row
    [InlineData(2, 4, 36, 2, 2)]  // exactly 16 outputs a row
    [InlineData(2, 6, 12, 3, 3)]  // not 2 wide: the general tiling path
    public void Tiling_average_pooling_matches_naive_loops(int channels, int height, int width, int kernelH, int kernelW)
    {
        const int batch = 3;
        var g = new Pool2dGeometry(channels, height, width, height / kernelH, width / kernelW, kernelH, kernelW, kernelH, kernelW);
        float[] x = NetworkCases.RandomFloats(batch * g.InputSize, 5), dy = NetworkCases.RandomFloats(batch * g.OutputSize, 6);
        // Every element must be written, and nothing past the end (the forward stores rows with whole vectors where
        // the lanes past a row's end stay in the plane).
        float[] y = Enumerable.Repeat(float.NaN, batch * g.OutputSize + 16).ToArray();
        float[] dx = Enumerable.Repeat(float.NaN, batch * g.InputSize).ToArray();
        Kernels.AvgPool2dForward(y.AsSpan(0, batch * g.OutputSize), x, batch, g, countIncludePad: true, divisorOverride: 0);
        Assert.All(y[(batch * g.OutputSize)..], value => Assert.True(float.IsNaN(value)));
        Kernels.AvgPool2dBackward(dx, dy, batch, g, countIncludePad: true, divisorOverride: 0);
        int area = kernelH * kernelW;
        for (int plane = 0; plane < batch * channels; plane++)
        {
            for (int h = 0; h < height; h++)
            {
                for (int w = 0; w < width; w++)
                {
                    int oh = h / kernelH, ow = w / kernelW;
                    bool covered = oh < g.OutHeight && ow < g.OutWidth;
                    float expected = covered ? dy[(plane * g.OutHeight + oh) * g.OutWidth + ow] / area : 0f;
                    Assert.Equal(expected, dx[(plane * height + h) * width + w], 1e-6);
                }
            }
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                for (int ow = 0; ow < g.OutWidth; ow++)
                {
                    double sum = 0;
                    for (int kh = 0; kh < kernelH; kh++)
                    {
                        for (int kw = 0; kw < kernelW; kw++) sum += x[(plane * height + oh * kernelH + kh) * width + ow * kernelW + kw];
                    }
                    Assert.Equal(sum / area, y[(plane * g.OutHeight + oh) * g.OutWidth + ow], 1e-6);
                }
            }
        }
    }

    [Theory]
    [InlineData(6, 14, 14, 16, 5, 0, 0, 37)]  // LeNet's second convolution: two full groups of 16 samples and one of 5
    [InlineData(16, 12, 12, 6, 3, 1, 1, 16)]  // input gradient with 3-channel blocks (6 input channels), padding
    [InlineData(3, 9, 9, 5, 4, 1, 1, 20)]     // "same" with an even kernel: the extra padding on the right and bottom
    [InlineData(2, 11, 11, 7, 7, 2, 3, 9)]    // a 7-wide kernel (two column chunks), asymmetric padding, one partial group of 9
    [InlineData(16, 28, 28, 16, 3, 1, 1, 17)] // LaneConv at 28 wide (8 or more input channels): the small ResNet's 16-16 layers, a group of 16 and 1
    [InlineData(8, 34, 34, 12, 3, 0, 0, 9)]   // LaneConv at 32 wide, no padding, one partial group of 9
    [InlineData(4, 28, 28, 8, 3, 1, 1, 16)]   // DirectConv: 28 wide with fewer than 8 input channels, though 16 samples would fill the lanes
    [InlineData(16, 24, 24, 8, 1, 0, 0, 16)]  // DirectConv: a 1 x 1 kernel 24 wide
    [InlineData(1, 28, 28, 6, 5, 2, 2, 3)]    // DirectConv: LeNet's first convolution, one block of 6 channels, rows of 28 in two vectors
    [InlineData(1, 20, 20, 10, 5, 2, 2, 2)]   // DirectConv: blocks of 8 and 2 channels
    [InlineData(3, 26, 26, 13, 3, 0, 0, 2)]   // DirectConv: blocks of 8 and 5, 24 outputs a row; its input gradient in blocks of 3
    [InlineData(2, 9, 9, 7, 3, 1, 1, 4)]      // DirectConv: too few samples for lanes, rows of 9 in pairs (the last alone), 7 channels
    [InlineData(2, 20, 20, 5, 4, 1, 1, 3)]    // DirectConv: a 4-wide kernel ("same": the extra padding on the right and bottom)
    [InlineData(2, 36, 36, 5, 5, 0, 0, 2)]    // DirectConv: rows of exactly 32 (without AVX-512, four whole vectors; blocks of 3 and 2 channels)
    [InlineData(3, 8, 8, 4, 3, 1, 1, 2)]      // DirectConv: rows of 8 (without AVX-512, two rows at a time)
    [InlineData(5, 7, 7, 9, 3, 1, 1, 3)]      // DirectConv: rows of 7, an odd number of them (without AVX-512, the last pair has one row), blocks of 6 and 3
    public void Direct_and_lane_interleaved_convolutions_match_naive_loops(int cin, int h, int w, int cout, int k, int padTop, int padLeft, int batch)
    {
        // "same" for the even kernel: PyTorch puts the extra row and column at the bottom and right.
        int oh = k % 2 == 0 ? h : h + 2 * padTop - k + 1, ow = k % 2 == 0 ? w : w + 2 * padLeft - k + 1;
        var g = new Conv2dGeometry(cin, h, w, cout, oh, ow, k, k, 1, 1, padTop, padLeft);
        float[] x = NetworkCases.RandomFloats(batch * g.InputSize, 1), weight = NetworkCases.RandomFloats(g.WeightSize, 2), bias = NetworkCases.RandomFloats(cout, 3);
        float[] dy = NetworkCases.RandomFloats(batch * g.OutputSize, 4);
        var y = new float[batch * g.OutputSize];
        var dx = new float[batch * g.InputSize];
        float[] dw = Enumerable.Repeat(0.5f, g.WeightSize).ToArray(); // accumulated into
        float[] db = Enumerable.Repeat(0.25f, cout).ToArray(); // accumulated into
        Kernels.Conv2dForward(y, x, weight, bias, batch, g);
        Kernels.Conv2dBackward(dx, dw, db, dy, x, weight, batch, g);

        (double[] expectedY, double[] expectedDx, double[] expectedDw, double[] expectedDb) = NaiveConvolution(x, weight, bias, dy, batch, g);
        for (int i = 0; i < y.Length; i++) Assert.Equal(expectedY[i], y[i], 1e-4);
        for (int i = 0; i < dx.Length; i++) Assert.Equal(expectedDx[i], dx[i], 1e-4);
        for (int i = 0; i < dw.Length; i++) Assert.Equal(0.5 + expectedDw[i], dw[i], 1e-3);
        for (int i = 0; i < cout; i++) Assert.Equal(0.25 + expectedDb[i], db[i], 1e-3);
    }

    [Fact]
    public void One_dimensional_modules_refuse_geometries_with_height_and_weights_of_the_wrong_rank()
    {
        var geometry = new Conv2dGeometry(2, 1, 10, 4, 1, 8, 1, 3);
        var weight = new Parameter(new float[24], new float[24], 0, 4, 2, 3);
        var conv = new Conv1d(geometry, "(0,)", weight, null);
        Assert.Equal(3, conv.KernelSize);
        Assert.Equal([4, 2, 3], conv.Weight.Shape);
        var e = Assert.Throws<ArgumentException>(() => new Conv1d(geometry, "(0,)", new Parameter(new float[24], new float[24], 0, 4, 2, 1, 3), null));
        Assert.Contains("Conv1d weight must have shape [4, 2, 3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Conv1d(geometry with { InHeight = 3, OutHeight = 1, KernelH = 3 }, "(0,)", new Parameter(new float[72], new float[72], 0, 4, 2, 3, 3), null));
        Assert.Contains("must have height 1", e.Message);
        e = Assert.Throws<ArgumentException>(() => new MaxPool1d(new Pool2dGeometry(2, 2, 8, 1, 4, 2, 2, 2, 2, 0, 0, 1, 1), ceilMode: false));
        Assert.Contains("must have height 1", e.Message);
        Assert.Equal("AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))", new AvgPool1d(new Pool2dGeometry(2, 1, 8, 1, 4, 1, 2, 1, 2, 0, 0, 1, 1), false, true).ToString());
    }

    [Theory]
    [InlineData(4, 14, 8, 3, 1, 1, 1, 1, 1, 16)]   // LaneConv: stride 1, 14 outputs, 16 samples in lanes
    [InlineData(3, 12, 5, 4, 1, 1, 2, 1, 1, 12)]   // "same" with an even kernel (the extra zero on the right), LaneConv
    [InlineData(3, 30, 6, 5, 1, 2, 2, 1, 1, 5)]    // DirectConv forward and input gradient (30 wide), its 5-wide weight gradient
    [InlineData(5, 100, 7, 7, 2, 3, 3, 2, 1, 9)]   // stride 2, dilation 2: the packed GEMM over patches
    [InlineData(4, 64, 6, 4, 1, 0, 0, 1, 2, 3)]    // groups 2 on the GEMM path
    [InlineData(6, 50, 6, 3, 1, 1, 1, 1, 6, 4)]    // depthwise
    public void Conv1d_geometries_match_naive_loops_on_every_kernel_path(int cin, int length, int cout, int k, int stride, int padLeft, int padRight,
        int dilation, int groups, int batch)
    {
        int outLength = (length + padLeft + padRight - dilation * (k - 1) - 1) / stride + 1;
        var g = new Conv2dGeometry(cin, 1, length, cout, 1, outLength, 1, k, 1, stride, 0, padLeft, 1, dilation, groups);
        MatchesNaiveLoopsOnAnyThreads(g, batch);
    }

    [Theory]
    [InlineData(16, 28, 28, 32, 3, 3, 2, 2, 1, 1, 20, true)]  // ResNet's first downsampling layer: a whole group of 16 and a partial one of 4
    [InlineData(32, 14, 14, 64, 3, 3, 2, 2, 1, 1, 16, true)]  // its second (7 x 7 outputs)
    [InlineData(8, 13, 13, 16, 3, 3, 2, 2, 1, 1, 9, true)]    // odd input: the last window ends on the right and bottom padding
    [InlineData(6, 10, 9, 8, 3, 3, 2, 1, 1, 1, 16, true)]     // stride 2 down the rows only
    [InlineData(4, 9, 12, 24, 2, 3, 2, 2, 0, 1, 17, true)]    // an even kernel height, padding on the left only, a group of 16 and 1
    [InlineData(8, 15, 15, 16, 3, 3, 2, 2, 0, 0, 16, true)]   // no padding: the even phases' two taps read one row and column before the gradient
    [InlineData(8, 12, 12, 16, 4, 4, 2, 2, 1, 1, 16, true)]   // 4 x 4 at stride 2 (two taps in every phase)
    [InlineData(4, 14, 14, 8, 5, 5, 2, 2, 2, 2, 16, true)]    // 5 x 5, padding 2: three taps and two
    [InlineData(8, 11, 11, 24, 3, 3, 3, 2, 1, 1, 16, false)]  // stride 3 down the rows: a phase would read past its first output (patch matrices)
    [InlineData(4, 8, 8, 128, 1, 1, 2, 2, 0, 0, 16, false)]   // 1 x 1, stride 2, wide enough for lanes: windows stop short of the last row and column; odd positions read no tap
    public void Strided_lane_convolutions_match_naive_loops(int cin, int h, int w, int cout, int kh, int kw, int strideH, int strideW, int padTop, int padLeft, int batch,
        bool inputGradientInLanes)
    {
        int outH = (h + 2 * padTop - kh) / strideH + 1, outW = (w + 2 * padLeft - kw) / strideW + 1;
        var g = new Conv2dGeometry(cin, h, w, cout, outH, outW, kh, kw, strideH, strideW, padTop, padLeft);
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
        {
            Assert.True(LaneConv.AppliesStrided(g, batch) && !LaneConv.Applies(g, batch));
            Assert.Equal(inputGradientInLanes, LaneConv.AppliesToStridedInputGradient(g, batch));
        }
        MatchesNaiveLoopsOnAnyThreads(g, batch);
    }

    /// <summary>
    /// The lane kernel's weight gradient keeps its partial sums once per part: on one thread a single set (the 64-64 3 x 3
    /// layer at 7 x 7 and batch 256: 3,072 tasks x 20 vectors, 3.9 MB; every group's set, 63 MB, was allocated before);
    /// a layer whose set would pass 16 MB sums each group's across the lanes into weight-sized sets (256-256 at 3 x 3: 2.4
    /// MB a set, 38 MB for its 16 groups on two threads, against 63 MB a set and 1 GB before); and where every group's sets
    /// would pass 256 MB (the same layer at batch 1,920: 120 groups, 283 MB) it stays on one part. The first call of a product
    /// splits (SplitCalibration), so the two-thread cases take their split. Measured on a fresh thread, whose buffers
    /// start empty; the gradient the same bits as on one thread.
    /// </summary>
    [Theory]
    [InlineData(64, 7, 256, 1, 0, 8)]
    [InlineData(256, 3, 256, 2, 30, 45)]
    [InlineData(256, 3, 1920, 2, 0, 8)]
    public void Lane_weight_gradient_partial_sums_take_one_set_per_part_and_a_large_layer_stays_on_one(int channels, int size, int batch, int threads, int atLeastMb, int atMostMb)
    {
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported) return; // the lane kernel needs AVX-512
        var g = new Conv2dGeometry(channels, size, size, channels, size, size, 3, 3, 1, 1, 1, 1);
        Assert.True(LaneConv.Applies(g, batch));
        Assert.Equal(channels > 64, LaneConv.ReducesEachGroup(g));
        float[] x = NetworkCases.RandomFloats(batch * g.InputSize, 31), weight = NetworkCases.RandomFloats(g.WeightSize, 32), dy = NetworkCases.RandomFloats(batch * g.OutputSize, 33);
        (long Bytes, float[] Dw) Backward(int count)
        {
            long bytes = 0;
            float[] dw = new float[g.WeightSize];
            var thread = new System.Threading.Thread(() => NetworkCases.OnThreads(count, () =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                Kernels.Conv2dBackward(default, dw, default, dy, x, weight, batch, g);
                bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            }));
            thread.Start();
            thread.Join();
            return (bytes, dw);
        }
        (long allocated, float[] dw) = Backward(threads);
        Assert.InRange(allocated / (1 << 20), atLeastMb, atMostMb);
        Assert.Equal(Backward(1).Dw, dw);
    }

    /// <summary>
    /// Layers whose weight-gradient sets pass 16 MB, so that each group's sums are summed across the lanes at once
    /// (LaneConv.ReducesEachGroup), against naive loops and on one thread as on several: 3 x 3 at stride 1 and 2, and
    /// 5 x 5 (its two-positions-at-a-time loop).
    /// </summary>
    [Theory]
    [InlineData(96, 3, 3, 256, 3, 1, 1, 33)]
    [InlineData(96, 6, 6, 256, 3, 2, 1, 17)]
    [InlineData(96, 4, 4, 128, 5, 1, 2, 17)]
    public void Lane_layers_that_sum_each_groups_lanes_match_naive_loops(int cin, int h, int w, int cout, int k, int stride, int pad, int batch)
    {
        int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
        var g = new Conv2dGeometry(cin, h, w, cout, oh, ow, k, k, stride, stride, pad, pad);
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported) Assert.True(LaneConv.AppliesStrided(g, batch) && LaneConv.ReducesEachGroup(g));
        MatchesNaiveLoopsOnAnyThreads(g, batch);
    }

    /// <summary>
    /// The layer's forward and backward against <see cref="NaiveConvolution"/>, the weight gradient alone (a first layer)
    /// the same bits as with the input gradient, and all of it the same bits on one thread as on several.
    /// </summary>
    private static void MatchesNaiveLoopsOnAnyThreads(Conv2dGeometry g, int batch)
    {
        float[] x = NetworkCases.RandomFloats(batch * g.InputSize, 21), weight = NetworkCases.RandomFloats(g.WeightSize, 22), bias = NetworkCases.RandomFloats(g.OutChannels, 23);
        float[] dy = NetworkCases.RandomFloats(batch * g.OutputSize, 24);
        (float[] Y, float[] Dx, float[] Dw, float[] Db, float[] DwAlone) Run()
        {
            var y = new float[batch * g.OutputSize];
            float[] dx = Enumerable.Repeat(float.NaN, batch * g.InputSize).ToArray(); // written, not accumulated
            float[] dw = Enumerable.Repeat(0.5f, g.WeightSize).ToArray(); // accumulated into
            var db = new float[g.OutChannels];
            Kernels.Conv2dForward(y, x, weight, bias, batch, g);
            Kernels.Conv2dBackward(dx, dw, db, dy, x, weight, batch, g);
            float[] dwAlone = Enumerable.Repeat(0.5f, g.WeightSize).ToArray();
            Kernels.Conv2dBackward(default, dwAlone, default, dy, x, weight, batch, g);
            return (y, dx, dw, db, dwAlone);
        }
        (float[] y, float[] dx, float[] dw, float[] db, float[] dwAlone) = Run();

        (double[] expectedY, double[] expectedDx, double[] expectedDw, double[] expectedDb) = NaiveConvolution(x, weight, bias, dy, batch, g);
        for (int i = 0; i < y.Length; i++) Assert.Equal(expectedY[i], y[i], 1e-4);
        for (int i = 0; i < dx.Length; i++) Assert.Equal(expectedDx[i], dx[i], 1e-4);
        for (int i = 0; i < dw.Length; i++) Assert.Equal(0.5 + expectedDw[i], dw[i], 1e-3);
        for (int i = 0; i < db.Length; i++) Assert.Equal(expectedDb[i], db[i], 1e-3);
        Assert.Equal(dw, dwAlone);

        (float[] y1, float[] dx1, float[] dw1, float[] db1, float[] dwAlone1) = NetworkCases.OnThreads(1, Run);
        Assert.Equal(y, y1);
        Assert.Equal(dx, dx1);
        Assert.Equal(dw, dw1);
        Assert.Equal(db, db1);
        Assert.Equal(dwAlone, dwAlone1);
    }

    /// <summary>
    /// torch.nn.Conv2d's output and gradients by the definition, in double: y = bias + the weights times the input under
    /// each window (stride, zero padding, dilation, groups), dx and dw from dy, db the sums of dy.
    /// </summary>
    private static (double[] Y, double[] Dx, double[] Dw, double[] Db) NaiveConvolution(float[] x, float[] weight, float[] bias, float[] dy, int batch, Conv2dGeometry g)
    {
        var y = new double[batch * g.OutputSize];
        var dx = new double[batch * g.InputSize];
        var dw = new double[g.WeightSize];
        var db = new double[g.OutChannels];
        int groupIn = g.GroupInChannels, groupOut = g.GroupOutChannels;
        for (int n = 0; n < batch; n++)
        {
            for (int co = 0; co < g.OutChannels; co++)
            {
                for (int oh = 0; oh < g.OutHeight; oh++)
                {
                    for (int ow = 0; ow < g.OutWidth; ow++)
                    {
                        int o = ((n * g.OutChannels + co) * g.OutHeight + oh) * g.OutWidth + ow;
                        double sum = bias[co], grad = dy[o];
                        db[co] += grad;
                        for (int ci = 0; ci < groupIn; ci++)
                        {
                            for (int i = 0; i < g.KernelH; i++)
                            {
                                for (int j = 0; j < g.KernelW; j++)
                                {
                                    int ih = oh * g.StrideH - g.PadTop + i * g.DilationH, iw = ow * g.StrideW - g.PadLeft + j * g.DilationW;
                                    if (ih < 0 || ih >= g.InHeight || iw < 0 || iw >= g.InWidth) continue;
                                    int at = ((n * g.InChannels + co / groupOut * groupIn + ci) * g.InHeight + ih) * g.InWidth + iw;
                                    int tap = ((co * groupIn + ci) * g.KernelH + i) * g.KernelW + j;
                                    sum += weight[tap] * (double)x[at];
                                    dw[tap] += grad * x[at];
                                    dx[at] += grad * weight[tap];
                                }
                            }
                        }
                        y[o] = sum;
                    }
                }
            }
        }
        return (y, dx, dw, db);
    }

    [Theory]
    [InlineData(1, 28, 28, 6, 5, 2)]   // LeNet's first layer: rows of 28 (four 8-wide vectors), blocks of 2 channels
    [InlineData(6, 14, 14, 16, 5, 0)]  // LeNet's second: rows of 10 (two vectors, 6 lanes idle); its input gradient rows of 14
    [InlineData(16, 28, 28, 16, 3, 1)] // the small ResNet's 16-16 layer
    [InlineData(64, 7, 7, 64, 3, 1)]   // rows of 7, two rows at a time, the last pair with one row
    [InlineData(3, 26, 26, 13, 3, 0)]  // 24 outputs a row (three vectors), blocks of 3 with one left
    public void Direct_convolution_in_256_bit_vectors_gives_the_AVX512_kernels_bits(int cin, int h, int w, int cout, int k, int pad)
    {
        // Both kernels run only where the machine has AVX-512 (and FMA); without it, Forward is the 256-bit kernel, which the
        // naive-loop tests above check (CI runs them with DOTNET_EnableAVX512=0 too).
        if (!Avx512F.IsSupported || !Fma.IsSupported) return;
        var g = new Conv2dGeometry(cin, h, w, cout, h + 2 * pad - k + 1, w + 2 * pad - k + 1, k, k, 1, 1, pad, pad);
        var t = DirectConv.Transposed(g);
        float[] x = NetworkCases.RandomFloats(g.InputSize, 31), weight = NetworkCases.RandomFloats(g.WeightSize, 32), bias = NetworkCases.RandomFloats(cout, 33);
        float[] dy = NetworkCases.RandomFloats(g.OutputSize, 34);
        foreach (bool relu in new[] { false, true })
        {
            float[] wide = new float[g.OutputSize], narrow = new float[g.OutputSize];
            DirectConv.Forward(wide, x, DirectConv.Taps(weight, g, flip: false), bias, g, relu);
            DirectConv.Forward256(narrow, x, DirectConv.Taps(weight, g, flip: false), bias, g, relu);
            Assert.Equal(wide.Select(BitConverter.SingleToInt32Bits), narrow.Select(BitConverter.SingleToInt32Bits));
            Assert.Contains(narrow, v => v != 0f);
        }
        // The input gradient: the flipped kernel over the output gradient.
        float[] dxWide = new float[g.InputSize], dxNarrow = new float[g.InputSize];
        DirectConv.Forward(dxWide, dy, DirectConv.Taps(weight, g, flip: true), default, t, relu: false);
        DirectConv.Forward256(dxNarrow, dy, DirectConv.Taps(weight, g, flip: true), default, t, relu: false);
        Assert.Equal(dxWide.Select(BitConverter.SingleToInt32Bits), dxNarrow.Select(BitConverter.SingleToInt32Bits));
    }

    [Theory]
    [InlineData(6, 14, 16, 5, 1, 0, 37)]  // LeNet's second layer: blocks of 4 channels, its input gradient of 6; two whole groups and one of 5
    [InlineData(16, 12, 6, 3, 1, 1, 16)]  // blocks of 3 channels by 3 positions; the input gradient's blocks of 4 (16 input channels)
    [InlineData(2, 11, 7, 7, 1, 3, 9)]    // a 7-wide kernel (two column chunks: 5 taps and 2), 7 channels, one partial group of 9
    [InlineData(16, 28, 16, 3, 1, 1, 17)] // the small ResNet's 16-16 layers: weight-gradient strips, a group of 16 and 1
    [InlineData(16, 28, 32, 3, 2, 1, 20)] // its first downsampling layer: stride 2, the input gradient phase by phase
    public void Lane_convolution_in_256_bit_halves_gives_the_AVX512_kernels_bits(int cin, int size, int cout, int k, int stride, int pad, int batch)
    {
        // Both forms run only where the machine has AVX-512 (and FMA); without it the 256-bit form is the only one, which the
        // naive-loop tests check (CI runs them with DOTNET_EnableAVX512=0 too).
        if (!Avx512F.IsSupported || !Fma.IsSupported) return;
        int outSize = (size + 2 * pad - k) / stride + 1;
        var g = new Conv2dGeometry(cin, size, size, cout, outSize, outSize, k, k, stride, stride, pad, pad);
        Assert.True(LaneConv.AppliesStrided(g, batch));
        float[] x = NetworkCases.RandomFloats(batch * g.InputSize, 41), weight = NetworkCases.RandomFloats(g.WeightSize, 42), bias = NetworkCases.RandomFloats(cout, 43);
        float[] dy = NetworkCases.RandomFloats(batch * g.OutputSize, 44);
        float[][] Run(bool narrow, int threads) => NetworkCases.OnThreads(threads, () =>
        {
            LaneConv.Narrow = narrow;
            try
            {
                var y = new float[batch * g.OutputSize];
                var dx = new float[batch * g.InputSize];
                float[] dw = Enumerable.Repeat(0.5f, g.WeightSize).ToArray(), db = Enumerable.Repeat(0.25f, cout).ToArray();
                Kernels.Conv2dForward(y, x, weight, bias, batch, g, relu: true);
                Kernels.Conv2dBackward(dx, dw, db, dy, x, weight, batch, g);
                return new[] { y, dx, dw, db };
            }
            finally
            {
                LaneConv.Narrow = false;
            }
        });
        float[][] wide = Run(narrow: false, threads: 1);
        Assert.Contains(wide[0], v => v > 0f);
        foreach (int threads in new[] { 1, 2 })
        {
            float[][] narrow = Run(narrow: true, threads);
            for (int i = 0; i < wide.Length; i++) Assert.Equal(wide[i].Select(BitConverter.SingleToInt32Bits), narrow[i].Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Theory]
    [InlineData(14, 2, 37, true)]  // LeNet's second layer: 2 x 2 windows, the derivative kept in lanes for whole groups, a partial group of 5
    [InlineData(14, 3, 16, false)] // 3 x 3 windows tiling 9 of 10 rows and columns; no input gradient
    public void Lane_convolution_sigmoid_and_pooling_in_256_bit_halves_give_the_AVX512_kernels_bits(int size, int poolKernel, int batch, bool inputGradient)
    {
        if (!Avx512F.IsSupported || !Fma.IsSupported) return;
        var conv = new Conv2dGeometry(6, size, size, 16, size - 4, size - 4, 5, 5);
        int pooled = (size - 4) / poolKernel;
        var pool = new Pool2dGeometry(16, size - 4, size - 4, pooled, pooled, poolKernel, poolKernel, poolKernel, poolKernel, 0, 0);
        Assert.True(LaneConv.Applies(conv, batch));
        float[] x = NetworkCases.RandomFloats(batch * conv.InputSize, 51), weight = NetworkCases.RandomFloats(conv.WeightSize, 52), bias = NetworkCases.RandomFloats(16, 53);
        float[] dy = NetworkCases.RandomFloats(batch * pool.OutputSize, 54);
        float[][] Run(bool narrow) => NetworkCases.OnThreads(2, () =>
        {
            LaneConv.Narrow = narrow;
            try
            {
                float[] derivative = new float[batch * conv.OutputSize], output = new float[batch * pool.OutputSize], samples = new float[derivative.Length];
                float[] dx = inputGradient ? new float[batch * conv.InputSize] : [], dw = new float[conv.WeightSize], db = new float[16];
                Kernels.Conv2dSigmoidAvgPool2dForward(derivative, output, x, weight, bias, batch, conv, pool, true, 0);
                Kernels.SigmoidDerivativeInSamples(samples, derivative, batch, conv, pool);
                Kernels.Conv2dSigmoidAvgPool2dBackward(dx, dw, db, new float[derivative.Length], dy, derivative, x, weight, batch, conv, pool, true, 0);
                return new[] { output, samples, dx, dw, db };
            }
            finally
            {
                LaneConv.Narrow = false;
            }
        });
        float[][] wide = Run(narrow: false), narrow = Run(narrow: true);
        Assert.Contains(wide[3], v => v != 0f);
        for (int i = 0; i < wide.Length; i++) Assert.Equal(wide[i].Select(BitConverter.SingleToInt32Bits), narrow[i].Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Direct_convolution_pads_with_zeros_after_a_layout_of_other_padding_ran_on_the_thread()
    {
        // The direct kernel keeps a sample's padded plane between samples and clears it only when the layout changes:
        // a 20 x 20 input without padding fills where a 16 x 16 input with padding 2 needs zeros.
        var wide = new Conv2dGeometry(1, 20, 20, 6, 16, 16, 5, 5);
        var padded = new Conv2dGeometry(1, 16, 16, 6, 16, 16, 5, 5, 1, 1, 2, 2);
        float[] big = NetworkCases.RandomFloats(3 * wide.InputSize, 21), x = NetworkCases.RandomFloats(3 * padded.InputSize, 22);
        float[] weight = NetworkCases.RandomFloats(padded.WeightSize, 23), bias = NetworkCases.RandomFloats(6, 24);
        var y = new float[3 * padded.OutputSize];
        NetworkCases.OnThreads(1, () =>
        {
            Kernels.Conv2dForward(new float[3 * wide.OutputSize], big, weight, bias, 3, wide);
            Kernels.Conv2dForward(y, x, weight, bias, 3, padded);
        });
        for (int n = 0; n < 3; n++)
        {
            for (int co = 0; co < 6; co++)
            {
                for (int r = 0; r < 16; r++)
                {
                    for (int c = 0; c < 16; c++)
                    {
                        double sum = bias[co];
                        for (int i = 0; i < 5; i++)
                        {
                            for (int j = 0; j < 5; j++)
                            {
                                int ih = r - 2 + i, iw = c - 2 + j;
                                if (ih >= 0 && iw >= 0 && ih < 16 && iw < 16) sum += weight[(co * 5 + i) * 5 + j] * (double)x[(n * 16 + ih) * 16 + iw];
                            }
                        }
                        Assert.Equal(sum, y[((n * 6 + co) * 16 + r) * 16 + c], 1e-4);
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(3, 3, 9, 9, 3, 1, 1, 1, 1, 4)]     // MobileNet's 3 x 3, stride 1, "same" padding
    [InlineData(4, 8, 11, 10, 3, 2, 1, 1, 1, 3)]   // a multiplier of 2, stride 2 (the scalar column path)
    [InlineData(5, 5, 12, 12, 5, 1, 2, 2, 1, 40)]  // dilation 2, the taps at the borders; enough samples to split across threads
    [InlineData(2, 2, 7, 6, 2, 1, 0, 1, 2, 5)]     // an even kernel, no padding, dilation 2 across columns
    public void Depthwise_convolution_matches_naive_loops(int cin, int cout, int h, int w, int k, int stride, int pad, int dilationH, int dilationW, int batch)
    {
        int oh = (h + 2 * pad - dilationH * (k - 1) - 1) / stride + 1, ow = (w + 2 * pad - dilationW * (k - 1) - 1) / stride + 1;
        var g = new Conv2dGeometry(cin, h, w, cout, oh, ow, k, k, stride, stride, pad, pad, dilationH, dilationW, Groups: cin);
        float[] x = NetworkCases.RandomFloats(batch * g.InputSize, 11), weight = NetworkCases.RandomFloats(g.WeightSize, 12), bias = NetworkCases.RandomFloats(cout, 13);
        float[] dy = NetworkCases.RandomFloats(batch * g.OutputSize, 14);
        var y = new float[batch * g.OutputSize];
        float[] dx = Enumerable.Repeat(float.NaN, batch * g.InputSize).ToArray(); // written, not accumulated
        float[] dw = Enumerable.Repeat(0.5f, g.WeightSize).ToArray(); // accumulated into
        var db = new float[cout];
        Kernels.Conv2dForward(y, x, weight, bias, batch, g, relu: true);
        Kernels.Conv2dBackward(dx, dw, db, dy, x, weight, batch, g);

        int multiplier = cout / cin;
        var expectedDx = new double[dx.Length];
        var expectedDw = new double[dw.Length];
        for (int n = 0; n < batch; n++)
        {
            for (int co = 0; co < cout; co++)
            {
                int ci = co / multiplier;
                for (int r = 0; r < oh; r++)
                {
                    for (int c = 0; c < ow; c++)
                    {
                        double sum = bias[co], grad = dy[((n * cout + co) * oh + r) * ow + c];
                        for (int i = 0; i < k; i++)
                        {
                            for (int j = 0; j < k; j++)
                            {
                                int ih = r * stride - pad + i * dilationH, iw = c * stride - pad + j * dilationW;
                                if (ih < 0 || iw < 0 || ih >= h || iw >= w) continue;
                                int at = ((n * cin + ci) * h + ih) * w + iw;
                                sum += weight[(co * k + i) * k + j] * (double)x[at];
                                expectedDw[(co * k + i) * k + j] += grad * x[at];
                                expectedDx[at] += grad * weight[(co * k + i) * k + j];
                            }
                        }
                        Assert.Equal(Math.Max(sum, 0), y[((n * cout + co) * oh + r) * ow + c], 1e-5);
                    }
                }
            }
        }
        for (int i = 0; i < dx.Length; i++) Assert.Equal(expectedDx[i], dx[i], 1e-5);
        for (int i = 0; i < dw.Length; i++) Assert.Equal(0.5 + expectedDw[i], dw[i], 1e-3);

        // The same bits on one thread as on several.
        var y1 = new float[y.Length];
        var dx1 = new float[dx.Length];
        float[] dw1 = Enumerable.Repeat(0.5f, g.WeightSize).ToArray();
        NetworkCases.OnThreads(1, () =>
        {
            Kernels.Conv2dForward(y1, x, weight, bias, batch, g, relu: true);
            Kernels.Conv2dBackward(dx1, dw1, new float[cout], dy, x, weight, batch, g);
        });
        Assert.Equal(y, y1);
        Assert.Equal(dx, dx1);
        Assert.Equal(dw, dw1);
    }

    [Theory]
    [InlineData(2, 6, 41, 2, 2)]   // tiling by twos with a left-over column: fused forward, two-kernel backward
    [InlineData(6, 28, 28, 2, 2)]  // LeNet's first pooling: fused both ways
    [InlineData(16, 10, 10, 2, 2)] // LeNet's second
    [InlineData(2, 6, 12, 3, 3)]   // windows 3 wide: the two kernels in turn
    public void Sigmoid_and_average_pooling_fused_equal_the_two_kernels_bit_for_bit(int channels, int height, int width, int kernelH, int kernelW)
    {
        const int batch = 3;
        var g = new Pool2dGeometry(channels, height, width, height / kernelH, width / kernelW, kernelH, kernelW, kernelH, kernelW);
        float[] x = NetworkCases.RandomFloats(batch * g.InputSize, 7, 6f), dy = NetworkCases.RandomFloats(batch * g.OutputSize, 8);
        var activated = new float[x.Length];
        var expected = new float[dy.Length];
        var fused = new float[dy.Length];
        Kernels.SigmoidForward(activated, x);
        Kernels.AvgPool2dForward(expected, activated, batch, g, countIncludePad: true, divisorOverride: 0);
        Kernels.SigmoidAvgPool2dForward(fused, x, batch, g, countIncludePad: true, divisorOverride: 0);
        Assert.Equal(expected, fused);

        var spread = new float[x.Length];
        var expectedGrad = new float[x.Length];
        float[] fusedGrad = Enumerable.Repeat(float.NaN, x.Length).ToArray();
        Kernels.AvgPool2dBackward(spread, dy, batch, g, countIncludePad: true, divisorOverride: 0);
        Kernels.SigmoidBackward(expectedGrad, spread, x);
        Kernels.AvgPool2dSigmoidBackward(fusedGrad, dy, x, batch, g, countIncludePad: true, divisorOverride: 0);
        Assert.Equal(expectedGrad, fusedGrad);
    }

    [Theory]
    [InlineData(1, 28, 6, 2, 2, 2, 0, true, 0, 20, false)]   // LeNet's first layer and pooling: each sample pooled as it is computed, the weight gradient forms the output gradient
    [InlineData(2, 12, 7, 2, 3, 2, 1, false, 0, 4, false)]   // channel blocks of 3, 3 and 1; overlapping windows, padding excluded
    [InlineData(1, 20, 4, 0, 2, 2, 0, true, 3, 4, false)]    // divisor_override, no bias
    [InlineData(6, 14, 16, 0, 2, 2, 0, true, 0, 20, true)]   // LeNet's second: the lane kernel forms the output gradient in its layout, a partial last group
    [InlineData(6, 14, 16, 0, 3, 3, 0, true, 0, 16, true)]   // 3 x 3 windows tiling 9 of 10 rows and columns: the last ones get no gradient
    [InlineData(1, 28, 6, 2, 2, 2, 0, true, 0, 20, true)]    // the first layer's shape, with the input gradient asked
    [InlineData(1, 32, 4, 2, 2, 2, 0, true, 0, 3, false)]    // the widest direct layer: 16 windows a row, one whole vector
    [InlineData(1, 27, 5, 2, 2, 2, 0, true, 0, 3, false)]    // odd rows and columns: the last of each in no window (the direct kernel pools from its registers)
    [InlineData(1, 27, 5, 2, 2, 2, 0, true, 3, 2, false)]    // the same with divisor_override, no bias
    [InlineData(1, 22, 6, 2, 2, 2, 0, true, 0, 3, false)]    // rows of 22: three vectors of 8 a row in 256 bits (blocks of 3 channels), the last pooled vector partial
    [InlineData(2, 21, 3, 2, 2, 2, 0, true, 0, 2, true)]     // rows of 21 and an odd height: the last row's derivative alone
    public void Convolution_sigmoid_and_average_pooling_in_one_kernel_equal_the_separate_passes(int cin, int size, int cout, int pad,
        int poolKernel, int poolStride, int poolPad, bool countIncludePad, int divisorOverride, int batch, bool inputGradient)
    {
        bool bias = divisorOverride == 0;
        int outSize = size + 2 * pad - 4;
        var conv = new Conv2dGeometry(cin, size, size, cout, outSize, outSize, 5, 5, 1, 1, pad, pad);
        int pooled = (outSize + 2 * poolPad - poolKernel) / poolStride + 1;
        var pool = new Pool2dGeometry(cout, outSize, outSize, pooled, pooled, poolKernel, poolKernel, poolStride, poolStride, poolPad, poolPad);
        float[] x = NetworkCases.RandomFloats(batch * conv.InputSize, 1), weight = NetworkCases.RandomFloats(conv.WeightSize, 2);
        float[] dy = NetworkCases.RandomFloats(batch * pool.OutputSize, 4), convBias = bias ? NetworkCases.RandomFloats(cout, 9) : [];

        // Forward: the pooling's output as the two kernels give it on one thread, and the Sigmoid's derivative at the
        // convolution's output: SigmoidBackward's factor bit for bit at 0 and above, within a few ulps below.
        var convOut = new float[batch * conv.OutputSize];
        var expectedPooled = new float[dy.Length];
        var factor = new float[convOut.Length];
        NetworkCases.OnThreads(1, () =>
        {
            Kernels.Conv2dForward(convOut, x, weight, convBias, batch, conv);
            Kernels.SigmoidAvgPool2dForward(expectedPooled, convOut, batch, pool, countIncludePad, divisorOverride);
        });
        Kernels.SigmoidBackward(factor, Enumerable.Repeat(1f, convOut.Length).ToArray(), convOut);
        // The derivative as the forward leaves it (the lane kernel keeps whole groups of 16 samples in its layout), and
        // as [N, C, H, W].
        float[]? workspace = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            float[] d = new float[convOut.Length], pooledOut = new float[dy.Length];
            NetworkCases.OnThreads(threads, () => Kernels.Conv2dSigmoidAvgPool2dForward(d, pooledOut, x, weight, convBias, batch, conv, pool, countIncludePad, divisorOverride));
            Assert.Equal(expectedPooled, pooledOut);
            workspace ??= d;
            Assert.Equal(workspace, d);
            // As Infer runs it, with no derivative kept: the same pooled bits.
            float[] scratch = new float[convOut.Length], pooledOnly = new float[dy.Length];
            NetworkCases.OnThreads(threads, () => Kernels.Conv2dSigmoidAvgPool2dForward(scratch, pooledOnly, x, weight, convBias, batch, conv, pool, countIncludePad,
                divisorOverride, keepDerivative: false));
            Assert.Equal(expectedPooled, pooledOnly);
        }
        var derivative = new float[convOut.Length];
        Kernels.SigmoidDerivativeInSamples(derivative, workspace, batch, conv, pool);
        int negative = 0;
        for (int i = 0; i < convOut.Length; i++)
        {
            if (convOut[i] >= 0)
            {
                Assert.Equal(factor[i], derivative![i]);
                continue;
            }
            negative++;
            double s = 1 / (1 + Math.Exp(-(double)convOut[i])), exact = s * (1 - s);
            Assert.True(Math.Abs(derivative![i] - exact) <= 4 * 6e-8 * exact, $"sigmoid'({convOut[i]}) = {exact}, but {derivative[i]} came");
        }
        Assert.InRange(negative, convOut.Length / 10, convOut.Length * 9 / 10);

        // Backward, against the pooling's input gradient times that derivative, then the convolution's backward, on one thread.
        var dh = new float[convOut.Length];
        float[] dx = new float[x.Length], dw = NetworkCases.RandomFloats(conv.WeightSize, 5), db = bias ? NetworkCases.RandomFloats(cout, 6) : [];
        float[] dw0 = dw.ToArray(), db0 = db.ToArray();
        NetworkCases.OnThreads(1, () =>
        {
            Kernels.AvgPool2dBackward(dh, dy, batch, pool, countIncludePad, divisorOverride);
            for (int i = 0; i < dh.Length; i++) dh[i] *= derivative![i];
            Kernels.Conv2dBackward(inputGradient ? dx : default, dw, db, dh, x, weight, batch, conv);
        });
        foreach (int threads in new[] { 1, 2, 3 })
        {
            float[] dx1 = new float[x.Length], dw1 = dw0.ToArray(), db1 = db0.ToArray(), dh1 = new float[dh.Length];
            NetworkCases.OnThreads(threads, () => Kernels.Conv2dSigmoidAvgPool2dBackward(inputGradient ? dx1 : default, dw1, db1, dh1, dy, workspace, x, weight, batch,
                conv, pool, countIncludePad, divisorOverride));
            Assert.Equal(dw, dw1);
            Assert.Equal(db, db1);
            Assert.Equal(dx, dx1);
        }
        Assert.NotEqual(dw0, dw);
        if (!inputGradient) return;

        // A frozen weight: the input gradient (and the bias's) from the same workspace, the bits of the separate passes.
        float[] frozenDx = new float[x.Length], frozenDb = db0.ToArray(), separateDx = new float[x.Length], separateDb = db0.ToArray();
        NetworkCases.OnThreads(1, () => Kernels.Conv2dBackward(separateDx, default, separateDb, dh, x, weight, batch, conv));
        NetworkCases.OnThreads(2, () => Kernels.Conv2dSigmoidAvgPool2dBackward(frozenDx, default, frozenDb, new float[dh.Length], dy, workspace, x, weight, batch,
            conv, pool, countIncludePad, divisorOverride));
        Assert.Equal(dx, separateDx);
        Assert.Equal(separateDx, frozenDx);
        Assert.Equal(separateDb, frozenDb);
    }

    [Theory]
    [InlineData(37, 3, 1, 1, false, true, 0)]   // stride 1, padding: the first and last windows one at a time
    [InlineData(40, 3, 2, 1, true, true, 0)]    // stride 2 with ceil mode
    [InlineData(45, 3, 2, 1, true, false, 0)]   // padding not counted
    [InlineData(33, 2, 1, 0, false, true, 3)]   // divisor_override
    [InlineData(30, 2, 3, 0, false, true, 0)]   // stride 3: one at a time throughout (windows that tile the input go to their own kernel)
    public void Average_pooling_gives_PyTorchs_averages_at_every_width(int width, int kernel, int stride, int pad, bool ceilMode, bool countIncludePad, int divisorOverride)
    {
        const int channels = 2, height = 7, batch = 2;
        int Out(int size)
        {
            int o = (size + 2 * pad - kernel + (ceilMode ? stride - 1 : 0)) / stride + 1;
            return ceilMode && (o - 1) * stride >= size + pad ? o - 1 : o;
        }
        var g = new Pool2dGeometry(channels, height, width, Out(height), Out(width), kernel, kernel, stride, stride, pad, pad);
        float[] x = NetworkCases.RandomFloats(batch * channels * height * width, width, 3f);
        var y = new float[batch * channels * g.OutHeight * g.OutWidth];
        Kernels.AvgPool2dForward(y, x, batch, g, countIncludePad, divisorOverride);
        for (int plane = 0; plane < batch * channels; plane++)
        {
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                for (int ow = 0; ow < g.OutWidth; ow++)
                {
                    // at::native avg_pool2d: the window clipped to the padded input for its size, to the input for its sum.
                    int hs = oh * stride - pad, ws = ow * stride - pad;
                    int he = Math.Min(hs + kernel, height + pad), we = Math.Min(ws + kernel, width + pad);
                    int poolSize = (he - hs) * (we - ws);
                    (hs, ws, he, we) = (Math.Max(hs, 0), Math.Max(ws, 0), Math.Min(he, height), Math.Min(we, width));
                    float sum = 0f;
                    for (int ih = hs; ih < he; ih++)
                    {
                        for (int iw = ws; iw < we; iw++) sum += x[(plane * height + ih) * width + iw];
                    }
                    int divisor = divisorOverride > 0 ? divisorOverride : countIncludePad ? poolSize : (he - hs) * (we - ws);
                    float expected = hs < he && ws < we ? sum / divisor : 0f;
                    float actual = y[(plane * g.OutHeight + oh) * g.OutWidth + ow];
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual), $"plane {plane}, output ({oh}, {ow}): expected {expected}, got {actual}");
                }
            }
        }
    }

    [Theory]
    [InlineData(28, 2, 2, 0, 1, false)]  // ResNet's 2 x 2 stride-2 pooling: 14 outputs a row, one masked vector
    [InlineData(40, 3, 2, 1, 1, true)]   // padding and ceil mode: the first and last windows run one at a time
    [InlineData(37, 3, 1, 1, 1, false)]  // stride 1: 37 outputs, two vectors and a masked third
    [InlineData(45, 2, 1, 0, 2, false)]  // dilation
    [InlineData(50, 3, 2, 1, 2, true)]   // all of them
    [InlineData(30, 2, 3, 0, 1, false)]  // stride 3: one at a time throughout
    public void Max_pooling_gives_PyTorchs_maximum_and_index_at_every_width(int width, int kernel, int stride, int pad, int dilation, bool ceilMode)
    {
        const int channels = 3, height = 9, batch = 2;
        int span = dilation * (kernel - 1) + 1;
        int Out(int size)
        {
            int o = (size + 2 * pad - span + (ceilMode ? stride - 1 : 0)) / stride + 1;
            return ceilMode && (o - 1) * stride >= size + pad ? o - 1 : o; // a last window starting in the right padding is dropped
        }
        var g = new Pool2dGeometry(channels, height, width, Out(height), Out(width), kernel, kernel, stride, stride, pad, pad, dilation, dilation);
        // Values from a few levels (ties), with NaNs and -infinities among them.
        var random = new Random(width * 31 + kernel);
        float[] x = Enumerable.Range(0, batch * channels * height * width).Select(_ => random.Next(100) switch
        {
            < 2 => float.NaN,
            < 4 => float.NegativeInfinity,
            var r => (r % 7) - 3f,
        }).ToArray();
        var y = new float[batch * g.Channels * g.OutHeight * g.OutWidth];
        var argmax = new int[y.Length];
        Kernels.MaxPool2dForward(y, argmax, x, batch, g);
        int vectors = 0;
        for (int plane = 0; plane < batch * channels; plane++)
        {
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                for (int ow = 0; ow < g.OutWidth; ow++)
                {
                    // at::native max_pool2d: the first valid position, then any value above the best or NaN.
                    float best = float.NegativeInfinity;
                    int index = -1;
                    for (int kh = 0; kh < kernel; kh++)
                    {
                        for (int kw = 0; kw < kernel; kw++)
                        {
                            int ih = oh * stride - pad + kh * dilation, iw = ow * stride - pad + kw * dilation;
                            if (ih < 0 || ih >= height || iw < 0 || iw >= width) continue;
                            float v = x[plane * height * width + ih * width + iw];
                            if (index < 0) index = ih * width + iw;
                            if (v > best || float.IsNaN(v)) (best, index) = (v, ih * width + iw);
                        }
                    }
                    int at = (plane * g.OutHeight + oh) * g.OutWidth + ow;
                    Assert.True(BitConverter.SingleToInt32Bits(best) == BitConverter.SingleToInt32Bits(y[at]) && index == argmax[at],
                        $"plane {plane}, output ({oh}, {ow}): expected {best} at {index}, got {y[at]} at {argmax[at]}");
                    if (ow * stride - pad >= 0 && ow * stride - pad + span <= width) vectors++;
                }
            }
        }
        Assert.True(vectors > 0);
    }

    [Fact]
    public void Convolution_through_pooling_refuses_a_pooling_of_another_shape()
    {
        var conv = new Conv2dGeometry(1, 28, 28, 6, 28, 28, 5, 5, 1, 1, 2, 2);
        var pool = new Pool2dGeometry(6, 24, 24, 12, 12, 2, 2, 2, 2);
        var backward = Assert.Throws<ArgumentException>(() => Kernels.Conv2dSigmoidAvgPool2dBackward(default, new float[150], new float[6], new float[4704],
            new float[864], new float[4704], new float[784], new float[150], 1, conv, pool, true, 0));
        var forward = Assert.Throws<ArgumentException>(() => Kernels.Conv2dSigmoidAvgPool2dForward(new float[4704], new float[864], new float[784], new float[150],
            new float[6], 1, conv, pool, true, 0));
        foreach (ArgumentException error in new[] { backward, forward })
        {
            Assert.Contains("6 x 24 x 24", error.Message);
            Assert.Contains("6 x 28 x 28", error.Message);
        }
    }
}
