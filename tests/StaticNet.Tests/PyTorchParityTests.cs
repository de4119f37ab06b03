using System;
using System.Collections.Generic;
using System.Linq;
using StaticNet.Tests.Networks;
using StaticNet.Tests.Reference;
using Xunit;

namespace StaticNet.Tests;

/// <summary>
/// Outputs, losses, gradients and optimizer steps against PyTorch 1.13 (fixtures from tests/fixtures/make_fixtures.py).
/// Tolerance: 1e-5 relative with a 1e-6 absolute floor, unless a test says otherwise.
/// </summary>
public class PyTorchParityTests
{
    private static readonly Fixture NetworkFixture = new("networks.safetensors");
    private static readonly Fixture LossFixture = new("losses.safetensors");
    private static readonly Fixture OptimizerFixture = new("optimizers.safetensors");

    public static TheoryData<string> NetworkNames => new(
        "mlp_relu", "mlp_sigmoid", "mlp_tanh", "mlp_gelu", "mlp_gelu_tanh", "mlp_leaky", "mlp_silu", "mlp_dropout_eval", "softmax_regression");

    private static Network Create(string name) => name switch
    {
        "mlp_relu" => new MlpRelu(5),
        "mlp_sigmoid" => new MlpSigmoid(5),
        "mlp_tanh" => new MlpTanh(5),
        "mlp_gelu" => new MlpGelu(5),
        "mlp_gelu_tanh" => new MlpGeluTanh(5),
        "mlp_leaky" => new MlpLeaky(5),
        "mlp_silu" => new MlpSilu(5),
        "mlp_dropout_eval" => new MlpDropout(5),
        "softmax_regression" => new SoftmaxRegression(5),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(NetworkNames))]
    public void Network_output_loss_and_gradients_match_pytorch(string name)
    {
        Network net = Create(name);
        net.Eval();
        string prefix = name + ".param.";
        string[] torchNames = NetworkFixture.Names.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Select(n => n[prefix.Length..]).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(torchNames, net.NamedParameters().Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach ((string pname, Parameter p) in net.NamedParameters())
        {
            Assert.Equal(NetworkFixture.Shape(prefix + pname), p.Shape);
            NetworkFixture.Floats(prefix + pname).CopyTo(p.Data);
        }

        float[] input = NetworkFixture.Floats(name + ".input");
        int[] labels = NetworkFixture.Ints(name + ".labels");
        var output = new float[labels.Length * net.SampleOutputSize];
        net.Forward(input, output);
        AssertClose(NetworkFixture.Floats(name + ".output"), output, $"{name} output");

        var loss = new CrossEntropyLoss();
        var outputGrad = new float[output.Length];
        float value = loss.Forward(output, labels, outputGrad);
        AssertClose(NetworkFixture.Floats(name + ".loss"), [value], $"{name} loss");

        var inputGrad = new float[input.Length];
        net.ZeroGrad();
        net.Backward(outputGrad, inputGrad);
        AssertClose(NetworkFixture.Floats(name + ".input_grad"), inputGrad, $"{name} input gradient");
        foreach ((string pname, Parameter p) in net.NamedParameters())
        {
            AssertClose(NetworkFixture.Floats(name + ".grad." + pname), p.Grad.ToArray(), $"{name} gradient of {pname}");
        }
    }

    public static TheoryData<string> LossNames => new(
        "ce_mean", "ce_sum", "ce_none", "ce_smooth", "mse_mean", "mse_sum", "l1_mean", "smoothl1_mean", "smoothl1_beta", "bce_mean", "bce_none");

    [Theory]
    [MemberData(nameof(LossNames))]
    public void Loss_values_and_gradients_match_pytorch(string name)
    {
        float[] expected = LossFixture.Floats(name + ".value");
        float[] expectedGrad = LossFixture.Floats(name + ".grad");
        var grad = new float[expectedGrad.Length];
        var terms = new float[expected.Length];
        float value;
        if (name.StartsWith("ce_", StringComparison.Ordinal))
        {
            value = CrossEntropy(name).Forward(LossFixture.Floats("logits"), LossFixture.Ints("labels"), grad, name == "ce_none" ? terms : default);
        }
        else
        {
            Loss<float> loss = name switch
            {
                "mse_mean" => new MSELoss(),
                "mse_sum" => new MSELoss(Reduction.Sum),
                "l1_mean" => new L1Loss(),
                "smoothl1_mean" => new SmoothL1Loss(),
                "smoothl1_beta" => new SmoothL1Loss(beta: 0.5f),
                "bce_mean" => new BCEWithLogitsLoss(),
                "bce_none" => new BCEWithLogitsLoss(Reduction.None),
                _ => throw new ArgumentException(name),
            };
            bool bce = name.StartsWith("bce", StringComparison.Ordinal);
            value = loss.Forward(LossFixture.Floats(bce ? "logits" : "x"), LossFixture.Floats(bce ? "bce_target" : "target"), grad,
                name.EndsWith("_none", StringComparison.Ordinal) ? terms : default);
        }
        if (name.EndsWith("_none", StringComparison.Ordinal))
        {
            AssertClose(expected, terms, $"{name} terms");
            AssertClose([expected.Sum()], [value], $"{name} summed value");
        }
        else
        {
            AssertClose(expected, [value], $"{name} value");
        }
        AssertClose(expectedGrad, grad, $"{name} gradient");
        if (name.StartsWith("ce_", StringComparison.Ordinal))
        {
            // Without a gradient buffer (Trainer.Evaluate) the loss takes another path to the same bits.
            var termsAgain = new float[terms.Length];
            float valueAgain = CrossEntropy(name).Forward(LossFixture.Floats("logits"), LossFixture.Ints("labels"), default, name == "ce_none" ? termsAgain : default);
            Assert.Equal(BitConverter.SingleToInt32Bits(value), BitConverter.SingleToInt32Bits(valueAgain));
            Assert.Equal(terms, termsAgain);
        }

        static CrossEntropyLoss CrossEntropy(string name) => name switch
        {
            "ce_sum" => new CrossEntropyLoss(Reduction.Sum),
            "ce_none" => new CrossEntropyLoss(Reduction.None),
            "ce_smooth" => new CrossEntropyLoss(labelSmoothing: 0.1f),
            _ => new CrossEntropyLoss(),
        };
    }

    public static TheoryData<string, bool> OptimizerNames
    {
        get
        {
            var data = new TheoryData<string, bool>();
            foreach (string name in new[] { "sgd", "sgd_nesterov", "sgd_dampening", "adam", "adam_amsgrad", "adamw", "rmsprop", "rmsprop_centered" })
            {
                data.Add(name, true);
                data.Add(name, false);
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void Optimizer_steps_match_pytorch(string name, bool contiguous)
    {
        // The two parameters share one arena (one fused pass) or sit in separate arenas (two passes).
        float[] data = new float[16], grad = new float[16], data2 = new float[4], grad2 = new float[4];
        var w = new Parameter(data, grad, 0, 3, 4);
        var b = contiguous ? new Parameter(data, grad, 12, 4) : new Parameter(data2, grad2, 0, 4);
        OptimizerFixture.Floats("w0").CopyTo(w.Data);
        OptimizerFixture.Floats("b0").CopyTo(b.Data);
        Parameter[] parameters = [w, b];
        Optimizer optimizer = name switch
        {
            "sgd" => new SGD(parameters, lr: 0.1f),
            "sgd_nesterov" => new SGD(parameters, lr: 0.1f, momentum: 0.9f, nesterov: true, weightDecay: 0.01f),
            "sgd_dampening" => new SGD(parameters, lr: 0.05f, momentum: 0.8f, dampening: 0.3f),
            "adam" => new Adam(parameters, lr: 0.01f),
            "adam_amsgrad" => new Adam(parameters, lr: 0.01f, beta1: 0.8f, beta2: 0.99f, eps: 1e-6f, weightDecay: 0.1f, amsgrad: true),
            "adamw" => new AdamW(parameters, lr: 0.01f, weightDecay: 0.1f),
            "rmsprop" => new RMSprop(parameters, lr: 0.01f),
            "rmsprop_centered" => new RMSprop(parameters, lr: 0.01f, alpha: 0.9f, eps: 1e-6f, weightDecay: 0.05f, momentum: 0.8f, centered: true),
            _ => throw new ArgumentException(name),
        };
        for (int t = 0; t < 5; t++)
        {
            OptimizerFixture.Floats($"grad{t}.w").CopyTo(w.Grad);
            OptimizerFixture.Floats($"grad{t}.b").CopyTo(b.Grad);
            optimizer.Step();
            if (t == 0 || t == 4)
            {
                string step = t == 0 ? "step1" : "step5";
                AssertClose(OptimizerFixture.Floats($"{name}.{step}.w"), w.Data.ToArray(), $"{name} weight after {step}");
                AssertClose(OptimizerFixture.Floats($"{name}.{step}.b"), b.Data.ToArray(), $"{name} bias after {step}");
            }
        }
    }

    private static void AssertClose(IReadOnlyList<float> expected, IReadOnlyList<float> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6 + 1e-5 * Math.Abs(expected[i]),
                $"{what} [{i}]: PyTorch {expected[i]:R}, StaticNet {actual[i]:R}");
        }
    }
}
