using System;
using System.Linq;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

/// <summary>Network.PrepackWeights: Infer reads Linear weights packed once instead of packing them on every call.</summary>
public class PrepackTests
{
    private static float[] Run(Network net, int batch, bool infer, int seed = 1)
    {
        float[] input = NetworkCases.RandomFloats(batch * net.SampleInputSize, seed, scale: 2f);
        var output = new float[batch * net.SampleOutputSize];
        output.AsSpan().Fill(float.NaN);
        if (infer) net.Infer(input, output);
        else net.Forward(input, output);
        return output;
    }

    private static void AssertSameBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}, output {i}: {actual[i]} against {expected[i]}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Prepacked_Infer_gives_Forwards_bits_where_Forward_runs_the_packed_product_too(int threads)
    {
        // From Kernels.StreamedRows rows up (with AVX-512 83 for 784 in features and 8 for 100 and 40, off a multiple of
        // 16; without it 96, 8 and 15) Forward packs the weight on every call and sums in the same order as the prepacked
        // product; under 8 rows neither packs, nor under 15 for the 40 in features without AVX-512. Two threads split the
        // prepacked product by columns (its first call splits: SplitCalibration).
        NetworkCases.OnThreads(threads, () =>
        {
            var mlp = new FashionMlpPlain(128, 3);
            var edges = new PrepackEdges(64, 4);
            Assert.Same(mlp, mlp.PrepackWeights());
            edges.PrepackWeights();
            Assert.True(mlp.WeightsPrepacked && edges.WeightsPrepacked);
            int streamed = Kernels.StreamedRows(784);
            foreach ((Network net, int batch) in new (Network, int)[] { (mlp, 1), (mlp, 7), (mlp, streamed), (mlp, 100), (mlp, 128), (edges, 1), (edges, 8), (edges, 13), (edges, 64) })
            {
                AssertSameBits(Run(net, batch, infer: false), Run(net, batch, infer: true), $"{net.GetType().Name}, batch {batch}, {threads} threads");
            }
        });
    }

    [Fact]
    public void Under_the_streamed_rows_prepacked_Infer_is_the_packed_product()
    {
        // 24 rows of the 784-256 layer: Forward reads the weight in place (dot products), prepacked Infer runs the packed
        // product on the packed copy (from 8 rows with AVX-512, 24 with AVX2), whose bits are those of the packed product
        // on W itself.
        const int batch = 24;
        var net = new FashionMlpPlain(batch, 5);
        if (!PackedGemm.IsSupported)
        {
            // No packed product on this machine (neither AVX2 nor AVX-512): nothing is prepacked, Infer is Forward.
            float[] plain = Run(net, batch, infer: false);
            AssertSameBits(plain, Run(net.PrepackWeights(), batch, infer: true), "Infer without a packed product");
            return;
        }
        Assert.True(batch < Kernels.StreamedRows(784) && batch >= Kernels.PrepackedRows);
        float[] input = NetworkCases.RandomFloats(batch * 784, 1, scale: 2f);
        var layer1 = (Linear)net.Modules().First(m => m is Linear { OutFeatures: 256 });
        var layer2 = (Linear)net.Modules().First(m => m is Linear { OutFeatures: 10 });
        var hidden = new float[batch * 256];
        PackedGemm.MultiplyAddBias(ref hidden[0], ref input[0], 784, 1, ref layer1.Weight.Data[0], 1, 784, batch, 256, 784, ref layer1.Bias!.Data[0], relu: true);
        var expected = new float[batch * 10];
        Kernels.LinearForward(expected, hidden, layer2.Weight.Data, layer2.Bias!.Data, batch, 256, 10);

        float[] forward = Run(net, batch, infer: false);
        net.PrepackWeights();
        float[] prepacked = Run(net, batch, infer: true);
        AssertSameBits(expected, prepacked, "prepacked Infer against the packed product");
        // Within float rounding of Forward's dot products, and not the same path (these inputs round differently somewhere).
        for (int i = 0; i < forward.Length; i++) Assert.True(Math.Abs(prepacked[i] - forward[i]) <= 1e-5f * (1 + Math.Abs(forward[i])), $"output {i}: {prepacked[i]} against {forward[i]}");
        Assert.Contains(Enumerable.Range(0, forward.Length), i => forward[i] != prepacked[i]);

        net.PrepackWeights(false);
        Assert.False(net.WeightsPrepacked);
        AssertSameBits(forward, Run(net, batch, infer: true), "Infer after PrepackWeights(false)");
    }

    [Fact]
    public void Prepacked_weights_follow_every_change_made_through_the_library()
    {
        var net = new PrepackEdges(8, 6);
        net.PrepackWeights();
        void Check(string after) => AssertSameBits(Run(net, 8, infer: false), Run(net, 8, infer: true), after);
        Check("the first Infer");
        var first = (Linear)net.Modules().First(m => m is Linear);

        first.Weight.Data[5] += 1f;
        Check("a write through Parameter.Data");

        Span<float> arena = net.ParameterArena;
        arena[17] -= 0.5f;
        Check("a write through ParameterArena");

        first.Weight.DataMemory.Span[40] = 3f;
        Check("a write through Parameter.DataMemory");

        var sgd = new SGD(net.Parameters(), lr: 0.5f);
        float[] x = NetworkCases.RandomFloats(8 * 100, 9);
        var y = new float[8 * 3];
        net.Forward(x, y);
        net.Backward(y);
        sgd.Step();
        Check("an optimizer step");

        // A view taken before an Infer and written after it: PrepackWeights again packs anew.
        Span<float> early = first.Weight.Data;
        Check("taking a view");
        early[3] = -2f;
        net.PrepackWeights();
        Check("a write through an earlier view, then PrepackWeights again");

        var other = new PrepackEdges(8, 77);
        net.LoadStateDict(other.StateDict());
        Check("LoadStateDict");
        AssertSameBits(Run(other, 8, infer: false), Run(net, 8, infer: true), "LoadStateDict against its source");
    }

    [Fact]
    public void Prepacked_Infer_allocates_nothing_once_packed()
    {
        var net = new FashionMlpPlain(32, 2);
        net.PrepackWeights();
        float[] input = NetworkCases.RandomFloats(32 * 784, 3);
        var output = new float[32 * 10];
        for (int i = 0; i < 3; i++) net.Infer(input, output);
        // The least over a few rounds, as in AllocationTests: the JIT may still allocate while it recompiles hot methods.
        long least = long.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++) net.Infer(input, output);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, least);
    }

    [Fact]
    public void Only_layers_on_the_packed_product_are_prepacked()
    {
        // Layers of at most 16 outputs run NarrowLinear or SmallLinear, which read the weight as it is.
        Assert.Equal(PackedGemm.IsSupported, Kernels.PrepacksLinear(784, 256));
        Assert.False(Kernels.PrepacksLinear(256, 10));
        Assert.False(Kernels.PrepacksLinear(2, 16));
        var net = new FashionMlpPlain(8, 1);
        Assert.Equal(PackedGemm.IsSupported ? PackedGemm.PackedWeightLength(256, 784) + 16 : 0, new PrepackedWeights(net).Length);
    }
}
