using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Parsing;

/// <summary>What every class the generator adds code to must satisfy, and where its generated half goes.</summary>
internal static class ClassChecks
{
    /// <summary>Reports why the class cannot take generated code: not partial (or a containing type not partial), generic, static, a record, or another base.</summary>
    public static void Check(INamedTypeSymbol type, TypeDeclarationSyntax syntax, Compilation compilation, string expectedBase, List<DiagnosticInfo> diagnostics)
    {
        LocationInfo? at = LocationInfo.From(syntax.Identifier.GetLocation());
        if (!syntax.Modifiers.Any(SyntaxKind.PartialKeyword))
        {
            diagnostics.Add(Info(DiagnosticDescriptors.NotPartialId, at, type.Name));
        }
        for (INamedTypeSymbol? outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            foreach (SyntaxReference reference in outer.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax() is TypeDeclarationSyntax declaration && !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                {
                    diagnostics.Add(Info(DiagnosticDescriptors.NotPartialId, LocationInfo.From(declaration.Identifier.GetLocation()), outer.Name));
                    break;
                }
            }
            if (outer.TypeParameters.Length > 0)
            {
                diagnostics.Add(Info(DiagnosticDescriptors.UnsupportedClassId, at, type.Name, $"it is nested in the generic type '{outer.Name}'"));
            }
        }
        if (type.TypeParameters.Length > 0)
        {
            diagnostics.Add(Info(DiagnosticDescriptors.UnsupportedClassId, at, type.Name, "it is generic"));
        }
        if (type.IsStatic)
        {
            diagnostics.Add(Info(DiagnosticDescriptors.UnsupportedClassId, at, type.Name, "it is static"));
        }
        if (type.IsRecord)
        {
            diagnostics.Add(Info(DiagnosticDescriptors.UnsupportedClassId, at, type.Name, "it is a record"));
        }
        else if (type.TypeKind != TypeKind.Class)
        {
            diagnostics.Add(Info(DiagnosticDescriptors.UnsupportedClassId, at, type.Name, "it is not a class"));
        }
        // A module's generated half declares no constructor, so only a network cannot have a primary constructor.
        foreach (SyntaxReference reference in expectedBase == AttributeNames.NetworkBase ? type.DeclaringSyntaxReferences : [])
        {
            if (reference.GetSyntax() is TypeDeclarationSyntax { ParameterList: not null } declaration)
            {
                diagnostics.Add(Info(DiagnosticDescriptors.UnsupportedClassId, LocationInfo.From(declaration.ParameterList.GetLocation()), type.Name,
                    "it has a primary constructor, and the generated constructors (maxBatch, seed) could not call it"));
                break;
            }
        }
        INamedTypeSymbol? baseType = type.BaseType;
        if (baseType is { SpecialType: SpecialType.System_Object } && DeclaresObjectBase(type, compilation))
        {
            diagnostics.Add(Info(DiagnosticDescriptors.UnsupportedClassId, at, type.Name,
                $"it derives from 'object' explicitly, but the generator makes it derive from {expectedBase}"));
        }
        else if (baseType is not null && baseType.SpecialType != SpecialType.System_Object && baseType.ToDisplayString() != expectedBase)
        {
            diagnostics.Add(Info(DiagnosticDescriptors.UnsupportedClassId, at, type.Name,
                $"it derives from '{baseType.ToDisplayString()}', but the generator makes it derive from {expectedBase}"));
        }
    }

    /// <summary>Whether some declaration of the class names 'object' as its base (the symbol cannot tell that from no base at all).</summary>
    private static bool DeclaresObjectBase(INamedTypeSymbol type, Compilation compilation)
    {
        foreach (SyntaxReference reference in type.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax() is not ClassDeclarationSyntax { BaseList.Types: { Count: > 0 } types }) continue;
            SemanticModel model = compilation.GetSemanticModel(reference.SyntaxTree);
            if (model.GetTypeInfo(types[0].Type).Type is { SpecialType: SpecialType.System_Object }) return true;
        }
        return false;
    }

    /// <summary>
    /// The namespace (null for the global one) and the declarations of the containing types, outermost first, with
    /// keywords escaped (<c>@class</c>) as generated code needs them.
    /// </summary>
    public static (string? Namespace, EquatableArray<string> ContainingTypes) Location(INamedTypeSymbol type)
    {
        var parts = new List<string>();
        for (INamespaceSymbol n = type.ContainingNamespace; !n.IsGlobalNamespace; n = n.ContainingNamespace) parts.Insert(0, Code.Identifier(n.Name));
        string? ns = parts.Count == 0 ? null : string.Join(".", parts);
        var containing = new List<string>();
        for (INamedTypeSymbol? outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            containing.Insert(0, TypeKeyword(outer) + " " + Code.Identifier(outer.Name));
        }
        return (ns, containing.ToEquatableArray());
    }

    public static DiagnosticInfo Info(string id, LocationInfo? location, params string[] args) =>
        new(id, location, args.ToEquatableArray());

    private static string TypeKeyword(INamedTypeSymbol type) => type switch
    {
        { IsRecord: true, TypeKind: TypeKind.Struct } => "partial record struct",
        { IsRecord: true } => "partial record",
        { TypeKind: TypeKind.Struct } => "partial struct",
        { TypeKind: TypeKind.Interface } => "partial interface",
        _ => "partial class",
    };
}
