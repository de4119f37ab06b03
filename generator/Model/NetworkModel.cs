namespace StaticNet.Generator.Model;

/// <summary>Everything the emitter needs for one network class: names, the input shape and the inferred layers.</summary>
internal sealed record NetworkModel(
    string? Namespace,
    string ClassName,
    EquatableArray<string> ContainingTypes,
    EquatableArray<int> InputShape,
    EquatableArray<LayerModel> Layers)
{
    /// <summary>Stable file name for the generated source: namespace, containing types and class, dot-separated.</summary>
    public string HintName
    {
        get
        {
            var parts = new System.Collections.Generic.List<string>();
            if (Namespace is not null) parts.Add(Namespace);
            foreach (string containing in ContainingTypes)
            {
                parts.Add(containing.Substring(containing.LastIndexOf(' ') + 1));
            }
            parts.Add(ClassName);
            return string.Join(".", parts) + ".g.cs";
        }
    }
}
