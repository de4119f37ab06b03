using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using FashionMnist;
using Spectre.Console.Testing;
using StaticNet;
using Xunit;

namespace FashionMnist.Tests;

public class CommandLineTests
{
    [Fact]
    public void Options_take_both_the_spaced_and_the_equals_forms()
    {
        var result = Options.Parse("--epochs=3", "--batch-size", "64", "--lr=0.5", "--model=lenet", "--seed=7", "--threads=2");
        Assert.Empty(result.Errors);
        Options options = Options.From(result);
        Assert.Equal(3, options.Epochs);
        Assert.Equal(64, options.BatchSize);
        Assert.Equal(0.5f, options.LearningRate);
        Assert.Equal("lenet", options.Model);
        Assert.Equal(7ul, options.Seed);
        Assert.Equal(2, options.Threads);

        Options defaults = Options.From(Options.Parse());
        Assert.Equal(10, defaults.Epochs);
        Assert.Equal(256, defaults.BatchSize);
        Assert.Null(defaults.LearningRate);
        Assert.Equal("mlp", defaults.Model);
        Assert.Equal(1ul, defaults.Seed);
    }

    [Theory]
    [InlineData("--epochs=0", "--epochs expects a positive whole number, not '0'.")]
    [InlineData("--epochs=x", "--epochs expects a positive whole number, not 'x'.")]
    [InlineData("--threads=300", "--threads expects a whole number from 1 to 256, not '300'.")]
    [InlineData("--lr=-1", "--lr expects a positive number, not '-1'.")]
    [InlineData("--lr=inf", "--lr expects a positive number, not 'inf'.")]
    [InlineData("--seed=-1", "--seed expects a whole number, not '-1'.")]
    public void Bad_values_are_one_error_naming_the_option_and_the_value(string arg, string message)
    {
        var result = Options.Parse(arg);
        Assert.Equal(message, Assert.Single(result.Errors).Message);
    }

    [Fact]
    public void Unknown_models_and_options_are_refused()
    {
        Assert.Contains("lenet-bn", Assert.Single(Options.Parse("--model=vgg").Errors).Message);
        Assert.NotEmpty(Options.Parse("--epoch", "3").Errors);
    }

    [Fact]
    public void Output_paths_are_checked_before_training()
    {
        // Each --save, --plot or --export path is refused while parsing, naming the user's path, where it once failed only
        // after every epoch had trained, naming a temporary file.
        string missing = Path.Combine(Path.GetTempPath(), "no-such-folder-" + Guid.NewGuid().ToString("N"), "w.safetensors");
        foreach (string option in new[] { "--save", "--plot", "--export" })
        {
            string message = Assert.Single(Options.Parse($"{option}={missing}").Errors).Message;
            Assert.StartsWith($"{option} {missing}: the folder ", message);
            Assert.EndsWith("does not exist.", message);
        }
        Assert.EndsWith("is a folder; give a file name.", Assert.Single(Options.Parse("--save", Path.GetTempPath()).Errors).Message);
        string fine = Path.Combine(Path.GetTempPath(), "w.safetensors");
        Assert.Empty(Options.Parse("--save", fine).Errors);
        Assert.False(Directory.EnumerateFiles(Path.GetTempPath(), ".fashionmnist-probe-*").Any(), "the probe file was left behind");
    }
}

public class ProgressTests
{
    private static EpochReport Report(int epoch) =>
        new(epoch, new EpochResult(0.312345, 0.891234, 60000, TimeSpan.FromSeconds(1.234)), new EvaluationResult(0.35, 0.871234, 10000), 0.05f);

    [Theory]
    [InlineData(40)]
    [InlineData(80)]
    [InlineData(100)]
    [InlineData(200)]
    public void Every_progress_row_fits_the_console_width(int width)
    {
        // An 80-column terminal once wrapped the epoch line and stacked the elapsed time down the screen.
        var console = new TestConsole().Width(width).Interactive().EmitAnsiSequences();
        const int epochs = 10, batches = 5;
        var reports = FashionMnist.Report.Run(epochs, batches, (onBatch, onEpoch) =>
        {
            var list = new List<EpochReport>();
            for (int e = 1; e <= epochs; e++)
            {
                for (int b = 1; b <= batches; b++) onBatch(b, batches);
                list.Add(Report(e));
                onEpoch(list[^1]);
            }
            return list;
        }, console);
        Assert.Equal(epochs, reports.Count);
        string text = Regex.Replace(console.Output, @"\x1b\[[0-9;?]*[A-Za-z]", "");
        string[] rows = text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Contains('%')).ToArray();
        Assert.NotEmpty(rows);
        // The final frame has one row per epoch, each with its summary, a full bar's percentage and the elapsed time.
        string[] last = rows.TakeLast(epochs).ToArray();
        for (int e = 1; e <= epochs; e++)
        {
            string row = last[e - 1];
            Assert.True(row.Length <= width, $"row of {row.Length} columns in {width}: '{row}'");
            Assert.Contains("100%", row);
            Assert.Matches(@"\d\d:\d\d:\d\d\s*$", row);
            Assert.StartsWith(width >= 80 ? $"epoch {e}" : $"{e}/{epochs}", row.TrimStart());
        }
        Assert.All(rows, row => Assert.True(row.Length <= width, $"row of {row.Length} columns in {width}: '{row}'"));
    }

    [Fact]
    public void The_summary_shortens_to_fit()
    {
        EpochReport r = Report(3);
        Assert.Equal("epoch 3: train loss 0.3123, train acc 0.8912, test acc 0.8712, 1.23 s, 48622 samples/s", FashionMnist.Report.Summary(r, 10, 200));
        Assert.Equal("epoch 3/10: loss 0.3123, test acc 0.8712", FashionMnist.Report.Summary(r, 10, 57));
        Assert.Equal("3/10 0.3123 0.8712", FashionMnist.Report.Summary(r, 10, 20));
        Assert.Equal("3/10", FashionMnist.Report.Summary(r, 10, 12));
    }
}

