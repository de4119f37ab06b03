namespace StaticNet.Generator.Parsing;

/// <summary>Metadata names of the runtime's class-level attributes and base classes (layer attributes: see Layers/LayerKinds).</summary>
internal static class AttributeNames
{
    public const string Network = "StaticNet.NetworkAttribute";
    public const string NetworkBase = "StaticNet.Network";
    public const string Module = "StaticNet.ModuleAttribute";
    public const string ModuleBase = "StaticNet.Module";
}
