using System;

namespace StaticNet;

/// <summary>The base of every layer attribute. Layers apply in the order the attributes are written.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public abstract class LayerAttribute : Attribute
{
    /// <summary>
    /// The layer's name in parameter names (<c>head.weight</c>). By default it is the layer's index, as nn.Sequential numbers
    /// its modules. It must be unique, non-empty and without '.'.
    /// </summary>
    public string? Name { get; set; }
}

/// <summary>torch.nn.Flatten: flattens dimensions start_dim..end_dim of the batched tensor (dimension 0 is the batch).</summary>
public sealed class FlattenAttribute(int startDim = 1, int endDim = -1) : LayerAttribute
{
    /// <summary>The first dimension to flatten.</summary>
    public int StartDim { get; } = startDim;

    /// <summary>The last dimension to flatten; negative values count from the end.</summary>
    public int EndDim { get; } = endDim;
}

/// <summary>torch.nn.Linear over the last dimension: y = x W^T + b, with W of shape [out_features, in_features].</summary>
public sealed class LinearAttribute : LayerAttribute
{
    /// <summary>A Linear layer whose in_features is the last dimension of the shape that arrives.</summary>
    public LinearAttribute(int outFeatures) => OutFeatures = outFeatures;

    /// <summary>A Linear layer whose in_features is stated, and checked against the shape that arrives at compile time.</summary>
    public LinearAttribute(int inFeatures, int outFeatures)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    /// <summary>The stated in_features, or 0 when it is inferred.</summary>
    public int InFeatures { get; }

    /// <summary>The number of output features.</summary>
    public int OutFeatures { get; }

    /// <summary>Whether the layer has a bias (true by default, as in PyTorch).</summary>
    public bool Bias { get; set; } = true;
}

/// <summary>torch.nn.ReLU: max(x, 0).</summary>
public sealed class ReLUAttribute : LayerAttribute;

/// <summary>torch.nn.LeakyReLU: x for x &gt; 0, negative_slope * x otherwise.</summary>
public sealed class LeakyReLUAttribute(double negativeSlope = 0.01) : LayerAttribute
{
    /// <summary>The slope for negative inputs.</summary>
    public double NegativeSlope { get; } = negativeSlope;
}

/// <summary>torch.nn.Sigmoid: 1 / (1 + exp(-x)).</summary>
public sealed class SigmoidAttribute : LayerAttribute;

/// <summary>torch.nn.Tanh.</summary>
public sealed class TanhAttribute : LayerAttribute;

/// <summary>torch.nn.GELU: x * Phi(x), exact (approximate "none") or with the tanh approximation ("tanh").</summary>
public sealed class GELUAttribute : LayerAttribute
{
    /// <summary>"none" (the default, with erf) or "tanh", as torch.nn.GELU's approximate argument.</summary>
    public string Approximate { get; set; } = "none";
}

/// <summary>torch.nn.SiLU (swish): x * sigmoid(x).</summary>
public sealed class SiLUAttribute : LayerAttribute;

/// <summary>torch.nn.Softmax over one dimension of the batched tensor (the last by default), for an inference head.</summary>
public sealed class SoftmaxAttribute(int dim = -1) : LayerAttribute
{
    /// <summary>The dimension that sums to one; negative values count from the end.</summary>
    public int Dim { get; } = dim;
}

/// <summary>torch.nn.Dropout: in training, zeroes each element with probability p and scales the rest by 1 / (1 - p).</summary>
public sealed class DropoutAttribute(double p = 0.5) : LayerAttribute
{
    /// <summary>The probability of zeroing an element, in [0, 1).</summary>
    public double P { get; } = p;
}

/// <summary>torch.nn.Identity: passes its input through.</summary>
public sealed class IdentityAttribute : LayerAttribute;

/// <summary>
/// Another declared network used as a layer, as an nn.Sequential inside an nn.Sequential: its input shape is checked
/// against the shape that arrives, its output shape flows on, and its parameters are named with this layer's name as a
/// prefix (<c>2.0.weight</c>). Its layers run inside this network's generated code, over this network's arenas.
/// </summary>
public sealed class BlockAttribute(Type network) : LayerAttribute
{
    /// <summary>The [Network] class used as a block.</summary>
    public Type Network { get; } = network;
}

/// <summary>
/// A residual block: x + block(x), where block is another declared network whose output shape equals its input shape
/// (checked at compile time), or shortcut(x) + block(x) with a <see cref="Shortcut"/> network. Its parameters are named <c>{name}.block.{...}</c>, as a PyTorch module holding the block
/// in <c>self.block</c> would name them.
/// </summary>
public sealed class ResidualAttribute(Type network) : LayerAttribute
{
    /// <summary>The [Network] class inside the skip connection.</summary>
    public Type Network { get; } = network;

    /// <summary>
    /// A [Network] class run on the input in place of the identity (ResNet's projection: a 1 x 1 convolution with a
    /// stride, and a BatchNorm), so that the sum is block(x) + shortcut(x) and the block may change the shape. Its
    /// parameters are named <c>{name}.shortcut.{...}</c>. It must start with a layer, not a [Block] or [Residual].
    /// </summary>
    public Type? Shortcut { get; set; }
}
