using StaticNet.Generator.Model;

namespace StaticNet.Generator.Emit;

/// <summary>Writes the generated half of a [Module] class: the base class and its children, read from the members each time.</summary>
internal static class ModuleEmitter
{
    private const string Child = "(string Name, global::StaticNet.Module Module)";

    public static string Emit(ModuleModel model) =>
        GeneratedFile.Write(model.Namespace, model.ContainingTypes, $"partial class {model.ClassName} : global::StaticNet.Module", w =>
        {
            w.Line("/// <summary>The modules held in this class's members, in declaration order; unset (null) members are left out.</summary>");
            w.Open($"public override global::System.Collections.Generic.IReadOnlyList<{Child}> NamedChildren()");
            w.Line($"var children = new global::System.Collections.Generic.List<{Child}>({model.Children.Count});");
            foreach (ChildMember child in model.Children)
            {
                w.Line($"if (this.{child.MemberName} is not null) children.Add(({Code.String(child.StateName)}, this.{child.MemberName}));");
            }
            w.Line("return children;");
            w.Close();
        });
}
