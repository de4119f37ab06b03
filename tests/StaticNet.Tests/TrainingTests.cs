using System;
using System.IO;
using System.Linq;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

public class TrainingTests
{
    private static readonly float[] XorFeatures = [0, 0, 0, 1, 1, 0, 1, 1];
    private static readonly int[] XorLabels = [0, 1, 1, 0];

    private static string DataFile(string name) => Path.Combine(AppContext.BaseDirectory, "data", name);

    internal static (Dataset<int> Train, Dataset<int> Test) FashionSubset() =>
        (Idx.LoadDataset(DataFile("train-images-idx3-ubyte.gz"), DataFile("train-labels-idx1-ubyte.gz")),
         Idx.LoadDataset(DataFile("t10k-images-idx3-ubyte.gz"), DataFile("t10k-labels-idx1-ubyte.gz")));

    [Fact]
    public void Mlp_learns_xor()
    {
        var net = new XorNet(4, 1);
        var loader = new DataLoader<int>(new Dataset<int>(XorFeatures, XorLabels, 2), 4);
        var optimizer = new Adam(net.Parameters(), lr: 0.05f);
        var reports = Trainer.Fit(net, loader, loader, new CrossEntropyLoss(), optimizer, epochs: 300);
        Assert.Equal(1.0, reports[^1].Test!.Accuracy);
        Assert.True(reports[^1].Train.Loss < 0.05, $"final loss {reports[^1].Train.Loss}");
    }

    [Fact]
    public void Constant_init_keeps_hidden_units_symmetric_and_random_init_breaks_the_symmetry()
    {
        (SymmetryNet Net, double Loss) Train(Action<Linear> init)
        {
            var net = new SymmetryNet(4, 1);
            var generator = new RandomGenerator(3);
            net.Apply(m => { if (m is Linear l) init(l); });
            var loader = new DataLoader<int>(new Dataset<int>(XorFeatures, XorLabels, 2), 4);
            var reports = Trainer.Fit(net, loader, null, new CrossEntropyLoss(), new Adam(net.Parameters(), lr: 0.05f), epochs: 400);
            return (net, reports[^1].Train.Loss);
        }

        (SymmetryNet zeroNet, double zeroLoss) = Train(l => { Init.Zeros(l.Weight); Init.Zeros(l.Bias!); });
        var randomGenerator = new RandomGenerator(3);
        (SymmetryNet randomNet, double randomLoss) = Train(l => { Init.Normal(l.Weight, 0, 0.01f, randomGenerator); Init.Zeros(l.Bias!); });

        float[] HiddenRow(SymmetryNet net, int row) => ((Linear)net.Children().First()).Weight.Data.Slice(row * 2, 2).ToArray();
        for (int row = 1; row < 4; row++) Assert.Equal(HiddenRow(zeroNet, 0), HiddenRow(zeroNet, row));
        Assert.NotEqual(HiddenRow(randomNet, 0), HiddenRow(randomNet, 1));
        // One effective hidden unit cannot fit XOR; four can.
        Assert.True(zeroLoss > 0.5, $"zero init reached loss {zeroLoss}");
        Assert.True(randomLoss < 0.1, $"random init reached loss {randomLoss}");
    }

    [Fact]
    public void Softmax_regression_and_mlp_learn_the_fashion_mnist_subset()
    {
        (Dataset<int> train, Dataset<int> test) = FashionSubset();
        var trainLoader = new DataLoader<int>(train, 256, shuffle: true, seed: 1);
        var testLoader = new DataLoader<int>(test, 256);

        var softmax = new FashionSoftmax(256, 1);
        softmax.Apply(m => { if (m is Linear l) Init.Normal(l.Weight, 0, 0.01f, new RandomGenerator(1)); });
        var softmaxReports = Trainer.Fit(softmax, trainLoader, testLoader, new CrossEntropyLoss(), new SGD(softmax.Parameters(), lr: 0.1f), epochs: 5);
        Assert.True(softmaxReports[^1].Test!.Accuracy >= 0.72, $"softmax regression test accuracy {softmaxReports[^1].Test!.Accuracy}");

        var mlp = new FashionMlpPlain(256, 1);
        var generator = new RandomGenerator(2);
        mlp.Apply(m => { if (m is Linear l) Init.Normal(l.Weight, 0, 0.01f, generator); });
        var mlpReports = Trainer.Fit(mlp, trainLoader, testLoader, new CrossEntropyLoss(), new SGD(mlp.Parameters(), lr: 0.1f, momentum: 0.9f), epochs: 5);
        Assert.True(mlpReports[^1].Test!.Accuracy >= 0.78, $"MLP test accuracy {mlpReports[^1].Test!.Accuracy}");
        Assert.True(mlpReports[^1].Train.Loss < mlpReports[0].Train.Loss);
    }

