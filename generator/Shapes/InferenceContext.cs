using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using StaticNet.Generator.Model;

namespace StaticNet.Generator;

/// <summary>
/// What a kind's shape rule sees of one layer: the shape that arrives, how to name the layer in messages, and where to
/// report problems (by attribute argument, so the parser can underline it). Plain data: no Roslyn types.
/// </summary>
internal sealed class InferenceContext
{
    private readonly List<ShapeError> _errors;
    private readonly int _errorsBefore;

    public InferenceContext(int index, string label, string networkName, IReadOnlyList<int> input, List<ShapeError> errors)
    {
        Index = index;
        Label = label;
        NetworkName = networkName;
        Input = input.ToEquatableArray();
        _errors = errors;
        _errorsBefore = errors.Count;
    }

    /// <summary>The layer's index in its network.</summary>
    public int Index { get; }

    /// <summary>The layer as messages name it: <c>layer 3 'head' (Linear)</c>.</summary>
    public string Label { get; }

    /// <summary>The network being inferred (for messages about sizes).</summary>
    public string NetworkName { get; }

    /// <summary>The per-sample shape that arrives.</summary>
    public EquatableArray<int> Input { get; }

    /// <summary>The shape that arrives with the batch in front, as messages show it: [B, 256].</summary>
    public string BatchedInput => Shapes.Batched(Input);

    /// <summary>Whether this layer has reported anything.</summary>
    public bool HasErrors => _errors.Count > _errorsBefore;

    /// <summary>Reports a problem with the positional argument at <paramref name="argument"/> (or the whole attribute).</summary>
    public void Error(string id, int argument, params string[] messageArgs) =>
        _errors.Add(new ShapeError(id, Index, argument, null, messageArgs));

    /// <summary>As <see cref="Error"/>, with the value a code fix puts in the argument's place.</summary>
    public void ErrorWithFix(string id, int argument, string fix, params string[] messageArgs) =>
        _errors.Add(new ShapeError(id, Index, argument, null, messageArgs, fix));

    /// <summary>Reports a problem with the named argument <paramref name="name"/> (the whole attribute when it is not written).</summary>
    public void NamedError(string id, string name, params string[] messageArgs) =>
        _errors.Add(new ShapeError(id, Index, ShapeError.WholeAttribute, name, messageArgs));

    /// <summary>SN0004: a size that must be positive is not.</summary>
    public void NonPositive(int argument, string what, int value) =>
        Error(DiagnosticDescriptors.NonPositiveSizeId, argument, what, Label, Text(value));

    /// <summary>SN0013: an argument outside what the layer accepts, with a sentence saying why.</summary>
    public void Invalid(int argument, string why) => Error(DiagnosticDescriptors.InvalidArgumentId, argument, Label, why);

    /// <summary>SN0013 for a named argument.</summary>
    public void InvalidNamed(string name, string why) => NamedError(DiagnosticDescriptors.InvalidArgumentId, name, Label, why);

    /// <summary>SN0025: the arriving rank is one the layer cannot take; <paramref name="expected"/> says which it takes.</summary>
    public void WrongRank(string expected) =>
        Error(DiagnosticDescriptors.InputRankId, ShapeError.WholeAttribute, Label, expected, BatchedInput);

    /// <summary>SN0014 when a buffer of <paramref name="floats"/> would not fit an array; returns whether it fits.</summary>
    public bool Fits(long floats)
    {
        if (floats <= int.MaxValue) return true;
        _errors.Add(new ShapeError(DiagnosticDescriptors.TooLargeId, Index, ShapeError.WholeAttribute, null, [NetworkName, Label, Text(int.MaxValue)]));
        return false;
    }

    /// <summary>PyTorch's dim wrapping over the batched rank (-1 is the last dimension); reports SN0007 and returns -1 when out of range.</summary>
    public int Dim(int argument, string what, int declared)
    {
        int rank = Input.Count + 1;
        int normalized = declared < 0 ? declared + rank : declared;
        if (normalized >= 1 && normalized < rank) return normalized;
        string expected = $"1 to {rank - 1} or -{rank - 1} to -1 (dimension 0 is the batch)";
        // The nearest valid dimension, keeping the sign the user chose: 0 (the batch) becomes 1.
        int nearest = declared < 0 ? -(rank - 1) : declared == 0 ? 1 : rank - 1;
        ErrorWithFix(DiagnosticDescriptors.DimOutOfRangeId, argument, Text(nearest), Label, what, Text(declared), BatchedInput, expected);
        return -1;
    }

    /// <summary>A per-sample shape built from the arriving one.</summary>
    public static EquatableArray<int> Shape(IEnumerable<int> dims) => dims.ToEquatableArray();

    public static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static string Text(IEnumerable<int> values) => "[" + string.Join(", ", values.Select(Text)) + "]";
}
