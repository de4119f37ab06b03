namespace StaticNet.Generator.Model;

/// <summary>A [Module] class: where it lives and the members that hold its child modules, in declaration order.</summary>
internal sealed record ModuleModel(
    string? Namespace,
    string ClassName,
    EquatableArray<string> ContainingTypes,
    EquatableArray<ChildMember> Children)
{
    /// <summary>The type's dotted name, as for networks.</summary>
    public string FullName => NetworkModel.TypeName(Namespace, ContainingTypes, ClassName);
}

/// <summary>A field or property holding a child module, and the name it gets in state_dict keys.</summary>
internal sealed record ChildMember(string MemberName, string StateName);