    [Fact]
    public void Custom_updater_on_the_summed_loss_equals_sgd_on_the_mean_loss()
    {
        (Dataset<int> train, _) = FashionSubset();
        Dataset<int> slice = train.Take(600);
        const float lr = 0.1f;

        var a = new FashionSoftmax(100, 5);
        EpochResult viaOptimizer = Trainer.TrainEpoch(a, new DataLoader<int>(slice, 100), new CrossEntropyLoss(), new SGD(a.Parameters(), lr));

        // d2l's sgd(params, lr, batch_size): param -= lr * param.grad / batch_size, after l.sum().backward().
        var b = new FashionSoftmax(100, 5);
        EpochResult viaUpdater = Trainer.TrainEpoch(b, new DataLoader<int>(slice, 100), new CrossEntropyLoss(Reduction.None), batchSize =>
        {
            foreach (Parameter p in b.Parameters())
            {
                Span<float> data = p.Data, grad = p.Grad;
                for (int i = 0; i < data.Length; i++) data[i] -= lr * grad[i] / batchSize;
            }
        });

        float[] pa = a.ParameterArena.ToArray(), pb = b.ParameterArena.ToArray();
        for (int i = 0; i < pa.Length; i++) Assert.True(Math.Abs(pa[i] - pb[i]) <= 1e-6f, $"parameter {i}: {pa[i]} vs {pb[i]}");
        Assert.Equal(viaOptimizer.Loss, viaUpdater.Loss, 1e-6);
        Assert.Equal(viaOptimizer.Accuracy, viaUpdater.Accuracy);
    }

    [Fact]
    public void Trainer_epoch_equals_the_hand_written_loop_bit_for_bit()
    {
        // The Trainer gathers batches straight into the network's input slot; the hand-written loop copies each batch in.
        (Dataset<int> train, _) = FashionSubset();
        Dataset<int> slice = train.Take(700);
        var a = new FashionSoftmax(128, 3);
        EpochResult result = Trainer.TrainEpoch(a, new DataLoader<int>(slice, 128, shuffle: true, seed: 9), new CrossEntropyLoss(), new SGD(a.Parameters(), 0.1f));

        var b = new FashionSoftmax(128, 3);
        var sgd = new SGD(b.Parameters(), 0.1f);
        var loss = new CrossEntropyLoss();
        double lossSum = 0;
        foreach (Batch<int> batch in new DataLoader<int>(slice, 128, shuffle: true, seed: 9))
        {
            var y = new float[batch.Size * 10];
            var dy = new float[y.Length];
            b.Forward(batch.Features, y);
            lossSum += loss.Forward(y, batch.Targets, dy) * batch.Size;
            sgd.ZeroGrad();
            b.Backward(dy);
            sgd.Step();
        }
        Assert.Equal(b.ParameterArena.ToArray(), a.ParameterArena.ToArray());
        Assert.Equal(lossSum / 700, result.Loss, 1e-6);
    }

    [Fact]
    public void Epoch_statistics_do_not_depend_on_the_reduction()
    {
        (_, Dataset<int> test) = FashionSubset();
        var net = new FashionSoftmax(128, 3);
        var loader = new DataLoader<int>(test, 128); // 1000 samples: the last batch is smaller
        EvaluationResult mean = Trainer.Evaluate(net, loader, new CrossEntropyLoss(Reduction.Mean));
        EvaluationResult sum = Trainer.Evaluate(net, loader, new CrossEntropyLoss(Reduction.Sum));
        EvaluationResult none = Trainer.Evaluate(net, loader, new CrossEntropyLoss(Reduction.None));
        Assert.Equal(mean.Loss, sum.Loss, 1e-9);
        Assert.Equal(mean.Loss, none.Loss, 1e-9);
        Assert.Equal(1000, mean.Samples);

        // The same figure computed directly: mean cross-entropy over all 1000 samples.
        var logits = new float[1000 * 10];
        var big = new FashionSoftmax(1000, 3);
        big.Eval();
        big.Forward(test.Features, logits);
        float direct = new CrossEntropyLoss().Forward(logits, test.Targets, default);
        Assert.Equal(direct, mean.Loss, 1e-5);
        Assert.Equal(Metrics.Accuracy(logits, test.Targets), mean.Accuracy, 1e-12);
    }

