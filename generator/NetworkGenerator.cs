using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Layers;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator;

/// <summary>
/// The incremental pipeline, wiring only: [Network] classes are parsed into models, models are emitted as source,
/// and diagnostics go out through their own output so that they never spoil the caching of sources.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class NetworkGenerator : IIncrementalGenerator
{
    /// <summary>Tracking names of the pipeline steps, for incremental-caching tests.</summary>
    public static class Steps
    {
        public const string Parse = "Parse";
        public const string Model = "Model";
        public const string Diagnostics = "Diagnostics";
        public const string OrphanLayers = "OrphanLayers";
        public const string ParseModule = "ParseModule";
    }

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValuesProvider<ParseResult<NetworkModel>> parsed = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                AttributeNames.Network,
                static (node, _) => node is TypeDeclarationSyntax,
                static (ctx, token) => NetworkParser.Parse(ctx, token))
            .WithTrackingName(Steps.Parse);

        IncrementalValuesProvider<NetworkModel> models = parsed
            .Select(static (result, _) => result.Model)
            .Where(static model => model is not null)
            .Select(static (model, _) => model!)
            .WithTrackingName(Steps.Model);

        IncrementalValuesProvider<DiagnosticList> diagnostics = parsed
            .Select(static (result, _) => result.Diagnostics)
            .WithTrackingName(Steps.Diagnostics);

        IncrementalValuesProvider<ParseResult<ModuleModel>> modules = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                AttributeNames.Module,
                static (node, _) => node is TypeDeclarationSyntax,
                static (ctx, token) => ModuleParser.Parse(ctx, token))
            .WithTrackingName(Steps.ParseModule);
        IncrementalValuesProvider<ModuleModel> moduleModels = modules
            .Select(static (result, _) => result.Model)
            .Where(static model => model is not null)
            .Select(static (model, _) => model!);

        // File names must differ without regard to case (CS8785 otherwise): the few types whose names would not get a
        // hash of their exact name added. Usually empty, so a change to one network re-emits only that network.
        IncrementalValueProvider<EquatableArray<string>> ambiguous = models.Select(static (m, _) => m.FullName).Collect()
            .Combine(moduleModels.Select(static (m, _) => m.FullName).Collect())
            .Select(static (names, _) => AmbiguousNames(names.Left.AddRange(names.Right)));

        context.RegisterSourceOutput(models.Combine(ambiguous), static (spc, pair) =>
            spc.AddSource(Code.HintName(pair.Left.FullName, Contains(pair.Right, pair.Left.FullName)),
                SourceText.From(NetworkEmitter.Emit(pair.Left), System.Text.Encoding.UTF8)));
        context.RegisterSourceOutput(diagnostics, static (spc, infos) => Report(spc, infos));
        context.RegisterSourceOutput(moduleModels.Combine(ambiguous), static (spc, pair) =>
            spc.AddSource(Code.HintName(pair.Left.FullName, Contains(pair.Right, pair.Left.FullName)),
                SourceText.From(ModuleEmitter.Emit(pair.Left), System.Text.Encoding.UTF8)));
        context.RegisterSourceOutput(modules.Select(static (result, _) => result.Diagnostics), static (spc, infos) => Report(spc, infos));

        foreach (LayerKind kind in LayerKinds.All)
        {
            IncrementalValuesProvider<DiagnosticList> orphans = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    kind.AttributeName,
                    static (node, _) => node is TypeDeclarationSyntax,
                    static (ctx, _) => NetworkParser.ParseOrphanLayer(ctx))
                .WithTrackingName(Steps.OrphanLayers);
            context.RegisterSourceOutput(orphans, static (spc, infos) => Report(spc, infos));
        }
    }

    /// <summary>The names whose file names would collide, ignoring case, with another's.</summary>
    private static EquatableArray<string> AmbiguousNames(System.Collections.Immutable.ImmutableArray<string> names) =>
        names.GroupBy(name => Code.HintName(name, disambiguate: false), System.StringComparer.OrdinalIgnoreCase)
            .Where(group => group.Distinct(System.StringComparer.Ordinal).Count() > 1)
            .SelectMany(group => group)
            .Distinct(System.StringComparer.Ordinal)
            .OrderBy(name => name, System.StringComparer.Ordinal)
            .ToEquatableArray();

    private static bool Contains(EquatableArray<string> names, string name)
    {
        foreach (string n in names)
        {
            if (n == name) return true;
        }
        return false;
    }

    private static void Report(SourceProductionContext context, DiagnosticList list)
    {
        foreach (DiagnosticInfo info in list.Items) context.ReportDiagnostic(info.ToDiagnostic());
    }
}
