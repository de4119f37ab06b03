using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace StaticNet.Tests;

/// <summary>Every exported network runs in ONNX Runtime and gives StaticNet's eval-mode outputs (1e-5 relative).</summary>
public class OnnxTests
{
    /// <summary>Networks whose layers have no exact ONNX form: BatchNorm without running statistics, adaptive pooling with unequal bins.</summary>
    private static readonly HashSet<string> NotExportable = new(StringComparer.Ordinal) { nameof(Networks.Bn2dPlain), nameof(Networks.Adaptive), nameof(Networks.Adaptive1d) };

    public static TheoryData<string> Exportable => new(NetworkCases.All.Keys.Where(k => !NotExportable.Contains(k)));

    [Theory]
    [MemberData(nameof(Exportable))]
    public void Exported_network_runs_in_onnx_runtime_and_matches(string name)
    {
        NetworkCases.Case c = NetworkCases.All[name];
        Network net = c.Create(4, 3);
        // Running statistics away from their defaults, so that eval-mode BatchNorm is really checked.
        Train(net, 4);
        net.Eval();
        float[] input = NetworkCases.RandomFloats(4 * net.SampleInputSize, 7, 2f);
        var expected = new float[4 * net.SampleOutputSize];
        net.Forward(input, expected);
        float[] actual = RunOnnx(Onnx.ToBytes(net), input, [4, .. net.SampleInputShape.ToArray()]);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 + 1e-5 * Math.Abs(expected[i]), $"{name} output {i}: StaticNet {expected[i]}, ONNX Runtime {actual[i]}");
        }
    }

    [Theory]
    [InlineData(nameof(Networks.Bn2dPlain), "keeps no running statistics")]
    [InlineData(nameof(Networks.Adaptive), "bins of unequal sizes")]
    [InlineData(nameof(Networks.Adaptive1d), "(AdaptiveAvgPool1d) maps length 11 to 4: bins of unequal sizes")]
    public void Layers_without_an_onnx_form_are_refused_by_name(string name, string reason)
    {
        Network net = NetworkCases.All[name].Create(2, 1);
        var e = Assert.Throws<NotSupportedException>(() => Onnx.ToBytes(net));
        Assert.Contains(reason, e.Message);
        Assert.Contains("Layer '", e.Message);
    }

    private static string FixturePath(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", name);

    [Theory]
    [InlineData("bn_mlp.onnx", "normalization.safetensors", "bn_mlp")]
    [InlineData("ln.onnx", "normalization.safetensors", "ln")]
    [InlineData("lenet.onnx", "convolution.safetensors", "lenet")]
    public void Weights_exported_by_pytorch_load_strictly_and_reproduce_pytorch(string file, string fixture, string name)
    {
        Network net = name switch
        {
            "bn_mlp" => new Networks.BnMlp(5),
            "ln" => new Networks.LnMlp(5),
            _ => new Networks.D2lLeNet(5),
        };
        LoadResult result = Onnx.LoadWeights(net, FixturePath(file));
        Assert.True(result.IsExactMatch);
        net.Eval();
        var torch = new Reference.Fixture(fixture);
        var output = new float[5 * net.SampleOutputSize];
        net.Forward(torch.Floats(name + ".eval.input"), output);
        Reference.TrainedParity.AssertClose(torch.Floats(name + ".eval.output"), output, $"{name} loaded from PyTorch's ONNX export");
    }

    [Fact]
    public void Weights_pytorch_folded_load_in_part_and_the_rest_is_reported()
    {
        // PyTorch's exporter folds each eval-mode Conv2d + BatchNorm2d into one Conv with new weight names.
        var net = new Networks.TinyResNet(2);
        Assert.Throws<StateDictMismatchException>(() => Onnx.LoadWeights(net, FixturePath("tiny_resnet.onnx")));
        LoadResult result = Onnx.LoadWeights(net, FixturePath("tiny_resnet.onnx"), strict: false);
        Assert.Contains("0.block.0.weight", result.MissingKeys);
        Assert.Contains("0.block.1.running_mean", result.MissingKeys);
        Assert.DoesNotContain("2.block.0.weight", result.MissingKeys);
        Assert.Contains("onnx::Conv_42", result.UnexpectedKeys);
    }

    [Fact]
    public void Exported_weights_load_back_bit_for_bit_buffers_included()
    {
        var source = new Networks.D2lLeNetBatchNorm(8, 5);
        Train(source, 8);
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".onnx");
        try
        {
            Onnx.Export(source, path);
            var copy = new Networks.D2lLeNetBatchNorm(8, 9);
            Assert.True(Onnx.LoadWeights(copy, path).IsExactMatch);
            Assert.Equal(source.ParameterArena.ToArray(), copy.ParameterArena.ToArray());
            Assert.Equal(source.BufferArena.ToArray(), copy.BufferArena.ToArray());
            Assert.Equal(source.NamedBuffers().Where(b => b.Buffer.DType == TensorDType.I64).Select(b => b.Buffer.Int64Data[0]),
                copy.NamedBuffers().Where(b => b.Buffer.DType == TensorDType.I64).Select(b => b.Buffer.Int64Data[0]));
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    /// <summary>
    /// Networks with a fixed seed and no training, so the files are the same on every machine: make_fixtures.py runs
    /// onnx.checker.check_model on them (the committed copies are rewritten with STATICNET_ACCEPT_SNAPSHOTS=1).
    /// </summary>
    [Theory]
    [InlineData(nameof(Networks.D2lLeNetBatchNorm))]
    [InlineData(nameof(Networks.TinyResNet))]
    [InlineData(nameof(Networks.Rank2Net))]
    [InlineData(nameof(Networks.Rectangular))]
    [InlineData(nameof(Networks.Depthwise))]
    [InlineData(nameof(Networks.LnNoBias))]
    [InlineData(nameof(Networks.Signal1d))]
    public void Exported_files_match_the_committed_ones_the_onnx_checker_accepts(string name)
    {
        Network net = name == nameof(Networks.D2lLeNetBatchNorm) ? new Networks.D2lLeNetBatchNorm(1, 3) : NetworkCases.All[name].Construct(1, 3);
        byte[] bytes = Onnx.ToBytes(net);
        string committed = System.IO.Path.Combine(SourceFixtures(), $"staticnet_exported_{name}.onnx");
        if (Environment.GetEnvironmentVariable("STATICNET_ACCEPT_SNAPSHOTS") == "1") System.IO.File.WriteAllBytes(committed, bytes);
        Assert.Equal(System.IO.File.ReadAllBytes(committed), bytes);
    }

    private static string SourceFixtures([System.Runtime.CompilerServices.CallerFilePath] string thisFile = "") =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(thisFile)!, "..", "fixtures");

    internal static float[] RunOnnx(byte[] model, float[] input, int[] shape)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        var tensor = new DenseTensor<float>(input, shape);
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run([NamedOnnxValue.CreateFromTensor("input", tensor)]);
        DisposableNamedOnnxValue output = Assert.Single(results);
        Assert.Equal("output", output.Name);
        return output.AsTensor<float>().ToArray();
    }

    /// <summary>A few training-mode steps (SGD on a random target), so that BatchNorm's running statistics and counts move.</summary>
    private static void Train(Network net, int batch)
    {
        if (!net.Parameters().Any()) return;
        var sgd = new SGD(net.Parameters(), lr: 0.01f);
        for (int step = 0; step < 3; step++)
        {
            net.Train();
            float[] x = NetworkCases.RandomFloats(batch * net.SampleInputSize, 10 + step, 2f);
            var y = new float[batch * net.SampleOutputSize];
            net.Forward(x, y);
            net.ZeroGrad();
            net.Backward(NetworkCases.RandomFloats(y.Length, 20 + step));
            sgd.Step();
        }
    }
}
