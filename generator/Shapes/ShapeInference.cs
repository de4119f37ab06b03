using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using StaticNet.Generator.Layers;
using StaticNet.Generator.Model;

namespace StaticNet.Generator;

/// <summary>
/// Checks a declared layer stack and works out every layer's input and output shape, as nn.Sequential would see them:
/// the network-wide checks here (input shape, names, sizes), each layer's own rule in its kind.
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
            errors.Add(TooLarge(networkName, "the input sample " + Shapes.Plain(inputShape)));
        }
        if (specs.Count == 0)
        {
            errors.Add(new ShapeError(DiagnosticDescriptors.NoLayersId, -1, ShapeError.WholeAttribute, null, [networkName]));
        }
        if (errors.Count > 0) return new Result(EquatableArray<LayerModel>.Empty, errors);

        string[] names = CheckNames(specs, errors);
        var layers = new List<LayerModel>();
        IReadOnlyList<int> shape = inputShape;
        long parameterFloats = 0, bufferFloats = 0;
        for (int i = 0; i < specs.Count; i++)
        {
            var context = new InferenceContext(i, Label(i, names[i], specs[i].Kind.Name), networkName, shape, errors);
            LayerModel? layer = specs[i].Kind.Infer(specs[i].Arguments, context);
            if (layer is null) break; // the output shape is unknown, so later layers cannot be checked
            layer = layer with { Index = i, Name = names[i], InputShape = context.Input };
            parameterFloats += layer.ParameterFloats;
            bufferFloats += layer.BufferFloats;
            layers.Add(layer);
            shape = layer.OutputShape;
        }
        if (parameterFloats > int.MaxValue) errors.Add(TooLarge(networkName, "the parameter arena"));
        if (bufferFloats > int.MaxValue) errors.Add(TooLarge(networkName, "the buffer arena"));
        long activationsPerSample = Shapes.LongSize(inputShape) + layers.Sum(ActivationFloats);
        if (activationsPerSample > int.MaxValue) errors.Add(TooLarge(networkName, "one sample's activations"));
        return errors.Count == 0
            ? new Result(layers.ToEquatableArray(), errors)
            : new Result(EquatableArray<LayerModel>.Empty, errors);
    }

    /// <summary>Floats per sample of the buffers a layer adds: none for views, every inner buffer (and the sum, for a residual) for a nested network.</summary>
    private static long ActivationFloats(LayerModel layer) => layer switch
    {
        NestedModel nested => nested.Inner.Sum(ActivationFloats) + nested.Shortcut.Sum(ActivationFloats)
            + (nested.AddsInput ? layer.OutputSize : 0) + (nested.Shortcut.Count > 0 ? layer.InputSize : 0),
        _ => layer.Kind.Output(layer) == OutputBuffer.View ? 0 : layer.OutputSize,
    };

    /// <summary>A layer's label in messages: its index, its name when it has one of its own, and its kind.</summary>
    public static string Label(int index, string name, string kind) =>
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
                    declared is null ? null : "Name", [Label(i, names[i], specs[i].Kind.Name), names[i], Label(first, names[first], specs[first].Kind.Name)]));
            }
            else
            {
                firstUse.Add(names[i], i);
            }
        }
        return names;
    }

    private static ShapeError TooLarge(string networkName, string what) =>
        new(DiagnosticDescriptors.TooLargeId, -1, ShapeError.WholeAttribute, null, [networkName, what, Text(int.MaxValue)]);

    public static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
