using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FashionMnist;
using StaticNet;

return Options.Command(Run).Parse(args).Invoke();

static int Run(Options options)
{
    if (options.Threads is int threads) Threading.NumThreads = threads;

    Dataset<int> train, test;
    string source;
    try
    {
        (train, test, source) = FashionData.Load(options.Data);
    }
    catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"error: cannot load the data: {e.Message}");
        return 1;
    }
    Console.WriteLine($"Data: {source}");

    Network net = Recipes.Create(options.Model, options.BatchSize, options.Seed);

    // Each model's recipe: d2l's for the LeNets (plain SGD), momentum with a cosine schedule for the rest.
    (string defaultOptimizer, float defaultLr) = options.Model switch
    {
        "lenet" => ("sgd", 0.9f),
        "lenet-bn" => ("sgd", 1.0f),
        _ => ("momentum", 0.05f),
    };
    string optimizerName = options.Optimizer ?? defaultOptimizer;
    float? recipeLr = options.Optimizer is null ? defaultLr : null;
    (Optimizer optimizer, LRScheduler? schedule, string recipe) = optimizerName switch
    {
        "sgd" => Plain(new SGD(net.Parameters(), options.LearningRate ?? recipeLr ?? 0.1f)),
        "adam" => Plain(new Adam(net.Parameters(), options.LearningRate ?? 1e-3f)),
        _ => Momentum(new SGD(net.Parameters(), options.LearningRate ?? recipeLr ?? 0.05f, momentum: 0.9f), options.Epochs),
    };
    Console.WriteLine($"Model: {options.Model} ({Text.Count(net.Parameters().Sum(p => p.Numel), "parameter")}), {recipe}, batch {options.BatchSize}, " +
                      $"{Text.Count(options.Epochs, "epoch")}, seed {options.Seed}, {Text.Count(Threading.NumThreads, "thread")}");

    var trainLoader = new DataLoader<int>(train, options.BatchSize, shuffle: true, seed: options.Seed);
    var testLoader = new DataLoader<int>(test, options.BatchSize);
    IReadOnlyList<EpochReport> reports;
    try
    {
        reports = Report.Run(options.Epochs, trainLoader.BatchCount, (onBatch, onEpoch) =>
            Trainer.Fit(net, trainLoader, testLoader, new CrossEntropyLoss(), optimizer, options.Epochs, schedule, onEpoch, onBatch: onBatch));
    }
    catch (NonFiniteLossException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 1;
    }
    Report.Table(reports);

    try
    {
        if (options.Plot is not null)
        {
            try
            {
                Chart.Save(reports, options.Plot, $"{options.Model}, {recipe}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The chart library's messages do not always name the file.
                throw new IOException($"cannot write the chart to {options.Plot}: {e.Message}", e);
            }
            Console.WriteLine($"Chart: {Path.GetFullPath(options.Plot)}");
        }
        if (options.Save is not null)
        {
            Safetensors.Save(net, options.Save);
            Console.WriteLine($"Weights: {Path.GetFullPath(options.Save)}");
        }
        if (options.Export is not null)
        {
            Onnx.Export(net, options.Export);
            Console.WriteLine($"ONNX model: {Path.GetFullPath(options.Export)}");
        }
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 1;
    }
    return 0;
}

static (Optimizer, LRScheduler?, string) Plain(Optimizer optimizer) =>
    (optimizer, null, $"{optimizer.GetType().Name} lr {optimizer.LearningRate}, no schedule");

static (Optimizer, LRScheduler?, string) Momentum(SGD optimizer, int epochs) =>
    (optimizer, new CosineAnnealingLR(optimizer, epochs), $"SGD lr {optimizer.LearningRate} momentum 0.9, cosine schedule");