public class ChartTests
{
    [Theory]
    [InlineData(1, 1, new[] { 1 })]
    [InlineData(1, 3, new[] { 1, 2, 3 })]
    [InlineData(1, 20, new[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 })]
    [InlineData(1, 30, new[] { 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29 })]
    [InlineData(1, 100, new[] { 1, 6, 11, 16, 21, 26, 31, 36, 41, 46, 51, 56, 61, 66, 71, 76, 81, 86, 91, 96 })]
    [InlineData(5, 7, new[] { 5, 6, 7 })]
    public void Epoch_ticks_are_whole_epochs(int first, int last, int[] expected) => Assert.Equal(expected, Chart.EpochTicks(first, last));

    [Fact]
    public void The_chart_is_written_as_a_png()
    {
        string path = Path.Combine(Path.GetTempPath(), $"chart-{Guid.NewGuid():N}.png");
        try
        {
            var reports = Enumerable.Range(1, 3).Select(e => new EpochReport(e, new EpochResult(1.0 / e, 0.5 + 0.1 * e, 100, TimeSpan.FromSeconds(1)),
                new EvaluationResult(0.5, 0.5 + 0.05 * e, 10), 0.1f)).ToList();
            Chart.Save(reports, path, new string('x', 200));
            byte[] bytes = File.ReadAllBytes(path);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes.Take(4).ToArray());
            // The PNG's width from its IHDR chunk.
            Assert.Equal(760, (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19]);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public class DataAndWordsTests
{
    [Fact]
    public void An_empty_data_folder_names_all_four_files_it_lacks()
    {
        // It once named only the uncompressed training images it did not find.
        string folder = Path.Combine(Path.GetTempPath(), "empty-fashion-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var e = Assert.Throws<FileNotFoundException>(() => FashionData.Load(folder));
            foreach (string name in new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" })
            {
                Assert.Contains(name + "[.gz]", e.Message);
            }
            Assert.Contains(folder, e.Message);
            Assert.Contains("'embedded'", e.Message);
        }
        finally
        {
            Directory.Delete(folder);
        }
        Assert.Throws<DirectoryNotFoundException>(() => FashionData.Load(folder));
        (var train, var test, string source) = FashionData.Load("embedded");
        Assert.Equal(4000, train.Count);
        Assert.Equal(1000, test.Count);
        Assert.Contains("embedded subset", source);
    }

    [Theory]
    [InlineData(1, "epoch", "1 epoch")]
    [InlineData(2, "thread", "2 threads")]
    [InlineData(0, "epoch", "0 epochs")]
    public void Counts_agree_with_their_nouns(long n, string noun, string expected) => Assert.Equal(expected, Text.Count(n, noun));
}

public class RecipeTests
{
    /// <summary>
    /// Both LeNets start from d2l's train_ch6 initialisation: Xavier-uniform, bound sqrt(6 / (fan_in + fan_out)). The
    /// first Linear (400 or 256 inputs, 120 outputs) tells it from PyTorch's default, whose bound is 1 / sqrt(fan_in).
    /// </summary>
    [Theory]
    [InlineData("lenet", 400)]
    [InlineData("lenet-bn", 256)]
    public void The_LeNets_start_from_Xavier_uniform_weights(string model, int inFeatures)
    {
        Network net = Recipes.Create(model, 8, 1);
        var linears = new List<Linear>();
        net.Apply(m => { if (m is Linear l) linears.Add(l); });
        float[] weight = linears[0].Weight.Data.ToArray();
        Assert.Equal(inFeatures * 120, weight.Length);
        float bound = MathF.Sqrt(6f / (inFeatures + 120)), largest = weight.Max(MathF.Abs);
        Assert.InRange(largest, 0.95f * bound, bound);
        Assert.True(largest > 1 / MathF.Sqrt(inFeatures) * 1.5f, $"largest |w| {largest} is within PyTorch's default bound");
    }

    [Fact]
    public void The_MLP_starts_from_small_normal_weights_and_zero_biases()
    {
        Network net = Recipes.Create("mlp", 8, 1);
        var linears = new List<Linear>();
        net.Apply(m => { if (m is Linear l) linears.Add(l); });
        float[] weight = linears[0].Weight.Data.ToArray();
        double mean = weight.Average(), std = Math.Sqrt(weight.Average(w => (w - mean) * (w - mean)));
        Assert.InRange(std, 0.0095, 0.0105);
        Assert.All(linears[0].Bias!.Data.ToArray(), b => Assert.Equal(0f, b));
    }
}
