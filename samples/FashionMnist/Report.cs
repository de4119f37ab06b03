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

    /// <summary>
    /// Runs <paramref name="training"/> with a progress bar per epoch on an interactive console (<paramref name="console"/>,
    /// by default the terminal) and one line per epoch otherwise. Each row fits the console's width from 40 columns up:
    /// the bar narrows first, then the finished epoch's summary drops to its short form.
    /// </summary>
    public static IReadOnlyList<EpochReport> Run(int epochs, int batchesPerEpoch, Training training, IAnsiConsole? console = null)
    {
        console ??= AnsiConsole.Console;
        if (!console.Profile.Capabilities.Interactive || (ReferenceEquals(console, AnsiConsole.Console) && Console.IsOutputRedirected))
        {
            return training((_, _) => { }, report => console.WriteLine(Line(report)));
        }
        (int bar, int description) = Widths(console.Profile.Width);
        IReadOnlyList<EpochReport> reports = [];
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = bar }, new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                int epoch = 1;
                ProgressTask task = context.AddTask(Describe(epoch, epochs), maxValue: batchesPerEpoch);
                reports = training(
                    (done, _) => task.Value = done,
                    report =>
                    {
                        task.Description = Markup.Escape(Summary(report, epochs, description));
                        task.Value = batchesPerEpoch;
                        task.StopTask();
                        if (++epoch <= epochs) task = context.AddTask(Describe(epoch, epochs), maxValue: batchesPerEpoch);
                    });
            });
        return reports;
    }

    /// <summary>
    /// The bar's width and the room left for the description in a row of <paramref name="width"/> columns: the row is
    /// description, bar, percentage ("100%") and elapsed time ("00:00:00"), a space between each.
    /// </summary>
    public static (int Bar, int Description) Widths(int width)
    {
        const int fixedColumns = 4 + 8 + 3;
        int bar = Math.Clamp(width - fixedColumns - 60, 8, 40);
        return (bar, Math.Max(width - fixedColumns - bar, 12));
    }

    /// <summary>A finished epoch's summary in at most <paramref name="room"/> characters: the full line, a short one, or the bare figures.</summary>
    public static string Summary(EpochReport r, int epochs, int room)
    {
        string full = Line(r);
        if (full.Length <= room) return full;
        string loss = F(r.Train.Loss, "0.0000"), test = F(r.Test?.Accuracy ?? double.NaN, "0.0000");
        string shortForm = $"{Describe(r.Epoch, epochs)}: loss {loss}, test acc {test}";
        if (shortForm.Length <= room) return shortForm;
        string bare = $"{r.Epoch}/{epochs} {loss} {test}";
        return bare.Length <= room ? bare : $"{r.Epoch}/{epochs}";
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
