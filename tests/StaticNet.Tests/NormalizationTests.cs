using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using StaticNet.Tests.Networks;
using StaticNet.Tests.Reference;
using Xunit;

namespace StaticNet.Tests;

/// <summary>
/// BatchNorm1d, BatchNorm2d and LayerNorm: finite differences in training mode, PyTorch parity of outputs, gradients and
/// running statistics (fixtures from tests/fixtures/make_fixtures.py), buffers in the state_dict, and their edge cases.
/// </summary>
public class NormalizationTests
{
    private static readonly Fixture Torch = new("normalization.safetensors");

    public static TheoryData<string> NormalizationCases => new(
        nameof(BnMlp), nameof(Bn1dSeq), nameof(Bn2d), nameof(Bn2dPlain), nameof(LnMlp), nameof(Ln2), nameof(LnPlain), nameof(LnNoBias),
        nameof(BnFirst), nameof(NormComposite), nameof(TinyResNet), nameof(BnReluMlp), nameof(ResidualReluNet));

    [Theory]
    [MemberData(nameof(NormalizationCases))]
    public void Backward_matches_finite_differences_in_training_mode(string name)
    {
        NetworkCases.Case c = NetworkCases.All[name];
        Network net = c.Create(4, 13);
        net.Train();
        GradientCheck.Run(net, c.InputShape, batch: 4, name, training: true);
    }

    public static TheoryData<string> TorchNames => new("bn_mlp", "bn1d_seq", "bn2d", "bn2d_plain", "ln", "ln2", "ln_plain", "ln_no_bias");

