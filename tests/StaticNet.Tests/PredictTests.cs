using System;
using System.Linq;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

public class PredictTests
{
    [Fact]
    public void Predict_gives_argmax_and_softmax_over_more_samples_than_a_batch_in_eval_mode()
    {
        // MlpDropout: Linear, ReLU, Dropout(0.5), Linear(4). Seven samples through a network of batch 3, left in training mode.
        var net = new MlpDropout(3, 2);
        float[] x = NetworkCases.RandomFloats(7 * 6, 3);
        Prediction prediction = net.Predict(x);
        Assert.True(net.Training); // put back as it was

        net.Eval();
        for (int s = 0; s < 7; s++)
        {
            var logits = new float[4];
            net.Forward(x.AsSpan(s * 6, 6), logits);
            Assert.Equal(Metrics.ArgMax(logits), prediction.Classes[s]);
            double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max));
            for (int c = 0; c < 4; c++) Assert.Equal(Math.Exp(logits[c] - max) / sum, prediction.ProbabilitiesOf(s)[c], 1e-6);
        }
        Assert.Equal(4, prediction.ClassCount);
        Assert.Equal(28, prediction.Probabilities.Length);
    }

    [Fact]
    public void Predict_refuses_what_is_not_a_classifier_batch()
    {
        var net = new MlpRelu(2);
        Assert.Contains("not a multiple of the input size 6", Assert.Throws<ArgumentException>(() => net.Predict(new float[7])).Message);
        var spatial = new ForgotFlatten(2);
        Assert.Contains("[1, 4, 5]", Assert.Throws<InvalidOperationException>(() => spatial.Predict(new float[12])).Message);
        Assert.Empty(net.Predict([]).Classes);
    }
}
