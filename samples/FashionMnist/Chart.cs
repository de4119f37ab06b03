using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using StaticNet;

namespace FashionMnist;

/// <summary>The training curves against epoch, like d2l's Animator: train loss, train accuracy, test accuracy.</summary>
public static class Chart
{
    /// <summary>
    /// Writes the chart as a PNG: whole-epoch ticks (every epoch up to 20, then a round step), the legend beside the data
    /// rather than over it, both axes labelled, and the title shortened to the width.
    /// </summary>
    public static void Save(IReadOnlyList<EpochReport> reports, string path, string title)
    {
        double[] epochs = reports.Select(r => (double)r.Epoch).ToArray();
        var plot = new ScottPlot.Plot();
        plot.Add.Scatter(epochs, reports.Select(r => r.Train.Loss).ToArray()).LegendText = "train loss";
        plot.Add.Scatter(epochs, reports.Select(r => r.Train.Accuracy).ToArray()).LegendText = "train acc";
        plot.Add.Scatter(epochs, reports.Select(r => r.Test?.Accuracy ?? double.NaN).ToArray()).LegendText = "test acc";
        plot.Title(Shorten($"Fashion-MNIST: {title}", 76), 14);
        plot.XLabel("epoch");
        plot.YLabel("loss / accuracy");
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (int epoch in EpochTicks(reports.Count == 0 ? 1 : reports[0].Epoch, reports.Count == 0 ? 1 : reports[^1].Epoch))
        {
            ticks.AddMajor(epoch, epoch.ToString(CultureInfo.InvariantCulture));
        }
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.ShowLegend(ScottPlot.Edge.Right);
        plot.SavePng(path, 760, 420);
    }

    /// <summary>The epochs that get a tick: every one up to 20 epochs, else a step of 2, 5, 10, 20, 50... keeping at most 20 ticks.</summary>
    public static IEnumerable<int> EpochTicks(int first, int last)
    {
        int span = last - first + 1, step = 1;
        int[] steps = [1, 2, 5];
        for (int scale = 1; span / step > 20; scale *= 10)
        {
            foreach (int s in steps)
            {
                step = s * scale;
                if (span / step <= 20) break;
            }
        }
        for (int epoch = first; epoch <= last; epoch += step) yield return epoch;
    }

    private static string Shorten(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max - 1), "…");
}
