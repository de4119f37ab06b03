using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Layers;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Parsing;

/// <summary>
/// Turns a class carrying [Network] into a <see cref="NetworkModel"/>: reads the attributes in source order,
/// checks the class itself, runs shape inference and places every error on the attribute or argument at fault.
/// Never throws on incomplete code: where the compiler already reports an error in an attribute, it stays silent.
/// </summary>
internal static class NetworkParser
{
    public static ParseResult<NetworkModel> Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var diagnostics = new List<DiagnosticInfo>();
        if (context.TargetSymbol is not INamedTypeSymbol type || context.TargetNode is not TypeDeclarationSyntax syntax)
        {
            return Empty;
        }

        // A class with [Module] too is reported (SN0015) by the module parser; generating either half would only add errors.
        if (type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == AttributeNames.Module)) return Empty;
        ClassChecks.Check(type, syntax, context.SemanticModel.Compilation, AttributeNames.NetworkBase, diagnostics);
        if (diagnostics.Count > 0) return Result(null, diagnostics);

        AttributeData network = context.Attributes[0];
        if (network.AttributeConstructor is null || HasErrorArgument(network)) return Empty;
        int[] inputShape = AttributeArguments.ReadInts(network.ConstructorArguments);
        List<(AttributeData Data, LayerKind Kind)>? layers = LayerAttributes(type, cancellationToken);
        if (layers is null) return Empty;
        if (SplitDeclarations(type, layers) is DiagnosticInfo split) return Result(null, [split]);
        var reading = new Reading(context.SemanticModel.Compilation, type);
        LayerSpec[] specs = layers.Select(l => ToSpec(l.Data, l.Kind, reading)).ToArray();
        long inlined = 0;
        for (int i = 0; i < specs.Length; i++)
        {
            inlined += InlinedLayers(specs[i]);
            if (inlined > MaxInlinedLayers && specs[i].Arguments is NestedArguments { Network.ErrorId: null } nested)
            {
                // Each block fits, but not all of them together: report where the sum passes the bound.
                diagnostics.Add(new DiagnosticInfo(DiagnosticDescriptors.TooManyLayersId, LocationInfo.From(layers[i].Data.ApplicationSyntaxReference?.GetSyntax().GetLocation()),
                    new[] { ShapeInference.Label(i, specs[i].Name ?? ShapeInference.Text(i), layers[i].Kind.Name), nested.Network.ShortName, $"'{type.Name}' would have {Count(inlined)} with the layers before it" }.ToEquatableArray()));
                return Result(null, diagnostics);
            }
        }
        ShapeInference.Result inference = ShapeInference.Infer(type.Name, inputShape, specs);
        foreach (ShapeError error in inference.Errors)
        {
            AttributeData at = error.LayerIndex < 0 ? network : layers[error.LayerIndex].Data;
            diagnostics.Add(new DiagnosticInfo(error.Id, LocationInfo.From(ArgumentLocation(at, error)), error.MessageArgs.ToEquatableArray(), error.Fix));
        }
        if (!inference.Succeeded) return Result(null, diagnostics);
        for (int i = 0; i < inference.Layers.Count; i++)
        {
            // Valid, as in PyTorch, but often a forgotten [Flatten]: a suggestion the IDE can fix, which users may silence.
            if (inference.Layers[i] is Layers.LinearModel { InputShape.Count: > 1 } linear)
            {
                diagnostics.Add(new DiagnosticInfo(DiagnosticDescriptors.LinearOnManyDimensionsId, LocationInfo.From(layers[i].Data.ApplicationSyntaxReference?.GetSyntax().GetLocation()),
                    new[] { ShapeInference.Label(i, linear.Name, "Linear"), Shapes.Batched(linear.InputShape), ShapeInference.Text(linear.InputShape[linear.InputShape.Count - 1]) }.ToEquatableArray()));
            }
        }

        (string? ns, EquatableArray<string> containing) = ClassChecks.Location(type);
        var model = new NetworkModel(ns, Code.Identifier(type.Name), containing, inputShape.ToEquatableArray(), inference.Layers);
        return Result(model, diagnostics);
    }

    /// <summary>For a layer attribute on a class without [Network]: one diagnostic per such attribute.</summary>
    public static DiagnosticList ParseOrphanLayer(GeneratorAttributeSyntaxContext context)
    {
        if (context.TargetSymbol is not INamedTypeSymbol type) return DiagnosticList.Empty;
        bool hasNetwork = type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == AttributeNames.Network);
        if (hasNetwork) return DiagnosticList.Empty;
        return new DiagnosticList(context.Attributes
            .Select(a => new DiagnosticInfo(DiagnosticDescriptors.LayerWithoutNetworkId,
                LocationInfo.From(a.ApplicationSyntaxReference?.GetSyntax().GetLocation()),
                new[] { ShortName(a), type.Name }.ToEquatableArray()))
            .ToEquatableArray());
    }

    private static readonly ParseResult<NetworkModel> Empty = new(null, DiagnosticList.Empty);

    private static ParseResult<NetworkModel> Result(NetworkModel? model, List<DiagnosticInfo> diagnostics) =>
        new(model, diagnostics.Count == 0 ? DiagnosticList.Empty : new DiagnosticList(diagnostics.ToEquatableArray()));

    /// <summary>The layer attributes of a class in source order, or null when the compiler reports an error in one of them.</summary>
    private static List<(AttributeData Data, LayerKind Kind)>? LayerAttributes(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        var layers = new List<(AttributeData Data, LayerKind Kind)>();
        foreach (AttributeData attribute in type.GetAttributes())
        {
            cancellationToken.ThrowIfCancellationRequested();
            string? name = attribute.AttributeClass?.ToDisplayString();
            LayerKind? kind = name is null ? null : LayerKinds.ForAttribute(name);
            if (kind is null) continue;
            if (attribute.AttributeConstructor is null || HasErrorArgument(attribute)) return null;
            layers.Add((attribute, kind));
        }
        layers.Sort((a, b) => CompareSourceOrder(a.Data, b.Data));
        return layers;
    }

    /// <summary>
    /// The most layers a network may have once its blocks are inlined (ResNet-152 has about 500): a bound on the generated
    /// code, which grows with the inlined count, not with the declarations (blocks nested two to a level double it per level).
    /// </summary>
    public const int MaxInlinedLayers = 2048;

    /// <summary>
    /// The state of one network's reading: the networks being read, outermost first (so that a network containing
    /// itself is reported, not followed), and each nested network read so far (so that a network used many times is
    /// read once, and reading stays linear in the declarations however the blocks nest).
    /// </summary>
    private sealed class Reading(Compilation compilation, INamedTypeSymbol root)
    {
        public Compilation Compilation { get; } = compilation;

        public List<INamedTypeSymbol> Visiting { get; } = [root];

        public Dictionary<INamedTypeSymbol, NestedSpec> Read { get; } = new(SymbolEqualityComparer.Default);
    }

    private static long InlinedLayers(LayerSpec spec) => spec.Arguments is NestedArguments n
        ? 1 + n.Network.InlinedLayers + (n.Shortcut?.InlinedLayers ?? 0)
        : 1;

    private static string Count(long layers) => layers.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) + " layers";

    /// <summary>Reads the network a [Block] or [Residual] uses from its own attributes, recursively, once per network.</summary>
    private static NestedSpec ReadNested(INamedTypeSymbol type, Reading reading)
    {
        if (reading.Read.TryGetValue(type, out NestedSpec? known)) return known;
        NestedSpec spec = ReadNestedOnce(type, reading);
        // A loop depends on where the network is read from; everything else is the network's own.
        if (spec.ErrorId != DiagnosticDescriptors.RecursiveBlockId) reading.Read[type] = spec;
        return spec;
    }

    private static NestedSpec ReadNestedOnce(INamedTypeSymbol type, Reading reading)
    {
        List<INamedTypeSymbol> visiting = reading.Visiting;
        Compilation compilation = reading.Compilation;
        string typeName = type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
        NestedSpec Fail(string id, string? detail = null) =>
            new(typeName, type.Name, EquatableArray<int>.Empty, EquatableArray<LayerSpec>.Empty, id, detail);

        AttributeData? network = type.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == AttributeNames.Network);
        if (network is null) return Fail(DiagnosticDescriptors.NotANetworkId);
        int loop = visiting.FindIndex(v => SymbolEqualityComparer.Default.Equals(v, type));
        if (loop >= 0)
        {
            return Fail(DiagnosticDescriptors.RecursiveBlockId, string.Join(" -> ", visiting.Skip(loop).Select(v => v.Name).Append(type.Name)));
        }
        if (network.AttributeConstructor is null || HasErrorArgument(network) || HasClassErrors(type, compilation)) return Fail(DiagnosticDescriptors.BlockHasErrorsId);
        List<(AttributeData Data, LayerKind Kind)>? layers = LayerAttributes(type, CancellationToken.None);
        if (layers is null || SplitDeclarations(type, layers) is not null) return Fail(DiagnosticDescriptors.BlockHasErrorsId);
        visiting.Add(type);
        LayerSpec[] specs = layers.Select(l => ToSpec(l.Data, l.Kind, reading)).ToArray();
        visiting.RemoveAt(visiting.Count - 1);
        // A loop or an oversized network found deeper down is this block's problem too: report it where the user declared the block.
        NestedSpec[] below = specs.SelectMany(l => l.Arguments is NestedArguments n ? new[] { n.Network, n.Shortcut } : []).OfType<NestedSpec>().ToArray();
        NestedSpec? loopBelow = below.FirstOrDefault(n => n.ErrorId == DiagnosticDescriptors.RecursiveBlockId);
        if (loopBelow is not null) return Fail(DiagnosticDescriptors.RecursiveBlockId, loopBelow.ErrorDetail);
        NestedSpec? tooLarge = below.FirstOrDefault(n => n.ErrorId == DiagnosticDescriptors.TooManyLayersId);
        if (tooLarge is not null) return Fail(DiagnosticDescriptors.TooManyLayersId, type.Name + " -> " + tooLarge.ErrorDetail);
        long inlined = specs.Sum(InlinedLayers);
        if (inlined > MaxInlinedLayers) return Fail(DiagnosticDescriptors.TooManyLayersId, $"{type.Name}, which alone would have {Count(inlined)}");
        return new NestedSpec(typeName, type.Name, AttributeArguments.ReadInts(network.ConstructorArguments).ToEquatableArray(), specs.ToEquatableArray(),
            InlinedLayers: inlined);
    }

    /// <summary>
    /// Layer attributes on more than one partial declaration: their order would be the order of the files' paths, so
    /// that renaming a file could change the network. Reported on the first layer of the second declaration.
    /// </summary>
    private static DiagnosticInfo? SplitDeclarations(INamedTypeSymbol type, List<(AttributeData Data, LayerKind Kind)> layers)
    {
        SyntaxNode? first = null;
        foreach ((AttributeData data, _) in layers)
        {
            SyntaxNode? syntax = data.ApplicationSyntaxReference?.GetSyntax();
            SyntaxNode? declaration = syntax?.Parent?.Parent;
            if (declaration is null) continue;
            first ??= declaration;
            if (declaration != first)
            {
                return new DiagnosticInfo(DiagnosticDescriptors.SplitLayersId, LocationInfo.From(syntax!.GetLocation()),
                    new[] { type.Name, Path(first), Path(declaration) }.ToEquatableArray());
            }
        }
        return null;

        static string Path(SyntaxNode declaration)
        {
            FileLinePositionSpan span = declaration.GetLocation().GetLineSpan();
            return $"{System.IO.Path.GetFileName(span.Path)}:{span.StartLinePosition.Line + 1}";
        }
    }

    /// <summary>Whether a network declared in this compilation fails the class checks, so that its code is not generated.</summary>
    private static bool HasClassErrors(INamedTypeSymbol type, Compilation compilation)
    {
        if (type.TypeParameters.Length > 0) return true;
        if (type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == AttributeNames.Module)) return true;
        foreach (SyntaxReference reference in type.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax() is not TypeDeclarationSyntax declaration) return true;
            var diagnostics = new List<DiagnosticInfo>();
            ClassChecks.Check(type, declaration, compilation, AttributeNames.NetworkBase, diagnostics);
            if (diagnostics.Count > 0) return true;
        }
        return false;
    }

    private static LayerSpec ToSpec(AttributeData attribute, LayerKind kind, Reading reading)
    {
        string? name = attribute.NamedArguments.FirstOrDefault(a => a.Key == "Name").Value.Value as string;
        NestedSpec ReadNetwork(ITypeSymbol? type) => type is INamedTypeSymbol named
            ? ReadNested(named, reading)
            : new NestedSpec("?", "?", EquatableArray<int>.Empty, EquatableArray<LayerSpec>.Empty, DiagnosticDescriptors.NotANetworkId);
        return new LayerSpec(kind, name, kind.Read(new AttributeArguments(attribute, ReadNetwork)));
    }

    private static bool HasErrorArgument(AttributeData attribute) =>
        attribute.ConstructorArguments.Any(a => a.Kind == TypedConstantKind.Error)
        || attribute.NamedArguments.Any(a => a.Value.Kind == TypedConstantKind.Error);

    private static int CompareSourceOrder(AttributeData a, AttributeData b)
    {
        SyntaxReference? x = a.ApplicationSyntaxReference, y = b.ApplicationSyntaxReference;
        if (x is null || y is null) return 0;
        int byFile = string.CompareOrdinal(x.SyntaxTree.FilePath, y.SyntaxTree.FilePath);
        return byFile != 0 ? byFile : x.Span.Start.CompareTo(y.Span.Start);
    }

    /// <summary>The narrowest place to underline: the named or positional argument at fault, else the whole attribute.</summary>
    private static Location? ArgumentLocation(AttributeData attribute, ShapeError error)
    {
        if (attribute.ApplicationSyntaxReference?.GetSyntax() is not AttributeSyntax syntax) return null;
        SeparatedSyntaxList<AttributeArgumentSyntax> arguments = syntax.ArgumentList?.Arguments ?? default;
        if (error.NamedArgument is not null)
        {
            foreach (AttributeArgumentSyntax argument in arguments)
            {
                if (argument.NameEquals?.Name.Identifier.ValueText == error.NamedArgument) return argument.GetLocation();
            }
        }
        else if (error.Argument >= 0)
        {
            ImmutableArray<IParameterSymbol> parameters = attribute.AttributeConstructor?.Parameters ?? ImmutableArray<IParameterSymbol>.Empty;
            bool isParams = parameters.Length == 1 && parameters[0].IsParams;
            int position = 0;
            foreach (AttributeArgumentSyntax argument in arguments)
            {
                if (argument.NameEquals is not null) continue;
                int index = position++;
                if (argument.NameColon is not null && !isParams)
                {
                    string parameterName = argument.NameColon.Name.Identifier.ValueText;
                    index = parameters.Select(p => p.Name).ToList().IndexOf(parameterName);
                }
                if (index == error.Argument && !(isParams && IsArrayArgument(argument))) return argument.GetLocation();
            }
        }
        return syntax.GetLocation();
    }

    private static bool IsArrayArgument(AttributeArgumentSyntax argument) =>
        argument.Expression is ArrayCreationExpressionSyntax or ImplicitArrayCreationExpressionSyntax or CollectionExpressionSyntax;

    private static string ShortName(AttributeData attribute)
    {
        string name = attribute.AttributeClass?.Name ?? "?";
        return name.EndsWith("Attribute", System.StringComparison.Ordinal) ? name.Substring(0, name.Length - "Attribute".Length) : name;
    }

}
