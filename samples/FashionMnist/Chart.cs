using System.Collections.Generic;
using System.Linq;
using StaticNet;

namespace FashionMnist;

/// <summary>The training curves against epoch, like d2l's Animator: train loss, train accuracy, test accuracy.</summary>
public static class Chart
{
    public static void Save(IReadOnlyList<EpochReport> reports, string path, string title)
    {
        double[] epochs = reports.Select(r => (double)r.Epoch).ToArray();
        var plot = new ScottPlot.Plot();
        plot.Add.Scatter(epochs, reports.Select(r => r.Train.Loss).ToArray()).LegendText = "train loss";
        plot.Add.Scatter(epochs, reports.Select(r => r.Train.Accuracy).ToArray()).LegendText = "train acc";
        plot.Add.Scatter(epochs, reports.Select(r => r.Test?.Accuracy ?? double.NaN).ToArray()).LegendText = "test acc";
        plot.Title($"Fashion-MNIST: {title}");
        plot.XLabel("epoch");
        plot.ShowLegend(ScottPlot.Alignment.MiddleRight);
        plot.SavePng(path, 640, 420);
    }
}
