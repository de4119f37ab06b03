using System.Collections.Generic;
using StaticNet.Generator.Layers;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Emit;

internal enum StepKind
{
    /// <summary>A layer's computation.</summary>
    Layer,

    /// <summary>A comment where a [Block] or [Residual] begins; no code.</summary>
    BlockStart,

    /// <summary>A comment where a [Residual]'s shortcut begins, reading the residual's input again; no code.</summary>
    ShortcutStart,

    /// <summary>The sum block(x) + x (or + shortcut(x)) that ends a [Residual].</summary>
    ResidualAdd,
}

/// <summary>
/// One step of the flattened layer list that Forward runs in order and Backward in reverse: nested blocks are inlined,
/// so that every buffer and parameter of theirs lives in this network's arenas. Id names its buffer (h{Id}) and
/// fields; Label is the dotted path as in state_dict names; ModuleExpression reaches the layer's module from this class;
/// Input is the index of the step whose output it reads (-1 for the network's input).
/// For ResidualAdd, Input is the block's last step, Skip the step whose output is added to it (the residual's input, or
/// the shortcut's last step) and FirstInner the block's first step (after which the skip's gradient is added). A
/// BlockStart of a residual with a shortcut has the index of its ShortcutStart in Shortcut.
/// </summary>
internal sealed record Step(StepKind Kind, LayerModel Layer, string Id, string Label, string ModuleExpression, int Input,
    int Skip = -1, int FirstInner = -1, int Shortcut = -1)
{
    /// <summary>Inside a block: its module is reached through the block, so a step that reads it keeps it in a field.</summary>
    public bool IsNested => Id.IndexOf('_') >= 0;

    public static List<Step> Flatten(EquatableArray<LayerModel> layers)
    {
        var steps = new List<Step>();
        Add(steps, layers, "", "", i => "_layer" + Code.Int(i), input: -1);
        return steps;
    }

    /// <summary>Adds the steps of <paramref name="layers"/>, the first reading step <paramref name="input"/>; returns the step whose output is theirs.</summary>
    private static int Add(List<Step> steps, EquatableArray<LayerModel> layers, string idPrefix, string labelPrefix, System.Func<int, string> module, int input)
    {
        for (int i = 0; i < layers.Count; i++)
        {
            LayerModel layer = layers[i];
            string id = idPrefix + Code.Int(i), label = labelPrefix + layer.Name, expression = module(i);
            if (layer is not NestedModel nested)
            {
                steps.Add(new Step(StepKind.Layer, layer, id, label, expression, input));
                input = steps.Count - 1;
                continue;
            }
            int start = steps.Count;
            steps.Add(new Step(StepKind.BlockStart, layer, id, label, expression, input));
            int firstInner = steps.Count;
            string owner = nested.BlockExpression(expression);
            int blockOutput = Add(steps, nested.Inner, id + "_", label + "." + nested.InnerPrefix, j => $"{owner}.NamedChildren()[{Code.Int(j)}].Module", input);
            if (!nested.AddsInput)
            {
                input = blockOutput;
                continue;
            }
            int skip = input;
            if (nested.Shortcut.Count > 0)
            {
                steps[start] = steps[start] with { Shortcut = steps.Count };
                steps.Add(new Step(StepKind.ShortcutStart, layer, id + "_s", label + ".shortcut", expression, input));
                string shortcut = nested.ShortcutExpression(expression);
                skip = Add(steps, nested.Shortcut, id + "_s", label + ".shortcut.", j => $"{shortcut}.NamedChildren()[{Code.Int(j)}].Module", input);
            }
            while (steps[firstInner].Kind == StepKind.BlockStart) firstInner++; // a nested block's start has no backward
            steps.Add(new Step(StepKind.ResidualAdd, layer, id, label, expression, blockOutput, skip, firstInner));
            input = steps.Count - 1;
        }
        return input;
    }
}
