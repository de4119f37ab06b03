using System.Linq;

namespace StaticNet.Generator.Model;

/// <summary>
/// One layer after shape inference. Shapes are per sample (the batch dimension is implicit).
/// For Linear, A is in_features and B out_features; for Flatten, A and B are start_dim and end_dim as declared;
/// for Softmax, A is the declared dim. Real is Dropout's p or LeakyReLU's negative slope. For Block and Residual,
/// TypeName is the nested network's global:: name and Inner its layers.
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
    bool TanhApproximation,
    string? TypeName = null,
    EquatableArray<LayerModel> Inner = default)
{
    public int InputSize => Shapes.Size(InputShape);

    public int OutputSize => Shapes.Size(OutputShape);

    /// <summary>Flatten and Identity reuse their input buffer: no copy, no kernel.</summary>
    public bool IsView => Kind is LayerKind.Flatten or LayerKind.Identity;

    public bool HasParameters => ParameterCount > 0;

    public bool IsNested => Kind is LayerKind.Block or LayerKind.Residual;

    /// <summary>Floats of parameters this layer owns: Linear's weight [out, in] and bias [out]; a block's, all of its layers'.</summary>
    public int ParameterCount => Kind switch
    {
        LayerKind.Linear => A * B + (Bias ? B : 0),
        LayerKind.Block or LayerKind.Residual => Inner.Sum(l => l.ParameterCount),
        _ => 0,
    };
}
