using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using StaticNet.Generator.Model;

namespace StaticNet.Generator;

/// <summary>
/// Checks a declared layer stack and works out every layer's input and output shape, as nn.Sequential would see them.
/// Plain code over the model: no Roslyn types, so it is tested directly.
/// </summary>
internal static class ShapeInference
{
    public sealed record Result(EquatableArray<LayerModel> Layers, IReadOnlyList<ShapeError> Errors)
    {
        public bool Succeeded => Errors.Count == 0;
    }

    public static Result Infer(string networkName, IReadOnlyList<int> inputShape, IReadOnlyList<LayerSpec> specs)
    {
        var errors = new List<ShapeError>();
        if (inputShape.Count == 0)
        {
            errors.Add(new ShapeError(DiagnosticDescriptors.NoInputShapeId, -1, ShapeError.WholeAttribute, null, [networkName]));
        }
        for (int i = 0; i < inputShape.Count; i++)
        {
            if (inputShape[i] <= 0)
            {
                errors.Add(new ShapeError(DiagnosticDescriptors.NonPositiveSizeId, -1, i, null,
                    [$"input dimension {i}", $"network '{networkName}'", Text(inputShape[i])]));
            }
        }
        if (errors.Count == 0 && Shapes.LongSize(inputShape) > int.MaxValue)
        {
            errors.Add(TooLarge(-1, networkName, "the input sample " + Shapes.Plain(inputShape)));
        }
        if (specs.Count == 0)
        {
            errors.Add(new ShapeError(DiagnosticDescriptors.NoLayersId, -1, ShapeError.WholeAttribute, null, [networkName]));
        }
        if (errors.Count > 0) return new Result(EquatableArray<LayerModel>.Empty, errors);

        string[] names = CheckNames(specs, errors);
        var layers = new List<LayerModel>();
        List<int> shape = inputShape.ToList();
        long parameterCount = 0;
        for (int i = 0; i < specs.Count; i++)
        {
            LayerModel? layer = InferLayer(i, names[i], specs[i], shape, networkName, errors);
            if (layer is null) break; // the output shape is unknown, so later layers cannot be checked
            parameterCount += layer.ParameterCount;
            layers.Add(layer);
            shape = layer.OutputShape.ToList();
        }
        if (parameterCount > int.MaxValue)
        {
            errors.Add(TooLarge(-1, networkName, "the parameter arena"));
        }
        long activationsPerSample = Shapes.LongSize(inputShape) + layers.Sum(BufferFloats);
        if (activationsPerSample > int.MaxValue)
        {
            errors.Add(TooLarge(-1, networkName, "one sample's activations"));
        }
        return errors.Count == 0
            ? new Result(layers.ToEquatableArray(), errors)
            : new Result(EquatableArray<LayerModel>.Empty, errors);
    }

    /// <summary>Floats per sample of the buffers a layer adds: none for views, every inner buffer and the sum for a residual.</summary>
    private static long BufferFloats(LayerModel layer) => layer.Kind switch
    {
        LayerKind.Block => layer.Inner.Sum(BufferFloats),
        LayerKind.Residual => layer.Inner.Sum(BufferFloats) + layer.OutputSize,
        _ => layer.IsView ? 0 : layer.OutputSize,
    };

    /// <summary>A layer's label in messages: its index, its name when it has one of its own, and its kind.</summary>
    public static string Label(int index, string name, LayerKind kind) =>
        name == Text(index) ? $"layer {index} ({kind})" : $"layer {index} '{name}' ({kind})";

