using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace StaticNet.Tests.Reference;

/// <summary>
/// The check behind make_fixtures.py's trained_parity(): from PyTorch's starting state_dict, one training-mode forward
/// and backward (output, loss, input gradient, every parameter gradient, buffers after it), three SGD steps on other
/// batches (the whole state_dict after them), then eval mode (output, loss, gradients), all within 1e-5 relative
/// (1e-6 absolute) of PyTorch's.
/// </summary>
internal static class TrainedParity
{
    public static void Check(Fixture torch, string name, Network net)
    {
        LoadState(torch, net, name + ".state.");

        net.Train();
        (float[] output, float loss, float[] inputGrad) = Step(torch, net, name + ".train.");
        AssertClose(torch.Floats(name + ".train.output"), output, $"{name} training output");
        AssertClose(torch.Floats(name + ".train.loss"), [loss], $"{name} training loss");
        AssertClose(torch.Floats(name + ".train.input_grad"), inputGrad, $"{name} training input gradient");
        foreach ((string p, Parameter parameter) in net.NamedParameters())
        {
            AssertClose(torch.Floats($"{name}.train.grad.{p}"), parameter.Grad.ToArray(), $"{name} training gradient of {p}");
        }
        foreach ((string b, ModuleBuffer buffer) in net.NamedBuffers())
        {
            if (buffer.DType == TensorDType.I64) Assert.Equal(torch.Ints($"{name}.train.buffer.{b}")[0], buffer.Int64Data[0]);
            else AssertClose(torch.Floats($"{name}.train.buffer.{b}"), buffer.Data.ToArray(), $"{name} after one training forward: {b}");
        }

        var sgd = new SGD(net.Parameters(), lr: 0.1f);
        for (int i = 0; i < 3; i++)
        {
            Step(torch, net, $"{name}.step{i}.");
            sgd.Step();
        }
        AssertState(torch, net, name + ".stepped.", $"{name} after three SGD steps");

        net.Eval();
        (output, loss, inputGrad) = Step(torch, net, name + ".eval.");
        AssertClose(torch.Floats(name + ".eval.output"), output, $"{name} eval output");
        AssertClose(torch.Floats(name + ".eval.loss"), [loss], $"{name} eval loss");
        AssertClose(torch.Floats(name + ".eval.input_grad"), inputGrad, $"{name} eval input gradient");
        foreach ((string p, Parameter parameter) in net.NamedParameters())
        {
            AssertClose(torch.Floats($"{name}.eval.grad.{p}"), parameter.Grad.ToArray(), $"{name} eval gradient of {p}");
        }
        AssertState(torch, net, name + ".stepped.", $"{name} after eval (unchanged)");
    }

    /// <summary>One forward, cross-entropy and backward on the fixture batch under <paramref name="prefix"/>.</summary>
    private static (float[] Output, float Loss, float[] InputGrad) Step(Fixture torch, Network net, string prefix)
    {
        float[] input = torch.Floats(prefix + "input");
        int[] labels = torch.Ints(prefix + "labels");
        var output = new float[labels.Length * net.SampleOutputSize];
        net.Forward(input, output);
        var outputGrad = new float[output.Length];
        float loss = new CrossEntropyLoss().Forward(output, labels, outputGrad);
        var inputGrad = new float[input.Length];
        net.ZeroGrad();
        net.Backward(outputGrad, inputGrad);
        return (output, loss, inputGrad);
    }

    private static void LoadState(Fixture torch, Network net, string prefix)
    {
        string[] names = torch.Names.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Select(n => n[prefix.Length..]).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(names, net.StateDict().Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach ((string name, StateTensor tensor) in net.StateDict())
        {
            Assert.Equal(torch.Shape(prefix + name), tensor.Shape);
            if (tensor is ModuleBuffer { DType: TensorDType.I64 } counter) counter.Int64Data[0] = torch.Ints(prefix + name)[0];
            else torch.Floats(prefix + name).CopyTo(tensor.FloatMemory.Span);
        }
    }

    private static void AssertState(Fixture torch, Network net, string prefix, string what)
    {
        foreach ((string name, StateTensor tensor) in net.StateDict())
        {
            if (tensor is ModuleBuffer { DType: TensorDType.I64 } counter) Assert.Equal(torch.Ints(prefix + name)[0], counter.Int64Data[0]);
            else AssertClose(torch.Floats(prefix + name), tensor.FloatMemory.ToArray(), $"{what}: {name}");
        }
    }

    public static void AssertClose(IReadOnlyList<float> expected, IReadOnlyList<float> actual, string what, double relative = 1e-5)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6 + relative * Math.Abs(expected[i]),
                $"{what} [{i}]: PyTorch {expected[i]:R}, StaticNet {actual[i]:R}");
        }
    }
}
