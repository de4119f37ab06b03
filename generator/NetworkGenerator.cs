using System.Collections.Generic;
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
                static (node, _) => node is ClassDeclarationSyntax,
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

        context.RegisterSourceOutput(models, static (spc, model) =>
            spc.AddSource(model.HintName, SourceText.From(NetworkEmitter.Emit(model), System.Text.Encoding.UTF8)));
        context.RegisterSourceOutput(diagnostics, static (spc, infos) => Report(spc, infos));

        IncrementalValuesProvider<ParseResult<ModuleModel>> modules = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                AttributeNames.Module,
                static (node, _) => node is ClassDeclarationSyntax,
                static (ctx, token) => ModuleParser.Parse(ctx, token))
            .WithTrackingName(Steps.ParseModule);
        context.RegisterSourceOutput(modules.Select(static (result, _) => result.Model).Where(static model => model is not null),
            static (spc, model) => spc.AddSource(model!.HintName, SourceText.From(ModuleEmitter.Emit(model), System.Text.Encoding.UTF8)));
        context.RegisterSourceOutput(modules.Select(static (result, _) => result.Diagnostics), static (spc, infos) => Report(spc, infos));

        foreach (LayerKind kind in LayerKinds.All)
        {
            IncrementalValuesProvider<DiagnosticList> orphans = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    kind.AttributeName,
                    static (node, _) => node is ClassDeclarationSyntax,
                    static (ctx, _) => NetworkParser.ParseOrphanLayer(ctx))
                .WithTrackingName(Steps.OrphanLayers);
            context.RegisterSourceOutput(orphans, static (spc, infos) => Report(spc, infos));
        }
    }

    private static void Report(SourceProductionContext context, DiagnosticList list)
    {
        foreach (DiagnosticInfo info in list.Items) context.ReportDiagnostic(info.ToDiagnostic());
    }
}
