using System;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.IO;

namespace FashionMnist;

/// <summary>
/// The command line, parsed and checked by System.CommandLine (<c>--opt value</c> and <c>--opt=value</c>, <c>--help</c>,
/// errors naming the option and the value, shell completion through dotnet-suggest).
/// </summary>
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

    public static readonly string[] Models = ["mlp", "softmax", "deep", "lenet", "lenet-bn", "resnet"];
    public static readonly string[] Optimizers = ["momentum", "sgd", "adam"];

    private static readonly Option<int> EpochsOption = Positive(new Option<int>("--epochs")
        { Description = "Epochs to train", DefaultValueFactory = _ => 10, HelpName = "N" });
    private static readonly Option<int> BatchSizeOption = Positive(new Option<int>("--batch-size")
        { Description = "Samples per batch", DefaultValueFactory = _ => 256, HelpName = "N" });
    private static readonly Option<float?> LearningRateOption = PositiveRate(new Option<float?>("--lr")
        { Description = "Learning rate (default: the model's recipe; else 0.05 for momentum, 0.1 for sgd, 0.001 for adam)", HelpName = "X" });
    private static readonly Option<string> ModelOption = new Option<string>("--model")
    {
        Description = "mlp (d2l's 784-256-10), softmax (softmax regression), deep (two hidden layers, dropout), lenet (d2l's LeNet: " +
                      "Xavier init, SGD lr 0.9), lenet-bn (LeNet with BatchNorm: SGD lr 1.0), resnet (a small ResNet for 28 x 28: SGD lr " +
                      "0.05, momentum 0.9, cosine schedule)",
        DefaultValueFactory = _ => "mlp",
    }.AcceptOnlyFromAmong(Models);
    private static readonly Option<string?> OptimizerOption = new Option<string?>("--optimizer")
    {
        Description = "momentum (SGD with momentum 0.9 and a cosine schedule; the MLPs' default), sgd (plain SGD, no schedule: " +
                      "the d2l recipe; the LeNets' default), adam",
    }.AcceptOnlyFromAmong(Optimizers);
    private static readonly Option<ulong> SeedOption = new("--seed")
    {
        Description = "Seed for initialisation, shuffling and dropout",
        DefaultValueFactory = _ => 1,
        HelpName = "N",
        CustomParser = result =>
        {
            string token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            if (ulong.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed)) return seed;
            result.AddError($"--seed expects a whole number, not '{token}'.");
            return 0;
        },
    };
    private static readonly Option<int?> ThreadsOption = new("--threads")
        { Description = "Threads for the matrix products (default: the processor count); results do not depend on it", HelpName = "N" };
    private static readonly Option<string?> DataOption = new("--data")
    {
        Description = "A folder with the four Fashion-MNIST IDX files (.gz or plain), or 'embedded' for the built-in subset; by " +
                      "default the full set in /usr/share/datasets/fashion-mnist if present, else the subset",
        HelpName = "DIR|embedded",
    };
    private static readonly Option<string?> SaveOption = OutputPath(new Option<string?>("--save")
        { Description = "Write the trained weights as safetensors, with PyTorch state_dict names", HelpName = "PATH" });
    private static readonly Option<string?> PlotOption = OutputPath(new Option<string?>("--plot")
        { Description = "Write a PNG chart of the training curves", HelpName = "PATH" });
    private static readonly Option<string?> ExportOption = OutputPath(new Option<string?>("--export")
        { Description = "Write the trained network as an ONNX model (opset 17), for ONNX Runtime and other engines", HelpName = "PATH" });

    static Options()
    {
        ThreadsOption.CustomParser = result => WholeNumber(result, ThreadsOption.Name, 256);
    }

    /// <summary>The root command; <paramref name="run"/> receives the checked options and returns the exit code.</summary>
    public static RootCommand Command(Func<Options, int> run)
    {
        var command = new RootCommand("Trains a network on Fashion-MNIST with StaticNet.")
        {
            EpochsOption, BatchSizeOption, LearningRateOption, ModelOption, OptimizerOption, SeedOption, ThreadsOption, DataOption,
            SaveOption, PlotOption, ExportOption,
        };
        command.SetAction(result => run(From(result)));
        return command;
    }

    /// <summary>Parses a command line (errors in the result's Errors).</summary>
    public static ParseResult Parse(params string[] args) => Command(_ => 0).Parse(args);

    /// <summary>The options of a parse without errors.</summary>
    public static Options From(ParseResult result) => new()
    {
        Epochs = result.GetValue(EpochsOption),
        BatchSize = result.GetValue(BatchSizeOption),
        LearningRate = result.GetValue(LearningRateOption),
        Model = result.GetValue(ModelOption)!,
        Optimizer = result.GetValue(OptimizerOption),
        Seed = result.GetValue(SeedOption),
        Threads = result.GetValue(ThreadsOption),
        Data = result.GetValue(DataOption),
        Save = result.GetValue(SaveOption),
        Plot = result.GetValue(PlotOption),
        Export = result.GetValue(ExportOption),
    };

    /// <summary>A whole number from 1 to <paramref name="max"/>, parsed here so that a bad value is one error line naming the option.</summary>
    private static Option<int> Positive(Option<int> option, int max = int.MaxValue)
    {
        option.CustomParser = result => WholeNumber(result, option.Name, max) ?? 0;
        return option;
    }

    private static int? WholeNumber(ArgumentResult result, string name, int max)
    {
        string token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 && n <= max) return n;
        result.AddError(max == int.MaxValue
            ? $"{name} expects a positive whole number, not '{token}'."
            : $"{name} expects a whole number from 1 to {max}, not '{token}'.");
        return null;
    }

    private static Option<float?> PositiveRate(Option<float?> option)
    {
        option.CustomParser = result =>
        {
            string token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            if (float.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out float x) && x > 0 && float.IsFinite(x)) return x;
            result.AddError($"{option.Name} expects a positive number, not '{token}'.");
            return null;
        };
        return option;
    }

    /// <summary>An output file's folder must exist and the path must not be a folder: checked before any training.</summary>
    private static Option<string?> OutputPath(Option<string?> option)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is not string path) return;
            if (OutputPathProblem(path) is string problem) result.AddError($"{option.Name} {path}: {problem}");
        });
        return option;
    }

    /// <summary>Why a file could not be written at <paramref name="path"/>, or null if it looks writable (the folder is probed).</summary>
    public static string? OutputPathProblem(string path)
    {
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return "not a valid path.";
        }
        if (Directory.Exists(full)) return "is a folder; give a file name.";
        string? folder = Path.GetDirectoryName(full);
        if (folder is null || !Directory.Exists(folder)) return $"the folder {folder} does not exist.";
        try
        {
            // A probe file in the folder, as the writer's temporary file will be; deleted on close.
            using var probe = new FileStream(Path.Combine(folder, $".fashionmnist-probe-{Environment.ProcessId}-{Guid.NewGuid():N}.tmp"),
                FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot write in {folder} ({e.Message}).";
        }
        return null;
    }
}
