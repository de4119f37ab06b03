using System;
using System.Collections.Generic;
using System.Globalization;

namespace FashionMnist;

/// <summary>The command line, parsed and checked; <see cref="Parse"/> throws <see cref="UsageException"/> on anything wrong.</summary>
public sealed record Options
{
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 256;
    public float? LearningRate { get; init; }
    public string Model { get; init; } = "mlp";
    public string? Optimizer { get; init; }
    public ulong Seed { get; init; } = 1;
    public int? Threads { get; init; }
    public string? Data { get; init; }
    public string? Save { get; init; }
    public string? Plot { get; init; }
    public string? Export { get; init; }
    public bool Help { get; init; }

    public const string Usage = """
        Trains a network on Fashion-MNIST with StaticNet.

        usage: dotnet run -c Release --project samples/FashionMnist -- [options]

          --epochs N          epochs to train (default 10)
          --batch-size N      samples per batch (default 256)
          --lr X              learning rate (default: the model's recipe; else 0.05 for momentum, 0.1 for sgd, 0.001 for adam)
          --model NAME        mlp (default; d2l's 784-256-10), softmax (softmax regression), deep (two hidden layers, dropout),
                              lenet (d2l's LeNet: Xavier init, SGD lr 0.9), lenet-bn (d2l's LeNet with BatchNorm: SGD lr 1.0),
                              resnet (a small ResNet for 28 x 28: SGD lr 0.05, momentum 0.9, cosine schedule)
          --optimizer NAME    momentum (SGD with momentum 0.9 and a cosine schedule; the MLPs' default),
                              sgd (plain SGD, no schedule: the d2l recipe; the LeNets' default), adam
          --seed N            seed for initialisation, shuffling and dropout (default 1)
          --threads N         threads for the matrix products (default: the processor count); results do not depend on it
          --data DIR|embedded a folder with the four Fashion-MNIST IDX files (.gz or plain), or 'embedded' for the built-in
                              subset; by default the full set in /usr/share/datasets/fashion-mnist if present, else the subset
          --save PATH         write the trained weights as safetensors, with PyTorch state_dict names
          --plot PATH         write a PNG chart of the training curves
          --export PATH       write the trained network as an ONNX model (opset 17), for ONNX Runtime and other engines
          --help              show this text
        """;

    public static Options Parse(IReadOnlyList<string> args)
    {
        var options = new Options();
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            if (name is "--help" or "-h")
            {
                options = options with { Help = true };
                continue;
            }
            if (!name.StartsWith("--", StringComparison.Ordinal)) throw new UsageException($"unexpected argument '{name}'");
            if (i + 1 >= args.Count) throw new UsageException($"{name} needs a value");
            string value = args[++i];
            options = name switch
            {
                "--epochs" => options with { Epochs = PositiveInt(name, value) },
                "--batch-size" => options with { BatchSize = PositiveInt(name, value) },
                "--lr" => options with { LearningRate = PositiveFloat(name, value) },
                "--model" => options with { Model = OneOf(name, value, "mlp", "softmax", "deep", "lenet", "lenet-bn", "resnet") },
                "--optimizer" => options with { Optimizer = OneOf(name, value, "momentum", "sgd", "adam") },
                "--seed" => options with { Seed = ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed) ? seed : throw new UsageException($"--seed expects a whole number, not '{value}'") },
                "--threads" => options with { Threads = PositiveInt(name, value) <= 256 ? PositiveInt(name, value) : throw new UsageException("--threads expects at most 256") },
                "--data" => options with { Data = value },
                "--save" => options with { Save = value },
                "--plot" => options with { Plot = value },
                "--export" => options with { Export = value },
                _ => throw new UsageException($"unknown option '{name}'"),
            };
        }
        return options;
    }

    private static int PositiveInt(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : throw new UsageException($"{name} expects a positive whole number, not '{value}'");

    private static float PositiveFloat(string name, string value) =>
        float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out float x) && x > 0 && float.IsFinite(x) ? x : throw new UsageException($"{name} expects a positive number, not '{value}'");

    private static string OneOf(string name, string value, params string[] choices) =>
        Array.IndexOf(choices, value) >= 0 ? value : throw new UsageException($"{name} expects one of {string.Join(", ", choices)}, not '{value}'");
}

/// <summary>A bad command line: the message says what and the program exits with code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
