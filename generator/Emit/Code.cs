using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace StaticNet.Generator.Emit;

/// <summary>Numbers as C# literals and in comments, culture-invariant, so generated code is the same everywhere.</summary>
internal static class Code
{
    public const string Span = "global::System.Span<float>";
    public const string Kernels = "global::StaticNet.Kernels";

    public static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Ints(IEnumerable<int> values) => string.Join(", ", values.Select(Int));

    /// <summary>A float literal: <c>0.1f</c>.</summary>
    public static string Real(double value) => Number(value) + "f";

    /// <summary>A float as PyTorch's repr shows it, for comments: <c>0.1</c>, <c>1E-05</c>.</summary>
    public static string Number(double value) => ((float)value).ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A per-sample count times the batch: <c>batch</c> or <c>batch * 28</c>.</summary>
    public static string PerBatch(int perSample) => perSample == 1 ? "batch" : $"batch * {Int(perSample)}";

    /// <summary>A per-sample offset times the largest batch, as written in a Slice call.</summary>
    public static string Scaled(int perSample) => perSample == 0 ? "0" : $"{Int(perSample)} * n";

    /// <summary>PyTorch's bool repr: True / False.</summary>
    public static string Bool(bool value) => value ? "True" : "False";
}
