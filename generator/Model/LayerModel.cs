namespace StaticNet.Generator.Model;

/// <summary>
/// One layer after shape inference. Shapes are per sample (the batch dimension is implicit).
/// For Linear, A is in_features and B out_features; for Flatten, A and B are start_dim and end_dim as declared;
/// for Softmax, A is the declared dim. Real is Dropout's p or LeakyReLU's negative slope.
/// </summary>
internal sealed record LayerModel(
    LayerKind Kind,
    int Index,
    string Name,
    EquatableArray<int> InputShape,
    EquatableArray<int> OutputShape,
    int A,
    int B,
    double Real,
    bool Bias,
    bool TanhApproximation)
{
    public int InputSize => Shapes.Size(InputShape);

    public int OutputSize => Shapes.Size(OutputShape);

    /// <summary>Flatten and Identity reuse their input buffer: no copy, no kernel.</summary>
    public bool IsView => Kind is LayerKind.Flatten or LayerKind.Identity;

    public bool HasParameters => Kind == LayerKind.Linear;

    /// <summary>Floats of parameters this layer owns: Linear's weight [out, in] and bias [out].</summary>
    public int ParameterCount => Kind == LayerKind.Linear ? A * B + (Bias ? B : 0) : 0;
}
