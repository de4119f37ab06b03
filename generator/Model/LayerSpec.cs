namespace StaticNet.Generator.Model;

/// <summary>
/// One layer as declared, before shape inference: the attribute's arguments, unchecked.
/// Unused fields keep their defaults. Argument positions follow the attribute constructor.
/// </summary>
internal sealed record LayerSpec(
    LayerKind Kind,
    string? Name,
    EquatableArray<int> Ints,
    double Real,
    bool Bias,
    string? Text);