    private static Network Create(string name) => name switch
    {
        "bn_mlp" => new BnMlp(6),
        "bn1d_seq" => new Bn1dSeq(6),
        "bn2d" => new Bn2d(6),
        "bn2d_plain" => new Bn2dPlain(6),
        "ln" => new LnMlp(6),
        "ln2" => new Ln2(6),
        "ln_plain" => new LnPlain(6),
        "ln_no_bias" => new LnNoBias(6),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(TorchNames))]
    public void Training_steps_running_statistics_and_eval_match_pytorch(string name) => TrainedParity.Check(Torch, name, Create(name));

    [Fact]
    public void A_pytorch_state_dict_with_buffers_loads_strictly_and_reproduces_pytorch()
    {
        var net = new BnMlp(5);
        Assert.True(Safetensors.Load(net, FixturePath("bn_mlp_state_dict.safetensors")).IsExactMatch);
        Assert.Equal(Torch.Ints("bn_mlp.stepped.1.num_batches_tracked")[0], net.NamedBuffers().Single(b => b.Name == "1.num_batches_tracked").Buffer.Int64Data[0]);
        net.Eval();
        var output = new float[20];
        net.Forward(Torch.Floats("bn_mlp.eval.input"), output);
        AssertClose(Torch.Floats("bn_mlp.eval.output"), output, "bn_mlp loaded from PyTorch's state_dict");
    }

    [Fact]
    public void Saved_batch_norm_network_matches_the_committed_file_pytorch_checks()
    {
        // make_fixtures.py loads staticnet_saved_bn.safetensors into nn.Sequential with strict=True and compares outputs.
        var net = new BnMlp(8, seed: 21);
        NetworkCases.RandomizeNormalization(net, 5);
        float[] batch = NetworkCases.RandomFloats(8 * 6, 3, 2f);
        var output = new float[32];
        net.Train();
        for (int i = 0; i < 3; i++) net.Forward(batch, output); // moves the running statistics, counts 3 batches
        net.Eval();
        float[] input = NetworkCases.RandomFloats(5 * 6, 4, 2f);
        var evalOutput = new float[20];
        net.Forward(input, evalOutput);

        string dir = Directory.CreateTempSubdirectory("saved-bn").FullName;
        try
        {
            string path = Path.Combine(dir, "staticnet_saved_bn.safetensors"), ioPath = Path.Combine(dir, "staticnet_saved_bn_io.safetensors");
            Safetensors.Save(net, path);
            using var file = SafetensorsFile.Open(path);
            Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked", "3.weight", "3.bias"],
                file.Tensors.Select(t => t.Name));
            Assert.Equal("I64", file.Find("1.num_batches_tracked")!.DType);
            Assert.Empty(file.Find("1.num_batches_tracked")!.Shape);

            var copy = new BnMlp(8, seed: 99);
            Assert.True(Safetensors.Load(copy, path).IsExactMatch);
            Assert.Equal(net.ParameterArena.ToArray(), copy.ParameterArena.ToArray());
            Assert.Equal(net.BufferArena.ToArray(), copy.BufferArena.ToArray());
            Assert.Equal(3, copy.NamedBuffers().Single(b => b.Name == "1.num_batches_tracked").Buffer.Int64Data[0]);

            Safetensors.Write(ioPath, [("input", [5, 6], input), ("output", [5, 4], evalOutput)], new Dictionary<string, string>());
            string committed = Path.Combine(SourceFixtures(), "staticnet_saved_bn.safetensors"), committedIo = Path.Combine(SourceFixtures(), "staticnet_saved_bn_io.safetensors");
            if (Environment.GetEnvironmentVariable("STATICNET_ACCEPT_SNAPSHOTS") == "1")
            {
                File.Copy(path, committed, overwrite: true);
                File.Copy(ioPath, committedIo, overwrite: true);
            }
            // Running statistics depend on the SIMD width in their last bits, so the committed file is compared by value.
            var saved = new Fixture(committed);
            foreach ((string name, StateTensor tensor) in net.StateDict())
            {
                if (tensor is ModuleBuffer { DType: TensorDType.I64 } counter) Assert.Equal(counter.Int64Data[0], saved.Ints(name)[0]);
                else AssertClose(saved.Floats(name), tensor.FloatMemory.ToArray(), $"committed {name}", 1e-6);
            }
            var io = new Fixture(committedIo);
            Assert.Equal(input, io.Floats("input"));
            AssertClose(io.Floats("output"), evalOutput, "committed output", 1e-5);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void State_dict_lists_each_modules_parameters_then_its_buffers_then_its_children()
    {
        var net = new NormComposite(2);
        Assert.Equal(
        [
            "0.weight", "0.bias",
            "1.block.0.weight", "1.block.0.bias",
            "1.block.1.weight", "1.block.1.bias", "1.block.1.running_mean", "1.block.1.running_var", "1.block.1.num_batches_tracked",
            "again.0.weight", "again.0.bias",
            "again.1.weight", "again.1.bias", "again.1.running_mean", "again.1.running_var", "again.1.num_batches_tracked",
            "3.weight", "3.bias",
        ], net.StateDict().Select(t => t.Name));
        Assert.Equal(["1.block.1.running_mean", "1.block.1.running_var", "1.block.1.num_batches_tracked",
            "again.1.running_mean", "again.1.running_var", "again.1.num_batches_tracked"], net.NamedBuffers().Select(b => b.Name));
        // The two blocks' buffers are separate stretches of one arena.
        Assert.Equal(20, net.BufferArena.Length);
        net.NamedBuffers().First(b => b.Name == "again.1.running_mean").Buffer.Data[0] = 42;
        Assert.Equal(42, net.BufferArena[10]);
        Assert.Equal("BatchNorm1d(5, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)", net.Modules().OfType<BatchNorm>().First().ToString());
        Assert.Equal("LayerNorm((5,), eps=1e-05, elementwise_affine=True)", net.Modules().OfType<LayerNorm>().Single().ToString());
    }

    [Fact]
    public void Training_counts_batches_and_moves_the_running_statistics_eval_leaves_them()
    {
        var net = new BnMlp(4, seed: 2);
        BatchNorm bn = net.Modules().OfType<BatchNorm>().Single();
        float[] input = NetworkCases.RandomFloats(24, 1, 3f);
        var output = new float[16];
        net.Forward(input, output);
        net.Forward(input, output);
        Assert.Equal(2, bn.NumBatchesTracked!.Int64Data[0]);
        Assert.DoesNotContain(0f, bn.RunningMean!.Data.ToArray());
        float[] mean = bn.RunningMean.Data.ToArray(), variance = bn.RunningVar!.Data.ToArray();
        net.Eval();
        net.Forward(input, output);
        Assert.Equal(2, bn.NumBatchesTracked.Int64Data[0]);
        Assert.Equal(mean, bn.RunningMean.Data.ToArray());
        Assert.Equal(variance, bn.RunningVar.Data.ToArray());

        // ResetParameters resets the running statistics too, as PyTorch's reset_parameters() does.
        net.ResetParameters();
        Assert.All(bn.RunningMean.Data.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(bn.RunningVar.Data.ToArray(), v => Assert.Equal(1f, v));
        Assert.Equal(0, bn.NumBatchesTracked.Int64Data[0]);
    }

    [Fact]
    public void Optimizers_never_touch_buffers()
    {
        var net = new Bn2d(4, seed: 3);
        float[] input = NetworkCases.RandomFloats(4 * 24, 1, 2f);
        var output = new float[16];
        net.Forward(input, output);
        net.Backward(NetworkCases.RandomFloats(16, 2));
        float[] buffers = net.BufferArena.ToArray();
        new SGD(net.Parameters(), lr: 0.5f, momentum: 0.9f, weightDecay: 0.1f).Step();
        new AdamW(net.Parameters(), lr: 0.5f, weightDecay: 0.1f).Step();
        net.ZeroGrad();
        Assert.Equal(buffers, net.BufferArena.ToArray());
        Assert.DoesNotContain(net.Parameters(), p => p.Numel == 2 && p.Data.ToArray().All(v => v == 1f)); // the BatchNorm weight moved
    }

    [Fact]
    public void A_training_batch_of_one_value_per_channel_is_refused_before_anything_changes()
    {
        var net = new BnMlp(4, seed: 1);
        BatchNorm bn = net.Modules().OfType<BatchNorm>().Single();
        var output = new float[4];
        var e = Assert.Throws<ArgumentException>(() => net.Forward(NetworkCases.RandomFloats(6, 1), output));
        Assert.Equal("BatchNorm1d expects more than 1 value per channel when training, but the batch of 1 sample(s) has 1 per channel. (Parameter 'input')", e.Message);
        Assert.Equal(0, bn.NumBatchesTracked!.Int64Data[0]);
        Assert.Throws<InvalidOperationException>(() => net.Backward(new float[4])); // no saved activations

        // In eval mode the running statistics serve a batch of one, as in PyTorch.
        net.Eval();
        net.Forward(NetworkCases.RandomFloats(6, 1), output);
        Assert.All(output, v => Assert.True(float.IsFinite(v)));

        // A BatchNorm2d has H * W values per channel in each sample, so a batch of one trains.
        var conv = new Bn2d(1, seed: 1);
        conv.Forward(NetworkCases.RandomFloats(24, 2), new float[4]);
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        (float[], float[], float[]) Run(int threads)
        {
            return NetworkCases.OnThreads(threads, () =>
            {
                var net = new NormComposite(64, 4);
                float[] input = NetworkCases.RandomFloats(64 * 5, 1, 2f);
                var output = new float[128];
                net.Forward(input, output);
                net.Backward(NetworkCases.RandomFloats(128, 2));
                return (output, net.GradientArena.ToArray(), net.BufferArena.ToArray());
            });
        }
        var one = Run(1);
        foreach (int threads in new[] { 2, 3 })
        {
            var many = Run(threads);
            Assert.Equal(one.Item1, many.Item1);
            Assert.Equal(one.Item2, many.Item2);
            Assert.Equal(one.Item3, many.Item3);
        }
    }

    [Fact]
    public void BatchNorm2d_kernels_split_by_channels_give_the_same_bits_on_any_thread_count()
    {
        // 16 samples of 7 channels of 28 x 28: enough values to split, 7 channels over 2 or 3 parts unevenly. The first
        // calls of a split site alternate split and alone while it is measured: both ways run and must agree.
        const int batch = 16, channels = 7, spatial = 784;
        float[] x = NetworkCases.RandomFloats(batch * channels * spatial, 1, 3f), dy = NetworkCases.RandomFloats(x.Length, 2);
        float[] weight = NetworkCases.RandomFloats(channels, 3), bias = NetworkCases.RandomFloats(channels, 4);
        float[] Run(int threads, bool training) => NetworkCases.OnThreads(threads, () =>
        {
            var results = new System.Collections.Generic.List<float>();
            float[] runningMean = NetworkCases.RandomFloats(channels, 5), runningVar = Enumerable.Repeat(1.5f, channels).ToArray();
            for (int call = 0; call < 3; call++)
            {
                float[] y = new float[x.Length], mean = new float[channels], rstd = new float[channels];
                float[] dx = new float[x.Length], dw = new float[channels], db = new float[channels];
                Kernels.BatchNormForward(y, mean, rstd, x, weight, bias, runningMean, runningVar, batch, channels, spatial, 1e-5f, 0.1f, training);
                Kernels.BatchNormBackward(dx, dw, db, dy, x, mean, rstd, weight, batch, channels, spatial, training);
                results.AddRange(y.Concat(mean).Concat(rstd).Concat(dx).Concat(dw).Concat(db).Concat(runningMean).Concat(runningVar));
            }
            return results.ToArray();
        });
        foreach (bool training in new[] { true, false })
        {
            float[] one = Run(1, training);
            Assert.Equal(one, Run(2, training));
            Assert.Equal(one, Run(3, training));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(784)]
    public void BatchNorm_and_ReLU_kernels_give_the_bits_of_the_two_layers_on_any_thread_count(int spatial)
    {
        // BatchNormReluForward against BatchNormForward then ReluForward, and BatchNormReluBackward against ReluBackward then
        // BatchNormBackward (its output gradient left masked), in training and eval mode, on 1 to 3 threads; about half
        // the outputs are negative, and a few are exactly 0 (the mask keeps gradients only where the output is above 0).
        const int batch = 16, channels = 7;
        float[] x = NetworkCases.RandomFloats(batch * channels * spatial, 1, 3f), dy = NetworkCases.RandomFloats(x.Length, 2);
        float[] weight = NetworkCases.RandomFloats(channels, 3), bias = NetworkCases.RandomFloats(channels, 4);
        bias[2] = 0f;
        weight[2] = 0f; // channel 2's outputs are all exactly 0: its gradients all masked
        foreach (bool training in new[] { true, false })
        {
            float[] Run(int threads, bool fused) => NetworkCases.OnThreads(threads, () =>
            {
                var results = new List<float>();
                float[] runningMean = NetworkCases.RandomFloats(channels, 5), runningVar = Enumerable.Repeat(1.5f, channels).ToArray();
                for (int call = 0; call < 3; call++)
                {
                    float[] y = new float[x.Length], mean = new float[channels], rstd = new float[channels], g = (float[])dy.Clone();
                    float[] dx = new float[x.Length], dw = new float[channels], db = new float[channels];
                    if (fused)
                    {
                        Kernels.BatchNormReluForward(y, mean, rstd, x, weight, bias, runningMean, runningVar, batch, channels, spatial, 1e-5f, 0.1f, training);
                        Kernels.BatchNormReluBackward(dx, dw, db, g, y, x, mean, rstd, weight, batch, channels, spatial, training);
                    }
                    else
                    {
                        float[] normalised = new float[x.Length];
                        Kernels.BatchNormForward(normalised, mean, rstd, x, weight, bias, runningMean, runningVar, batch, channels, spatial, 1e-5f, 0.1f, training);
                        Kernels.ReluForward(y, normalised);
                        float[] masked = new float[x.Length];
                        Kernels.ReluBackward(masked, dy, y);
                        Kernels.BatchNormBackward(dx, dw, db, masked, x, mean, rstd, weight, batch, channels, spatial, training);
                        g = masked;
                    }
                    results.AddRange(y.Concat(mean).Concat(rstd).Concat(g).Concat(dx).Concat(dw).Concat(db).Concat(runningMean).Concat(runningVar));
                }
                return results.ToArray();
            });
            float[] expected = Run(1, fused: false);
            Assert.Contains(expected.Take(x.Length), v => v == 0f);
            Assert.Contains(expected.Take(x.Length), v => v > 0f);
            foreach (int threads in new[] { 1, 2, 3 }) Assert.Equal(expected, Run(threads, fused: true));
        }
    }

    [Fact]
    public void BatchNormReluBackward_names_a_bad_output()
    {
        float[] x = new float[8], stats = new float[2];
        var e = Assert.Throws<ArgumentException>(() => Kernels.BatchNormReluBackward(new float[8], default, default, new float[8], new float[6], x, stats, stats,
            default, 4, 2, 1, true));
        Assert.Equal("output", e.ParamName);
        Assert.Contains("6", e.Message);
        float[] shared = new float[8];
        e = Assert.Throws<ArgumentException>(() => Kernels.BatchNormReluBackward(new float[8], default, default, shared, shared, x, stats, stats,
            default, 4, 2, 1, true));
        Assert.Equal("outputGrad", e.ParamName);
    }

    private static void AssertClose(IReadOnlyList<float> expected, IReadOnlyList<float> actual, string what, double relative = 1e-5) =>
        TrainedParity.AssertClose(expected, actual, what, relative);

    private static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", name);

    private static string SourceFixtures([CallerFilePath] string thisFile = "") =>
        Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "fixtures");
}
