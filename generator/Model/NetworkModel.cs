namespace StaticNet.Generator.Model;

/// <summary>Everything the emitter needs for one network class: names, the input shape and the inferred layers.</summary>
internal sealed record NetworkModel(
    string? Namespace,
    string ClassName,
    EquatableArray<string> ContainingTypes,
    EquatableArray<int> InputShape,
    EquatableArray<LayerModel> Layers)
{
    /// <summary>The type's dotted name (namespace, containing types, class), from which its file name is made.</summary>
    public string FullName => TypeName(Namespace, ContainingTypes, ClassName);

    public static string TypeName(string? ns, EquatableArray<string> containingTypes, string className)
    {
        var parts = new System.Collections.Generic.List<string>();
        if (ns is not null) parts.Add(ns);
        foreach (string containing in containingTypes) parts.Add(containing.Substring(containing.LastIndexOf(' ') + 1));
        parts.Add(className);
        return string.Join(".", parts);
    }
}
