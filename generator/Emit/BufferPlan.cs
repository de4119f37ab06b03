using System.Collections.Generic;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Emit;

/// <summary>
/// Where each step's output, each Linear's parameters and each dropout mask live in the arenas, as per-sample offsets
/// (activation offsets are multiplied by the largest batch at run time; parameter offsets are absolute). The input buffer
/// sits at activation offset 0; views (Flatten, Identity) share their input's buffer. Parameters are laid out in
/// state_dict order, so a nested block's parameters form one stretch starting at its BlockOffset.
/// </summary>
internal sealed class BufferPlan
{
    public BufferPlan(IReadOnlyList<Step> steps, int inputFloats)
    {
        int n = steps.Count;
        int[] output = new int[n], weight = new int[n], bias = new int[n], mask = new int[n], blockOffset = new int[n], input = new int[n];
        // The input buffer is at offset 0; 'activation' is the next free offset, 'previous' the buffer the next step reads.
        int activation = inputFloats, previous = 0, parameter = 0, masks = 0, previousStep = -1;
        for (int i = 0; i < n; i++)
        {
            Step step = steps[i];
            LayerModel layer = step.Layer;
            input[i] = previousStep;
            if (step.Kind == StepKind.BlockStart)
            {
                blockOffset[i] = parameter;
                continue;
            }
            if (step.Kind == StepKind.Layer && layer.IsView)
            {
                output[i] = previous;
            }
            else
            {
                output[i] = activation;
                activation += layer.OutputSize;
            }
            previous = output[i];
            previousStep = i;
            if (step.Kind == StepKind.Layer && layer.Kind == LayerKind.Linear)
            {
                weight[i] = parameter;
                parameter += layer.A * layer.B;
                bias[i] = parameter;
                if (layer.Bias) parameter += layer.B;
            }
            if (step.Kind == StepKind.Layer && layer.Kind == LayerKind.Dropout)
            {
                mask[i] = masks;
                masks += layer.OutputSize;
            }
        }
        OutputOffset = output;
        WeightOffset = weight;
        BiasOffset = bias;
        MaskOffset = mask;
        BlockOffset = blockOffset;
        InputStep = input;
        ParameterCount = parameter;
        MasksPerSample = masks;
        FirstParameterStep = -1;
        for (int i = 0; i < n && FirstParameterStep < 0; i++)
        {
            if (steps[i].Kind == StepKind.Layer && steps[i].Layer.HasParameters) FirstParameterStep = i;
        }
        foreach (Step step in steps) HasResidual |= step.Kind == StepKind.ResidualAdd;
        ActivationsPerSample = activation;
    }

    public IReadOnlyList<int> OutputOffset { get; }

    public IReadOnlyList<int> WeightOffset { get; }

    public IReadOnlyList<int> BiasOffset { get; }

    public IReadOnlyList<int> MaskOffset { get; }

    /// <summary>For a BlockStart step: where the block's parameters begin in the arena.</summary>
    public IReadOnlyList<int> BlockOffset { get; }

    /// <summary>The step whose output is each step's input (-1: the network's input).</summary>
    public IReadOnlyList<int> InputStep { get; }

    public int ActivationsPerSample { get; }

    public int ParameterCount { get; }

    public int MasksPerSample { get; }

    /// <summary>The first step with parameters, or -1. Steps before it need input gradients only when the caller asks for them.</summary>
    public int FirstParameterStep { get; }

    /// <summary>Residual sums route gradients around blocks, so every input gradient is then computed.</summary>
    public bool HasResidual { get; }
}
