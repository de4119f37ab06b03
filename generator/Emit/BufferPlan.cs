using System.Collections.Generic;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Emit;

/// <summary>
/// Where each layer's output, parameters and dropout mask live in the arenas, as per-sample offsets
/// (activation offsets are multiplied by the largest batch at run time; parameter offsets are absolute).
/// The input buffer sits at activation offset 0; views (Flatten, Identity) share their input's buffer.
/// </summary>
internal sealed class BufferPlan
{
    public BufferPlan(NetworkModel model)
    {
        int layers = model.Layers.Count;
        int[] outputOffset = new int[layers], weightOffset = new int[layers], biasOffset = new int[layers], maskOffset = new int[layers];
        int activation = Shapes.Size(model.InputShape), previous = 0, parameter = 0, mask = 0;
        for (int i = 0; i < layers; i++)
        {
            LayerModel layer = model.Layers[i];
            if (layer.IsView)
            {
                outputOffset[i] = previous;
            }
            else
            {
                outputOffset[i] = activation;
                activation += layer.OutputSize;
            }
            previous = outputOffset[i];
            if (layer.Kind == LayerKind.Linear)
            {
                weightOffset[i] = parameter;
                parameter += layer.A * layer.B;
                biasOffset[i] = parameter;
                if (layer.Bias) parameter += layer.B;
            }
            if (layer.Kind == LayerKind.Dropout)
            {
                maskOffset[i] = mask;
                mask += layer.OutputSize;
            }
        }
        OutputOffset = outputOffset;
        WeightOffset = weightOffset;
        BiasOffset = biasOffset;
        MaskOffset = maskOffset;
        ActivationsPerSample = activation;
        ParameterCount = parameter;
        MasksPerSample = mask;
        FirstParameterLayer = -1;
        for (int i = 0; i < layers && FirstParameterLayer < 0; i++)
        {
            if (model.Layers[i].HasParameters) FirstParameterLayer = i;
        }
    }

    public IReadOnlyList<int> OutputOffset { get; }

    public IReadOnlyList<int> WeightOffset { get; }

    public IReadOnlyList<int> BiasOffset { get; }

    public IReadOnlyList<int> MaskOffset { get; }

    public int ActivationsPerSample { get; }

    public int ParameterCount { get; }

    public int MasksPerSample { get; }

    /// <summary>The first layer with parameters, or -1. Layers before it need input gradients only when the caller asks for them.</summary>
    public int FirstParameterLayer { get; }
}
