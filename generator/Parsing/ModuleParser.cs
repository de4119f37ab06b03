using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Parsing;

/// <summary>
/// Turns a class carrying [Module] into a <see cref="ModuleModel"/>: its instance fields and properties whose type is a
/// module (derives from StaticNet.Module, or is a [Network] or [Module] class whose base the generator adds), in source order.
/// </summary>
internal static class ModuleParser
{
    public static ParseResult<ModuleModel> Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        if (context.TargetSymbol is not INamedTypeSymbol type || context.TargetNode is not TypeDeclarationSyntax syntax)
        {
            return new ParseResult<ModuleModel>(null, DiagnosticList.Empty);
        }
        var diagnostics = new List<DiagnosticInfo>();
        LocationInfo? at = LocationInfo.From(syntax.Identifier.GetLocation());
        if (HasAttribute(type, AttributeNames.Network))
        {
            diagnostics.Add(ClassChecks.Info(DiagnosticDescriptors.ModuleAndNetworkId, at, type.Name));
        }
        ClassChecks.Check(type, syntax, context.SemanticModel.Compilation, AttributeNames.ModuleBase, diagnostics);

        var members = new List<(ISymbol Symbol, Location? Location)>();
        foreach (ISymbol member in type.GetMembers())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (member.IsStatic || member.IsImplicitlyDeclared) continue;
            ITypeSymbol? memberType = member switch
            {
                IFieldSymbol field => field.Type,
                IPropertySymbol { IsIndexer: false, GetMethod: not null } property => property.Type,
                _ => null,
            };
            if (memberType is INamedTypeSymbol named && IsModule(named)) members.Add((member, member.Locations.FirstOrDefault()));
        }
        members.Sort((a, b) => CompareSourceOrder(a.Location, b.Location));

        var children = new List<ChildMember>();
        var seen = new Dictionary<string, string>(System.StringComparer.Ordinal);
        foreach ((ISymbol member, Location? location) in members)
        {
            string stateName = StateName(member.Name);
            if (seen.TryGetValue(stateName, out string? other))
            {
                diagnostics.Add(ClassChecks.Info(DiagnosticDescriptors.DuplicateChildId, LocationInfo.From(location), other, member.Name, type.Name, stateName));
                continue;
            }
            seen.Add(stateName, member.Name);
            children.Add(new ChildMember(Code.Identifier(member.Name), stateName));
        }
        if (diagnostics.Count > 0) return new ParseResult<ModuleModel>(null, new DiagnosticList(diagnostics.ToEquatableArray()));
        (string? ns, EquatableArray<string> containing) = ClassChecks.Location(type);
        return new ParseResult<ModuleModel>(new ModuleModel(ns, Code.Identifier(type.Name), containing, children.ToEquatableArray()), DiagnosticList.Empty);
    }

    /// <summary>
    /// The PyTorch-style attribute name for a C# member: leading underscores dropped and snake_case, so that
    /// <c>_body</c> is <c>body</c>, <c>Heads</c> is <c>heads</c> and <c>MLPHead</c> is <c>mlp_head</c>.
    /// </summary>
    public static string StateName(string memberName)
    {
        string name = memberName.TrimStart('_');
        if (name.Length == 0) return memberName;
        var text = new System.Text.StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool boundary = i > 0 && char.IsUpper(c)
                && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]) || (i + 1 < name.Length && char.IsUpper(name[i - 1]) && char.IsLower(name[i + 1])));
            if (boundary && name[i - 1] != '_') text.Append('_');
            text.Append(char.ToLowerInvariant(c));
        }
        return text.ToString();
    }

    private static bool IsModule(INamedTypeSymbol type)
    {
        if (HasAttribute(type, AttributeNames.Network) || HasAttribute(type, AttributeNames.Module)) return true;
        for (INamedTypeSymbol? t = type; t is not null; t = t.BaseType)
        {
            if (t.ToDisplayString() == AttributeNames.ModuleBase) return true;
        }
        return false;
    }

    private static bool HasAttribute(INamedTypeSymbol type, string name) =>
        type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == name);

    private static int CompareSourceOrder(Location? a, Location? b)
    {
        if (a?.SourceTree is null || b?.SourceTree is null) return 0;
        int byFile = string.CompareOrdinal(a.SourceTree.FilePath, b.SourceTree.FilePath);
        return byFile != 0 ? byFile : a.SourceSpan.Start.CompareTo(b.SourceSpan.Start);
    }
}
