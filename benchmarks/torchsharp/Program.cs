using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// The workloads of benchmarks/compare.py in TorchSharp, one JSON line each ({"workload": "torchsharp:...", "threads",
// "seconds"}), for 1 and 2 threads (torch.set_num_threads). Each figure is the median of 5 rounds after a warm-up; an
// epoch is the faster of two loops (a gather per batch; one shuffle per epoch, then slices), as for PyTorch.
const int Samples = 60_000, Batch = 256, TinyBatch = 32;
torch.manual_seed(1);
Tensor data = torch.rand(Samples, 1, 28, 28), labels = torch.randint(0, 10, Samples, dtype: ScalarType.Int64);
Tensor one = data[..1].clone(), batch = data[..Batch].clone();
foreach (int threads in new[] { 1, 2 })
{
    torch.set_num_threads(threads);
    var mlp = Sequential(Flatten(), Linear(784, 256), ReLU(), Linear(256, 10));
    var softmax = Sequential(Flatten(), Linear(784, 10));
    var lenet = Sequential(Conv2d(1, 6, 5, padding: 2), Sigmoid(), AvgPool2d(2, 2), Conv2d(6, 16, 5), Sigmoid(), AvgPool2d(2, 2), Flatten(),
        Linear(400, 120), Sigmoid(), Linear(120, 84), Sigmoid(), Linear(84, 10));
    var tiny = Sequential(Linear(2, 16), Tanh(), Linear(16, 16), Tanh(), Linear(16, 1));
    Tensor tx = torch.rand(TinyBatch, 2) * 2 - 1;
    Tensor ty = (torch.sin(tx[.., 0]) * torch.cos(tx[.., 1])).unsqueeze(1);
    var tinyOpt = optim.Adam(tiny.parameters(), 1e-3);
    var mse = MSELoss();
    Report("lenet_epoch", threads, EpochTime(lenet, 0.1, 3));
    Report("lenet_infer_b1", threads, Time(() => Infer(lenet, one), 2000));
    Report("lenet_infer_b256", threads, Time(() => Infer(lenet, batch), 100));
    Report("mlp_epoch", threads, EpochTime(mlp, 0.1, 5));
    Report("softmax_epoch", threads, EpochTime(softmax, 0.1, 5));
    Report("mlp_infer_b1", threads, Time(() => Infer(mlp, one), 5000));
    Report("mlp_infer_b256", threads, Time(() => Infer(mlp, batch), 500));
    Report("tiny_adam_step", threads, Time(() =>
    {
        using var scope = NewDisposeScope();
        Tensor loss = mse.forward(tiny.forward(tx), ty);
        tinyOpt.zero_grad();
        loss.backward();
        tinyOpt.step();
    }, 5000));
}

double EpochTime(TorchSharp.Modules.Sequential net, double lr, int repeats)
{
    var opt = optim.SGD(net.parameters(), lr);
    var lossFn = CrossEntropyLoss();
    void Step(Tensor x, Tensor y)
    {
        Tensor loss = lossFn.forward(net.forward(x), y);
        opt.zero_grad();
        loss.backward();
        opt.step();
    }
    void Gathered()
    {
        using var scope = NewDisposeScope();
        Tensor perm = torch.randperm(Samples);
        for (int i = 0; i < Samples; i += Batch)
        {
            using var step = NewDisposeScope();
            Tensor idx = perm[i..Math.Min(Samples, i + Batch)];
            Step(data.index_select(0, idx), labels.index_select(0, idx));
        }
    }
    void Sliced()
    {
        using var scope = NewDisposeScope();
        Tensor perm = torch.randperm(Samples);
        Tensor shuffled = data.index_select(0, perm), shuffledLabels = labels.index_select(0, perm);
        for (int i = 0; i < Samples; i += Batch)
        {
            using var step = NewDisposeScope();
            Step(shuffled[i..Math.Min(Samples, i + Batch)], shuffledLabels[i..Math.Min(Samples, i + Batch)]);
        }
    }
    return Math.Min(Time(Gathered, repeats, rounds: 3), Time(Sliced, repeats, rounds: 3));
}

static void Infer(TorchSharp.Modules.Sequential net, Tensor x)
{
    using var scope = NewDisposeScope();
    using var noGrad = torch.no_grad();
    net.forward(x);
}

static double Time(Action action, int repeats, int rounds = 5)
{
    for (int i = 0; i < Math.Max(2, repeats / 10); i++) action();
    var times = new List<double>();
    for (int round = 0; round < rounds; round++)
    {
        int n = Math.Max(1, repeats / rounds);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < n; i++) action();
        times.Add(clock.Elapsed.TotalSeconds / n);
    }
    times.Sort();
    return times[times.Count / 2];
}

static void Report(string name, int threads, double seconds) =>
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $$"""{"workload": "torchsharp:{{name}}", "threads": {{threads}}, "seconds": {{seconds:E4}}}"""));
