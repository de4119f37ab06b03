using System;
using System.Linq;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

/// <summary>Losses and metrics that know the output's shape: PyTorch's (N, C, d1, ...) cross-entropy and its refusals.</summary>
public class LossShapeTests
{
    // x = sin(0.37 i) * 2 for i < 24, as [2, 3, 4]; labels [[0, 2, 1, 1], [2, 0, 0, 1]]; label_smoothing 0.1. From
    // torch.nn.functional.cross_entropy (PyTorch 1.13).
    private static readonly float[] SpatialInput = Enumerable.Range(0, 24).Select(i => (float)(Math.Sin(i * 0.37) * 2)).ToArray();
    private static readonly int[] SpatialLabels = [0, 2, 1, 1, 2, 0, 0, 1];
    private const double TorchLoss = 1.9498326778411865;
    private static readonly float[] TorchGrad =
    [
        -0.103863843f, 0.022706639f, 0.048642222f, 0.078661159f, 0.089657955f, 0.084995158f, -0.049226917f, -0.077278897f,
        0.01420589f, -0.107701801f, 0.000584695f, -0.001382265f, -0.001436771f, -0.114654444f, -0.114354208f, -0.000537133f,
        0.005040832f, 0.010762956f, 0.024608955f, -0.062817149f, -0.003604069f, 0.103891484f, 0.089745238f, 0.063354276f,
    ];

    [Fact]
    public void Cross_entropy_over_a_spatial_output_matches_pytorch()
    {
        var loss = new CrossEntropyLoss(labelSmoothing: 0.1f);
        var grad = new float[24];
        float value = loss.Forward(SpatialInput, SpatialLabels, grad, default, [3, 4]);
        Assert.Equal(TorchLoss, value, 1e-6);
        Assert.Equal(8, loss.LastCount);
        for (int i = 0; i < grad.Length; i++) Assert.True(Math.Abs(grad[i] - TorchGrad[i]) < 1e-7, $"grad[{i}] = {grad[i]}, torch {TorchGrad[i]}");
    }

    [Fact]
    public void Spatial_terms_equal_the_dense_loss_on_the_transposed_rows()
    {
        // [N, C, P] read with the shape equals rows [N * P, C] read without it, term by term and in the gradient.
        const int n = 3, c = 5, p = 6;
        var random = new Random(4);
        float[] input = Enumerable.Range(0, n * c * p).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
        int[] labels = Enumerable.Range(0, n * p).Select(_ => random.Next(c)).ToArray();
        float[] rows = new float[input.Length];
        for (int s = 0; s < n; s++)
            for (int k = 0; k < c; k++)
                for (int q = 0; q < p; q++) rows[(s * p + q) * c + k] = input[(s * c + k) * p + q];
        var loss = new CrossEntropyLoss(Reduction.None);
        float[] spatialGrad = new float[input.Length], rowGrad = new float[input.Length], spatialTerms = new float[n * p], rowTerms = new float[n * p];
        float spatial = loss.Forward(input, labels, spatialGrad, spatialTerms, [c, 2, 3]);
        float dense = loss.Forward(rows, labels, rowGrad, rowTerms);
        Assert.Equal(dense, spatial, 1e-5f);
        for (int i = 0; i < rowTerms.Length; i++) Assert.Equal(rowTerms[i], spatialTerms[i], 1e-5f);
        for (int s = 0; s < n; s++)
            for (int k = 0; k < c; k++)
                for (int q = 0; q < p; q++) Assert.Equal(rowGrad[(s * p + q) * c + k], spatialGrad[(s * c + k) * p + q], 1e-6f);
        // Accuracy counts positions the same way.
        Assert.Equal(Metrics.CountCorrect(rows, labels), Metrics.CountCorrect(input, labels, [c, 2, 3]));
    }

    [Fact]
    public void Cross_entropy_refuses_one_label_per_sample_for_a_spatial_output_and_suggests_flatten()
    {
        var loss = new CrossEntropyLoss();
        var e = Assert.Throws<ArgumentException>(() => loss.Forward(new float[2 * 20], [1, 2], new float[40], default, [1, 4, 5]));
        Assert.Contains("[1, 4, 5]", e.Message);
        Assert.Contains("2 x 20 = 40 labels", e.Message);
        Assert.Contains("holds 2", e.Message);
        Assert.Contains("[Flatten]", e.Message);
        // A [classes] output with the wrong number of labels names both counts.
        e = Assert.Throws<ArgumentException>(() => loss.Forward(new float[30], [1, 2], new float[30], default, [10]));
        Assert.Contains("3 samples of 10 classes", e.Message);
        Assert.Contains("holds 2", e.Message);
        // A label beyond the class dimension of a spatial output.
        var labelError = Assert.Throws<LabelOutOfRangeException>(() => loss.Forward(SpatialInput, [0, 2, 1, 1, 2, 0, 3, 1], new float[24], default, [3, 4]));
        Assert.Equal(3, labelError.Label);
        Assert.Equal(1, labelError.Sample);
    }

    [Fact]
    public void Trainer_refuses_a_classifier_without_flatten_before_training()
    {
        // The newcomer's network: [Network(1, 4, 3)] [Linear(5)], output [1, 4, 5], with one label per sample. Without the
        // shape this trained silently as a 20-class classifier.
        var net = new ForgotFlatten(8, 1);
        float[] before = net.ParameterArena.ToArray();
        var data = new Dataset<int>(new float[16 * 12], Enumerable.Range(0, 16).Select(i => i % 5).ToArray(), 12);
        var loader = new DataLoader<int>(data, 8);
        var e = Assert.Throws<ArgumentException>(() => Trainer.Fit(net, loader, loader, new CrossEntropyLoss(), new SGD(net.Parameters(), lr: 0.1f), epochs: 1));
        Assert.Contains("[1, 4, 5]", e.Message);
        Assert.Contains("[Flatten]", e.Message);
        Assert.Equal(before, net.ParameterArena.ToArray());
        Assert.Throws<ArgumentException>(() => Trainer.Evaluate(net, loader, new CrossEntropyLoss()));

        // With a label per position (targetSize 4 x 5 = 20... the class dimension is 1, so every label is 0) it is a valid,
        // if pointless, PyTorch cross-entropy and trains.
        var positional = new Dataset<int>(new float[16 * 12], new int[16 * 20], 12, targetSize: 20);
        var reports = Trainer.Fit(net, new DataLoader<int>(positional, 8), null, new CrossEntropyLoss(), new SGD(net.Parameters(), lr: 0.1f), epochs: 1);
        Assert.Equal(0.0, reports[0].Train.Loss);
        Assert.Equal(1.0, reports[0].Train.Accuracy);
    }
}
