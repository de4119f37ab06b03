using System;
using System.Collections.Generic;
using StaticNet.Generator.Layers;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Emit;

/// <summary>
/// Where everything lives in the arenas, for any layer kind: each step's output (a per-sample offset in the activation
/// arena, multiplied by the largest batch at run time; the input sits at 0; views share their input's buffer), a
/// residual shortcut's input gradient (its own region of the activation-gradient arena), and
/// each step's parameters, F32 buffers and saved tensors, keyed by step and slot name. Parameters and buffers are laid
/// out in state_dict order, so a nested block's form one stretch of each arena from its BlockStart. Saved tensors sized
/// per sample come first in their arena, those of fixed size after all of them.
/// </summary>
internal sealed class BufferPlan
{
    private readonly Dictionary<(int Step, string Slot), int> _parameters = new();
    private readonly Dictionary<(int Step, string Slot), int> _buffers = new();
    private readonly Dictionary<(int Step, string Slot), (int PerSample, int Fixed)> _saved = new();

    public BufferPlan(IReadOnlyList<Step> steps, int inputFloats)
    {
        int n = steps.Count;
        int[] output = new int[n], blockParameters = new int[n], blockBuffers = new int[n], shortcutGrad = new int[n];
        // The input buffer is at offset 0; 'activation' is the next free offset.
        int activation = inputFloats, parameter = 0, buffer = 0, savedPerSample = 0, savedFixed = 0;
        var fixedSlots = new List<(int Step, string Slot, int Offset)>();
        for (int i = 0; i < n; i++)
        {
            Step step = steps[i];
            LayerModel layer = step.Layer;
            if (step.Kind is StepKind.BlockStart or StepKind.ShortcutStart)
            {
                blockParameters[i] = parameter;
                blockBuffers[i] = buffer;
                if (step.Kind == StepKind.ShortcutStart)
                {
                    // The shortcut's first step writes its input gradient here, to be added once the block has written its own.
                    shortcutGrad[i] = activation;
                    activation += layer.InputSize;
                }
                continue;
            }
            if (step.Kind == StepKind.Layer && layer.Kind.Output(layer) == OutputBuffer.View)
            {
                output[i] = step.Input < 0 ? 0 : output[step.Input];
            }
            else
            {
                output[i] = activation;
                activation += layer.OutputSize;
            }
            if (step.Kind != StepKind.Layer) continue;
            foreach (TensorSlot slot in layer.Parameters)
            {
                _parameters.Add((i, slot.Name), parameter);
                parameter += slot.Size;
            }
            foreach (TensorSlot slot in layer.Buffers)
            {
                if (slot.DType != TensorDType.F32) continue;
                _buffers.Add((i, slot.Name), buffer);
                buffer += slot.Size;
            }
            foreach (SavedSlot slot in layer.Saved)
            {
                if (slot.PerSample > 0 && slot.Fixed > 0) throw new InvalidOperationException($"Saved tensor '{slot.Name}' must be sized per sample or fixed, not both.");
                if (slot.PerSample > 0)
                {
                    _saved.Add((i, slot.Name), (savedPerSample, 0));
                    savedPerSample += slot.PerSample;
                }
                else
                {
                    fixedSlots.Add((i, slot.Name, savedFixed));
                    savedFixed += slot.Fixed;
                }
            }
        }
        foreach ((int step, string slot, int offset) in fixedSlots) _saved.Add((step, slot), (savedPerSample, offset));

        OutputOffset = output;
        ShortcutGradOffset = shortcutGrad;
        BlockParameterOffset = blockParameters;
        BlockBufferOffset = blockBuffers;
        ParameterCount = parameter;
        BufferCount = buffer;
        ActivationsPerSample = activation;
        SavedPerSample = savedPerSample;
        SavedFixed = savedFixed;
        FirstParameterStep = -1;
        for (int i = 0; i < n && FirstParameterStep < 0; i++)
        {
            if (steps[i].Kind == StepKind.Layer && steps[i].Layer.Parameters.Count > 0) FirstParameterStep = i;
        }
        foreach (Step step in steps) HasResidual |= step.Kind == StepKind.ResidualAdd;
    }

    public IReadOnlyList<int> OutputOffset { get; }

    /// <summary>For a ShortcutStart step: where (in the activation-gradient arena) the shortcut's input gradient goes.</summary>
    public IReadOnlyList<int> ShortcutGradOffset { get; }

    /// <summary>For a BlockStart or ShortcutStart step: where the nested network's parameters begin in the arena.</summary>
    public IReadOnlyList<int> BlockParameterOffset { get; }

    /// <summary>For a BlockStart or ShortcutStart step: where the nested network's F32 buffers begin in the buffer arena.</summary>
    public IReadOnlyList<int> BlockBufferOffset { get; }

    public int ActivationsPerSample { get; }

    public int ParameterCount { get; }

    public int BufferCount { get; }

    /// <summary>Floats of saved tensors per sample of the largest batch.</summary>
    public int SavedPerSample { get; }

    /// <summary>Floats of saved tensors whatever the batch.</summary>
    public int SavedFixed { get; }

    /// <summary>The first step with parameters, or -1. Steps before it need input gradients only when the caller asks for them.</summary>
    public int FirstParameterStep { get; }

    /// <summary>Residual sums route gradients around blocks, so every input gradient is then computed.</summary>
    public bool HasResidual { get; }

    public int Parameter(int step, string slot) => _parameters[(step, slot)];

    public int Buffer(int step, string slot) => _buffers[(step, slot)];

    /// <summary>A saved tensor's start: per-sample floats before it (times the largest batch) plus fixed floats.</summary>
    public (int PerSample, int Fixed) Saved(int step, string slot) => _saved[(step, slot)];
}
