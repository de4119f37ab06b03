namespace StaticNet.Generator.Model;

/// <summary>
/// The network a [Block] or [Residual] layer uses, read from its own attributes: its global:: type name, its input shape
/// and layers, or why it cannot be used (ErrorId, with a detail for the message). InlinedLayers counts the layers its
/// code will have once every nested network in it is inlined (each nested layer itself counted once).
/// </summary>
internal sealed record NestedSpec(
    string TypeName,
    string ShortName,
    EquatableArray<int> InputShape,
    EquatableArray<LayerSpec> Layers,
    string? ErrorId = null,
    string? ErrorDetail = null,
    long InlinedLayers = 0);
