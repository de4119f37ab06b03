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

    /// <summary>The sum x + block(x) that ends a [Residual].</summary>
    ResidualAdd,
}

/// <summary>
/// One step of the flattened layer list that Forward runs in order and Backward in reverse: nested blocks are inlined,
/// so that every buffer and parameter of theirs lives in this network's arenas. Id names its buffer (h{Id}) and
/// fields; Label is the dotted path as in state_dict names; ModuleExpression reaches the layer's module from this class.
/// For ResidualAdd, Skip is the index of the step whose output is the residual's input (-1 for the network input) and
/// FirstInner the index of the block's first step.
/// </summary>
internal sealed record Step(StepKind Kind, LayerModel Layer, string Id, string Label, string ModuleExpression, int Skip = -1, int FirstInner = -1)
{
    /// <summary>Inside a block: its module is reached through the block, so a step that reads it keeps it in a field.</summary>
    public bool IsNested => Id.IndexOf('_') >= 0;

    public static List<Step> Flatten(EquatableArray<LayerModel> layers)
    {
        var steps = new List<Step>();
        Add(steps, layers, "", "", i => "_layer" + Code.Int(i));
        return steps;
    }

    private static void Add(List<Step> steps, EquatableArray<LayerModel> layers, string idPrefix, string labelPrefix, System.Func<int, string> module)
    {
        for (int i = 0; i < layers.Count; i++)
        {
            LayerModel layer = layers[i];
            string id = idPrefix + Code.Int(i), label = labelPrefix + layer.Name, expression = module(i);
            if (layer is not NestedModel nested)
            {
                steps.Add(new Step(StepKind.Layer, layer, id, label, expression));
                continue;
            }
            steps.Add(new Step(StepKind.BlockStart, layer, id, label, expression));
            int skip = steps.Count - 2; // the step before the block start produced the block's input
            while (skip >= 0 && steps[skip].Kind == StepKind.BlockStart) skip--;
            int firstInner = steps.Count;
            string owner = nested.BlockExpression(expression);
            Add(steps, nested.Inner, id + "_", label + "." + nested.InnerPrefix, j => $"{owner}.NamedChildren()[{Code.Int(j)}].Module");
            if (nested.AddsInput)
            {
                while (steps[firstInner].Kind == StepKind.BlockStart) firstInner++; // a nested block's start has no backward
                steps.Add(new Step(StepKind.ResidualAdd, layer, id, label, expression, skip, firstInner));
            }
        }
    }
}