    [Fact]
    public void Regression_trains_with_float_targets()
    {
        // y = 2 x0 - x1 + 0.5 x2 + 1, learned exactly by one Linear layer.
        var random = new Random(4);
        float[] x = Enumerable.Range(0, 300).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
        float[] y = Enumerable.Range(0, 100).Select(i => 2 * x[3 * i] - x[3 * i + 1] + 0.5f * x[3 * i + 2] + 1).ToArray();
        var net = new LinearRegression(10, 1);
        var loader = new DataLoader<float>(new Dataset<float>(x, y, 3), 10, shuffle: true, seed: 2);
        var reports = Trainer.Fit(net, loader, null, new MSELoss(), new SGD(net.Parameters(), lr: 0.1f), epochs: 100);
        Assert.True(reports[^1].Train.Loss < 1e-8, $"final loss {reports[^1].Train.Loss}");
        Assert.True(double.IsNaN(reports[^1].Train.Accuracy));
        Assert.Equal([2f, -1f, 0.5f, 1f], net.ParameterArena.ToArray().Select(v => MathF.Round(v, 3)));
    }

    [Fact]
    public void Non_finite_loss_stops_training_naming_epoch_and_batch()
    {
        float[] features = [0, 0, 0, 1, 1, 0, float.NaN, 1];
        var net = new XorNet(2, 1);
        var loader = new DataLoader<int>(new Dataset<int>(features, XorLabels, 2), 2);
        var e = Assert.Throws<NonFiniteLossException>(() =>
            Trainer.Fit(net, loader, null, new CrossEntropyLoss(), new SGD(net.Parameters(), 0.1f), epochs: 3));
        Assert.Equal(1, e.Epoch);
        Assert.Equal(2, e.Batch);
        Assert.StartsWith("The loss became NaN at epoch 1, batch 2", e.Message);

        var check = Assert.Throws<ArgumentException>(() => new Dataset<int>(features, XorLabels, 2).CheckFinite());
        Assert.Equal("Feature 0 of sample 3 is NaN: inputs must be finite.", check.Message);
    }

    [Fact]
    public void Scheduler_sets_the_learning_rate_each_epoch()
    {
        var net = new XorNet(4, 1);
        var optimizer = new SGD(net.Parameters(), lr: 0.4f);
        var loader = new DataLoader<int>(new Dataset<int>(XorFeatures, XorLabels, 2), 4);
        var reports = Trainer.Fit(net, loader, null, new CrossEntropyLoss(), optimizer, epochs: 5, scheduler: new StepLR(optimizer, stepSize: 2, gamma: 0.5f));
        Assert.Equal([0.4f, 0.4f, 0.2f, 0.2f, 0.1f], reports.Select(r => r.LearningRate));
        Assert.Equal(0.1f, optimizer.LearningRate);
    }

    [Fact]
    public void Epochs_after_the_first_allocate_only_their_result()
    {
        (Dataset<int> train, _) = FashionSubset();
        var net = new FashionSoftmax(100, 5);
        var loader = new DataLoader<int>(train.Take(1000), 100, shuffle: true, seed: 1);
        var loss = new CrossEntropyLoss();
        var sgd = new SGD(net.Parameters(), 0.1f, momentum: 0.9f);
        // Warm up, then take the least of a few epochs: the JIT may still allocate while it recompiles hot methods.
        for (int i = 0; i < 3; i++) Trainer.TrainEpoch(net, loader, loss, sgd);
        long least = long.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Trainer.TrainEpoch(net, loader, loss, sgd);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.InRange(least, 0, 128);
    }

    [Fact]
    public void Loader_batch_must_fit_the_network()
    {
        var net = new XorNet(2, 1);
        var loader = new DataLoader<int>(new Dataset<int>(XorFeatures, XorLabels, 2), 4);
        var e = Assert.Throws<ArgumentException>(() => Trainer.Evaluate(net, loader));
        Assert.StartsWith("The loader's batch size 4 is larger than the network's largest batch 2.", e.Message);
    }
}
