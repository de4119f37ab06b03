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
    private static readonly HashSet<string> NotExportable = new(StringComparer.Ordinal) { nameof(Networks.Bn2dPlain), nameof(Networks.Adaptive) };

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
    public void Layers_without_an_onnx_form_are_refused_by_name(string name, string reason)
    {
        Network net = NetworkCases.All[name].Create(2, 1);
        var e = Assert.Throws<NotSupportedException>(() => Onnx.ToBytes(net));
        Assert.Contains(reason, e.Message);
        Assert.Contains("Layer '", e.Message);
    }

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
