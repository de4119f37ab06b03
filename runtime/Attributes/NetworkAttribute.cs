using System;

namespace StaticNet;

/// <summary>
/// Marks a partial class as a network and gives the shape of one input sample (any rank of at least 1, without the batch).
/// The layer attributes that follow it, in order, are the layers, as in torch.nn.Sequential.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class NetworkAttribute(params int[] inputShape) : Attribute
{
    /// <summary>The per-sample input shape, for example 1, 28, 28 for a grey 28x28 image.</summary>
    public int[] InputShape { get; } = inputShape;
}