    private static string[] CheckNames(IReadOnlyList<LayerSpec> specs, List<ShapeError> errors)
    {
        var names = new string[specs.Count];
        var firstUse = new Dictionary<string, int>(System.StringComparer.Ordinal);
        for (int i = 0; i < specs.Count; i++)
        {
            string? declared = specs[i].Name;
            names[i] = declared ?? Text(i);
            if (declared is not null && (declared.Length == 0 || declared.IndexOf('.') >= 0))
            {
                errors.Add(new ShapeError(DiagnosticDescriptors.InvalidNameId, i, ShapeError.WholeAttribute, "Name",
                    [Text(i), declared]));
                continue;
            }
            if (firstUse.TryGetValue(names[i], out int first))
            {
                errors.Add(new ShapeError(DiagnosticDescriptors.DuplicateNameId, i, ShapeError.WholeAttribute,
                    declared is null ? null : "Name", [Label(i, names[i], specs[i].Kind), names[i], Label(first, names[first], specs[first].Kind)]));
            }
            else
            {
                firstUse.Add(names[i], i);
            }
        }
        return names;
    }

    private static LayerModel? InferLayer(int index, string name, LayerSpec spec, List<int> shape, string networkName, List<ShapeError> errors)
    {
        string label = Label(index, name, spec.Kind);
        EquatableArray<int> input = shape.ToEquatableArray();
        LayerModel Same(double real = 0, bool tanh = false, int a = 0) =>
            new(spec.Kind, index, name, input, input, a, 0, real, false, tanh);

        switch (spec.Kind)
        {
            case LayerKind.Flatten:
            {
                int rank = shape.Count + 1;
                int start = Normalize(spec.Ints[0], rank), end = Normalize(spec.Ints[1], rank);
                bool ok = CheckDim(index, label, 0, "start_dim", spec.Ints[0], start, shape, errors)
                          & CheckDim(index, label, 1, "end_dim", spec.Ints[1], end, shape, errors);
                if (!ok) return null;
                if (start > end)
                {
                    errors.Add(new ShapeError(DiagnosticDescriptors.FlattenOrderId, index, ShapeError.WholeAttribute, null,
                        [label, Text(spec.Ints[0]), Text(spec.Ints[1]), Shapes.Batched(shape)]));
                    return null;
                }
                var output = new List<int>();
                output.AddRange(shape.Take(start - 1));
                output.Add(Shapes.Size(shape.Skip(start - 1).Take(end - start + 1).ToList()));
                output.AddRange(shape.Skip(end));
                return new LayerModel(spec.Kind, index, name, input, output.ToEquatableArray(), spec.Ints[0], spec.Ints[1], 0, false, false);
            }
            case LayerKind.Linear:
            {
                bool declaresIn = spec.Ints.Count == 2;
                int outFeatures = spec.Ints[spec.Ints.Count - 1];
                int arriving = shape[shape.Count - 1];
                bool ok = true;
                if (declaresIn && spec.Ints[0] <= 0)
                {
                    errors.Add(new ShapeError(DiagnosticDescriptors.NonPositiveSizeId, index, 0, null, ["in_features", label, Text(spec.Ints[0])]));
                    ok = false;
                }
                else if (declaresIn && spec.Ints[0] != arriving)
                {
                    errors.Add(new ShapeError(DiagnosticDescriptors.LinearInFeaturesId, index, 0, null,
                        [label, Text(spec.Ints[0]), Shapes.Batched(shape), Text(arriving)]));
                }
                if (outFeatures <= 0)
                {
                    errors.Add(new ShapeError(DiagnosticDescriptors.NonPositiveSizeId, index, declaresIn ? 1 : 0, null, ["out_features", label, Text(outFeatures)]));
                    ok = false;
                }
                if (!ok) return null;
                var output = shape.Take(shape.Count - 1).Append(outFeatures).ToList();
                if ((long)arriving * outFeatures + outFeatures > int.MaxValue || Shapes.LongSize(output) > int.MaxValue)
                {
                    errors.Add(TooLarge(index, networkName, label));
                    return null;
                }
                return new LayerModel(spec.Kind, index, name, input, output.ToEquatableArray(), arriving, outFeatures, 0, spec.Bias, false);
            }
            case LayerKind.LeakyReLU:
                if (double.IsNaN(spec.Real) || double.IsInfinity(spec.Real))
                {
                    errors.Add(new ShapeError(DiagnosticDescriptors.InvalidArgumentId, index, 0, null,
                        [label, $"negative_slope must be finite, but it is {Text(spec.Real)}"]));
                }
                return Same(real: spec.Real);
            case LayerKind.GELU:
                if (spec.Text is not ("none" or "tanh"))
                {
                    errors.Add(new ShapeError(DiagnosticDescriptors.InvalidArgumentId, index, ShapeError.WholeAttribute, "Approximate",
                        [label, $"approximate must be \"none\" or \"tanh\", but it is {(spec.Text is null ? "null" : "\"" + spec.Text + "\"")}"]));
                }
                return Same(tanh: spec.Text == "tanh");
            case LayerKind.Softmax:
            {
                int dim = Normalize(spec.Ints[0], shape.Count + 1);
                if (!CheckDim(index, label, 0, "dim", spec.Ints[0], dim, shape, errors)) return null;
                return Same(a: spec.Ints[0]);
            }
            case LayerKind.Block or LayerKind.Residual:
            {
                NestedSpec nested = spec.Nested!;
                if (nested.ErrorId is not null)
                {
                    errors.Add(new ShapeError(nested.ErrorId, index, ShapeError.WholeAttribute, null,
                        nested.ErrorDetail is null ? [label, nested.ShortName] : [label, nested.ShortName, nested.ErrorDetail]));
                    return null;
                }
                Result inner = Infer(nested.ShortName, nested.InputShape, nested.Layers);
                if (!inner.Succeeded)
                {
                    errors.Add(new ShapeError(DiagnosticDescriptors.BlockHasErrorsId, index, ShapeError.WholeAttribute, null, [label, nested.ShortName]));
                    return null;
                }
                if (!nested.InputShape.SequenceEqual(shape))
                {
                    errors.Add(new ShapeError(DiagnosticDescriptors.BlockInputId, index, 0, null,
                        [label, nested.ShortName, Shapes.Batched(nested.InputShape), Shapes.Batched(shape)]));
                    return null;
                }
                EquatableArray<int> output = inner.Layers[inner.Layers.Count - 1].OutputShape;
                if (spec.Kind == LayerKind.Residual && !output.SequenceEqual(input))
                {
                    errors.Add(new ShapeError(DiagnosticDescriptors.ResidualShapeId, index, 0, null,
                        [label, nested.ShortName, Shapes.Batched(input), Shapes.Batched(output)]));
                    return null;
                }
                return new LayerModel(spec.Kind, index, name, input, output, 0, 0, 0, false, false, nested.TypeName, inner.Layers);
            }
            case LayerKind.Dropout:
                if (!(spec.Real >= 0 && spec.Real < 1))
                {
                    errors.Add(new ShapeError(DiagnosticDescriptors.DropoutProbabilityId, index, 0, null, [label, Text(spec.Real)]));
                }
                return Same(real: spec.Real);
            default:
                return Same();
        }
    }

    /// <summary>PyTorch's dim wrapping over the batched rank: -1 is the last dimension.</summary>
    private static int Normalize(int dim, int rank) => dim < 0 ? dim + rank : dim;

    private static bool CheckDim(int index, string label, int argument, string what, int declared, int normalized, List<int> shape, List<ShapeError> errors)
    {
        int rank = shape.Count + 1;
        if (normalized >= 1 && normalized < rank) return true;
        string expected = $"1 to {rank - 1} or -{rank - 1} to -1 (dimension 0 is the batch)";
        errors.Add(new ShapeError(DiagnosticDescriptors.DimOutOfRangeId, index, argument, null,
            [label, what, Text(declared), Shapes.Batched(shape), expected]));
        return false;
    }

    private static ShapeError TooLarge(int layerIndex, string networkName, string what) =>
        new(DiagnosticDescriptors.TooLargeId, layerIndex, ShapeError.WholeAttribute, null,
            [networkName, what, Text(int.MaxValue)]);

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
