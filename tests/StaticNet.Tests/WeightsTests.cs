using System;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using StaticNet.Tests.Networks;
using StaticNet.Tests.Reference;
using Xunit;

namespace StaticNet.Tests;

/// <summary>Weights from PyTorch load into the matching network and reproduce PyTorch's outputs; StaticNet's load back in PyTorch.</summary>
public class WeightsTests
{
    private static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", name);

    [Theory]
    [InlineData("f32")]
    [InlineData("f16")]
    [InlineData("bf16")]
    [InlineData("f64")]
    public void PyTorch_weights_load_and_reproduce_pytorch_outputs(string dtype)
    {
        var net = new Interchange(6);
        net.Eval();
        LoadResult result = Safetensors.Load(net, FixturePath($"weights_{dtype}.safetensors"), strict: dtype != "f32");
        // The f32 file also holds a buffer the network has no parameter for, as a real state_dict may.
        Assert.Equal(dtype == "f32" ? ["extra.num_batches_tracked"] : [], result.UnexpectedKeys);
        Assert.Empty(result.MissingKeys);

        var io = new Fixture($"weights_{dtype}_io.safetensors");
        var output = new float[18];
        net.Forward(io.Floats("input"), output);
        float[] expected = io.Floats("output");
        for (int i = 0; i < output.Length; i++)
        {
            Assert.True(Math.Abs(output[i] - expected[i]) <= 1e-5 + 1e-5 * Math.Abs(expected[i]), $"{dtype} output {i}: {output[i]} vs PyTorch {expected[i]}");
        }
    }

    [Fact]
    public void Strict_load_reports_every_mismatch_at_once_and_loads_nothing()
    {
        var net = new InterchangeVariant(1, 3);
        float[] before = net.ParameterArena.ToArray();
        var e = Assert.Throws<StateDictMismatchException>(() => Safetensors.Load(net, FixturePath("weights_f32.safetensors")));
        Assert.Equal(["extra.weight", "extra.bias"], e.Result.MissingKeys);
        Assert.Equal(["extra.num_batches_tracked"], e.Result.UnexpectedKeys);
        Assert.Equal(["5.weight is [3, 8] in the file but [4, 8] in the module", "5.bias is [3] in the file but [4] in the module"], e.Result.ShapeMismatches);
        Assert.Contains("Nothing was loaded", e.Message);
        Assert.Equal(before, net.ParameterArena.ToArray());

        LoadResult partial = Safetensors.Load(net, FixturePath("weights_f32.safetensors"), strict: false);
        Assert.Equal(e.Result.MissingKeys, partial.MissingKeys);
        var reference = new Interchange(1);
        Safetensors.Load(reference, FixturePath("weights_f32.safetensors"), strict: false);
        Assert.Equal(reference.ParameterArena[..(16 * 12 + 12 + 12 * 8 + 8)].ToArray(), net.ParameterArena[..(16 * 12 + 12 + 12 * 8 + 8)].ToArray());
    }

    [Fact]
    public void Saved_weights_round_trip_and_match_the_committed_file_pytorch_checks()
    {
        // make_fixtures.py loads staticnet_saved.safetensors into nn.Sequential and checks the outputs in _io against PyTorch's.
        var net = new Interchange(6, seed: 11);
        net.Eval();
        float[] input = NetworkCases.RandomFloats(6 * 16, 12);
        var output = new float[18];
        net.Forward(input, output);

        string dir = Directory.CreateTempSubdirectory("saved").FullName;
        try
        {
            string path = Path.Combine(dir, "staticnet_saved.safetensors");
            Safetensors.Save(net, path);
            var copy = new Interchange(6, seed: 99);
            Assert.True(Safetensors.Load(copy, path).IsExactMatch);
            Assert.Equal(net.ParameterArena.ToArray(), copy.ParameterArena.ToArray());

            string ioPath = Path.Combine(dir, "staticnet_saved_io.safetensors");
            Safetensors.Write(ioPath, [("input", [6, 1, 4, 4], input), ("output", [6, 3], output)], new System.Collections.Generic.Dictionary<string, string>());
            string committed = Path.Combine(SourceFixtures(), "staticnet_saved.safetensors"), committedIo = Path.Combine(SourceFixtures(), "staticnet_saved_io.safetensors");
            if (Environment.GetEnvironmentVariable("STATICNET_ACCEPT_SNAPSHOTS") == "1")
            {
                File.Copy(path, committed, overwrite: true);
                File.Copy(ioPath, committedIo, overwrite: true);
            }
            Assert.Equal(File.ReadAllBytes(committed), File.ReadAllBytes(path));
            // The outputs depend on the SIMD width in their last bits (fused multiply-adds, summation order), so within 1e-6.
            var io = new Fixture(committedIo);
            Assert.Equal(input, io.Floats("input"));
            float[] expected = io.Floats("output");
            for (int i = 0; i < output.Length; i++) Assert.True(Math.Abs(output[i] - expected[i]) <= 1e-6f, $"output {i}: {output[i]} vs {expected[i]}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string SourceFixtures([CallerFilePath] string thisFile = "") =>
        Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(thisFile))!, "fixtures");
}
