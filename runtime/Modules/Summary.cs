using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace StaticNet;

/// <summary>
/// One row of a model summary: a layer (or a [Block]/[Residual] with its totals) with its state_dict name, its kind and
/// arguments, the shape of one output sample, its parameter count and its multiply-adds per sample (matrix products and
/// convolutions, as torchinfo counts them). Depth counts the blocks around it. Generated networks carry these as a table.
/// </summary>
public sealed record LayerSummary(string Name, string Type, int Depth, IReadOnlyList<int> OutputShape, long Parameters, long MultiplyAdds);

/// <summary>
/// What <see cref="Network.Summary"/> returns, in the manner of torchinfo's summary: the layers, the totals (trainable
/// and frozen parameters, multiply-adds per sample and per largest batch) and the memory the network's arenas take for
/// the batch size it was constructed with. <see cref="ToString"/> formats it as a table.
/// </summary>
public sealed record ModelSummary(
    string Network, IReadOnlyList<int> InputShape, int MaxBatch, IReadOnlyList<LayerSummary> Layers,
    long TotalParameters, long TrainableParameters, long MultiplyAdds,
    long ParameterBytes, long GradientBytes, long BufferBytes, long ActivationBytes, long ActivationGradientBytes, long SavedBytes)
{
    /// <summary>Every arena together.</summary>
    public long TotalBytes => ParameterBytes + GradientBytes + BufferBytes + ActivationBytes + ActivationGradientBytes + SavedBytes;

    /// <inheritdoc/>
    public override string ToString()
    {
        string[] header = ["Layer", "Type", "Output shape", "Param #", "Mult-adds"];
        List<string[]> rows = Layers.Select(l => new[]
        {
            new string(' ', 2 * l.Depth) + l.Name, l.Type, "[" + string.Join(", ", l.OutputShape) + "]", N(l.Parameters), N(l.MultiplyAdds),
        }).ToList();
        int[] widths = new int[header.Length];
        for (int c = 0; c < header.Length; c++) widths[c] = rows.Select(r => r[c].Length).Append(header[c].Length).Max();
        string Row(string[] r) => string.Join("  ", r.Select((cell, c) => c >= 3 ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]))).TrimEnd();
        string rule = new('=', widths.Sum() + 2 * (widths.Length - 1));
        var text = new StringBuilder();
        text.AppendLine($"{Network}: input [{string.Join(", ", InputShape)}] per sample, batches of up to {MaxBatch}");
        text.AppendLine(rule).AppendLine(Row(header)).AppendLine(rule);
        foreach (string[] row in rows) text.AppendLine(Row(row));
        text.AppendLine(rule);
        text.AppendLine($"Total params: {N(TotalParameters)}");
        text.AppendLine($"Trainable params: {N(TrainableParameters)}");
        text.AppendLine($"Non-trainable params: {N(TotalParameters - TrainableParameters)}");
        text.AppendLine($"Mult-adds: {N(MultiplyAdds)} per sample, {N(MultiplyAdds * MaxBatch)} per batch of {MaxBatch}");
        text.AppendLine(rule);
        text.AppendLine($"Parameters and gradients: {Megabytes(ParameterBytes + GradientBytes)}; buffers: {Megabytes(BufferBytes)}");
        text.AppendLine($"Activations, their gradients and saved tensors for {MaxBatch} samples: {Megabytes(ActivationBytes + ActivationGradientBytes + SavedBytes)}");
        text.Append($"Total arenas: {Megabytes(TotalBytes)}");
        return text.ToString();
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Megabytes(long bytes) => (bytes / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " MB";
}
