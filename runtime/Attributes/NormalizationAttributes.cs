namespace StaticNet;

/// <summary>
/// torch.nn.BatchNorm1d over [C] or [C, L] per sample: each channel normalised by the batch's mean and variance in
/// training mode (moving the running statistics toward them) and by the running statistics in eval mode.
/// </summary>
public sealed class BatchNorm1dAttribute : LayerAttribute
{
    /// <summary>A BatchNorm1d whose num_features is the channel count of the shape that arrives.</summary>
    public BatchNorm1dAttribute()
    {
    }

    /// <summary>A BatchNorm1d whose num_features is stated, and checked against the shape that arrives at compile time.</summary>
    public BatchNorm1dAttribute(int numFeatures) => NumFeatures = numFeatures;

    /// <summary>The stated num_features, or 0 when it is inferred.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance before its square root (1e-5 by default).</summary>
    public double Eps { get; set; } = 1e-5;

    /// <summary>
    /// How far the running statistics move toward each batch's (0.1 by default); null for a cumulative moving average,
    /// as PyTorch's momentum=None. A number from 0 to 1, or null.
    /// </summary>
    public object? Momentum { get; set; } = 0.1;

    /// <summary>Whether it has a learnable per-channel weight and bias (true by default).</summary>
    public bool Affine { get; set; } = true;

    /// <summary>Whether it keeps running statistics and uses them in eval mode (true by default).</summary>
    public bool TrackRunningStats { get; set; } = true;
}

/// <summary>torch.nn.BatchNorm2d over [C, H, W] per sample: BatchNorm1d's rule, with statistics over the batch and both spatial dimensions.</summary>
public sealed class BatchNorm2dAttribute : LayerAttribute
{
    /// <summary>A BatchNorm2d whose num_features is the channel count of the shape that arrives.</summary>
    public BatchNorm2dAttribute()
    {
    }

    /// <summary>A BatchNorm2d whose num_features is stated, and checked against the shape that arrives at compile time.</summary>
    public BatchNorm2dAttribute(int numFeatures) => NumFeatures = numFeatures;

    /// <inheritdoc cref="BatchNorm1dAttribute.NumFeatures"/>
    public int NumFeatures { get; }

    /// <inheritdoc cref="BatchNorm1dAttribute.Eps"/>
    public double Eps { get; set; } = 1e-5;

    /// <inheritdoc cref="BatchNorm1dAttribute.Momentum"/>
    public object? Momentum { get; set; } = 0.1;

    /// <inheritdoc cref="BatchNorm1dAttribute.Affine"/>
    public bool Affine { get; set; } = true;

    /// <inheritdoc cref="BatchNorm1dAttribute.TrackRunningStats"/>
    public bool TrackRunningStats { get; set; } = true;
}

/// <summary>
/// torch.nn.LayerNorm: each sample's trailing dimensions <c>normalized_shape</c> (checked against the shape that
/// arrives) normalised by their own mean and variance, the same in training and eval mode.
/// </summary>
public sealed class LayerNormAttribute(params int[] normalizedShape) : LayerAttribute
{
    /// <summary>The trailing dimensions normalised together, such as 256 for [B, 256] or 8, 8 for [B, C, 8, 8].</summary>
    public int[] NormalizedShape { get; } = normalizedShape;

    /// <summary>Added to the variance before its square root (1e-5 by default).</summary>
    public double Eps { get; set; } = 1e-5;

    /// <summary>Whether it has a learnable elementwise weight and bias (true by default).</summary>
    public bool ElementwiseAffine { get; set; } = true;

    /// <summary>Whether it has the bias, when elementwise affine (true by default).</summary>
    public bool Bias { get; set; } = true;
}
