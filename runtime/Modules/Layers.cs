using System;
using System.Globalization;

namespace StaticNet;

/// <summary>The module of a [Flatten] layer (torch.nn.Flatten). Generated code treats it as a view: no copy.</summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Module
{
    /// <summary>start_dim, as declared.</summary>
    public int StartDim { get; } = startDim;

    /// <summary>end_dim, as declared.</summary>
    public int EndDim { get; } = endDim;

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"start_dim={StartDim}, end_dim={EndDim}";
}

/// <summary>The module of a [ReLU] layer (torch.nn.ReLU).</summary>
public sealed class ReLU : Module;

/// <summary>The module of a [LeakyReLU] layer (torch.nn.LeakyReLU).</summary>
public sealed class LeakyReLU(float negativeSlope = 0.01f) : Module
{
    /// <summary>negative_slope.</summary>
    public float NegativeSlope { get; } = negativeSlope;

    /// <inheritdoc/>
    protected override string ExtraRepr() => "negative_slope=" + NegativeSlope.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The module of a [Sigmoid] layer (torch.nn.Sigmoid).</summary>
public sealed class Sigmoid : Module;

/// <summary>The module of a [Tanh] layer (torch.nn.Tanh).</summary>
public sealed class Tanh : Module;

/// <summary>The module of a [GELU] layer (torch.nn.GELU).</summary>
public sealed class GELU(string approximate = "none") : Module
{
    /// <summary>"none" or "tanh".</summary>
    public string Approximate { get; } = approximate is "none" or "tanh"
        ? approximate
        : throw new ArgumentException($"GELU approximate must be \"none\" or \"tanh\", but it is \"{approximate}\".", nameof(approximate));

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"approximate='{Approximate}'";
}

/// <summary>The module of a [SiLU] layer (torch.nn.SiLU).</summary>
public sealed class SiLU : Module;

/// <summary>The module of a [Softmax] layer (torch.nn.Softmax).</summary>
public sealed class Softmax(int dim = -1) : Module
{
    /// <summary>dim, as declared.</summary>
    public int Dim { get; } = dim;

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={Dim}";
}

/// <summary>The module of a [Dropout] layer (torch.nn.Dropout): active only in training mode.</summary>
public sealed class Dropout : Module
{
    /// <summary>A dropout module zeroing with probability <paramref name="p"/>.</summary>
    public Dropout(float p = 0.5f)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, $"Dropout probability must be from 0 to 1 (as torch.nn.Dropout), but it is {p}.");
        P = p;
    }

    /// <summary>The probability of zeroing an element.</summary>
    public float P { get; }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"p={P.ToString(CultureInfo.InvariantCulture)}, inplace=False";
}

/// <summary>The module of an [Identity] layer (torch.nn.Identity).</summary>
public sealed class Identity : Module;
