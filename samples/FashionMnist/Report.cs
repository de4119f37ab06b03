using System;
using System.Collections.Generic;
using System.Globalization;
using Spectre.Console;
using StaticNet;

namespace FashionMnist;

/// <summary>
/// Progress while training and the final table: a Spectre.Console progress bar per epoch on a terminal, one plain line
/// per epoch when the output is redirected (Spectre draws no progress bar then).
/// </summary>
public static class Report
{
    public delegate IReadOnlyList<EpochReport> Training(Action<int, int> onBatch, Action<EpochReport> onEpoch);

    public static IReadOnlyList<EpochReport> Run(int epochs, int batchesPerEpoch, Training training)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive || Console.IsOutputRedirected)
        {
            return training((_, _) => { }, report => Console.WriteLine(Line(report)));
        }
        IReadOnlyList<EpochReport> reports = [];
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                int epoch = 1;
                ProgressTask task = context.AddTask(Describe(epoch, epochs), maxValue: batchesPerEpoch);
                reports = training(
                    (done, _) => task.Value = done,
                    report =>
                    {
                        task.Description = Markup.Escape(Line(report));
                        task.Value = batchesPerEpoch;
                        task.StopTask();
                        if (++epoch <= epochs) task = context.AddTask(Describe(epoch, epochs), maxValue: batchesPerEpoch);
                    });
            });
        return reports;
    }

    public static void Table(IReadOnlyList<EpochReport> reports)
    {
        var table = new Table().AddColumns("epoch", "train loss", "train acc", "test acc", "seconds", "samples/s");
        foreach (EpochReport r in reports)
        {
            table.AddRow(r.Epoch.ToString(CultureInfo.InvariantCulture), F(r.Train.Loss, "0.0000"), F(r.Train.Accuracy, "0.0000"),
                F(r.Test?.Accuracy ?? double.NaN, "0.0000"), F(r.Train.Elapsed.TotalSeconds, "0.00"), F(r.Train.SamplesPerSecond, "0"));
        }
        AnsiConsole.Write(table);
    }

    private static string Describe(int epoch, int epochs) => $"epoch {epoch}/{epochs}";

    private static string Line(EpochReport r) =>
        $"epoch {r.Epoch}: train loss {F(r.Train.Loss, "0.0000")}, train acc {F(r.Train.Accuracy, "0.0000")}, " +
        $"test acc {F(r.Test?.Accuracy ?? double.NaN, "0.0000")}, {F(r.Train.Elapsed.TotalSeconds, "0.00")} s, {F(r.Train.SamplesPerSecond, "0")} samples/s";

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
