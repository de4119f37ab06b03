using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace StaticNet.Generator;

/// <summary>Small facts about per-sample shapes.</summary>
internal static class Shapes
{
    /// <summary>Element count; callers have already checked that it fits in an int.</summary>
    public static int Size(IReadOnlyList<int> shape) => (int)LongSize(shape);

    public static long LongSize(IReadOnlyList<int> shape)
    {
        long size = 1;
        foreach (int d in shape)
        {
            size *= d;
            if (size > int.MaxValue) return long.MaxValue;
        }
        return size;
    }

    /// <summary>Formats a per-sample shape with the batch dimension in front, as PyTorch users read it: [B, 1, 28, 28].</summary>
    public static string Batched(IReadOnlyList<int> shape)
    {
        var text = new StringBuilder("[B");
        foreach (int d in shape) text.Append(", ").Append(d.ToString(CultureInfo.InvariantCulture));
        return text.Append(']').ToString();
    }

    /// <summary>Formats a per-sample shape without the batch dimension: [1, 28, 28].</summary>
    public static string Plain(IReadOnlyList<int> shape)
    {
        var text = new StringBuilder("[");
        for (int i = 0; i < shape.Count; i++)
        {
            if (i > 0) text.Append(", ");
            text.Append(shape[i].ToString(CultureInfo.InvariantCulture));
        }
        return text.Append(']').ToString();
    }
}
