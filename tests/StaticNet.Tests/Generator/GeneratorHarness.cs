using System;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Basic.Reference.Assemblies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using StaticNet.Generator;

namespace StaticNet.Tests.Generator;

/// <summary>Runs the generator on source text in memory, against the .NET 10 reference assemblies and the runtime.</summary>
internal static class GeneratorHarness
{
    public const string FilePath = "Declarations.cs";

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    public static CSharpCompilation Compilation(params string[] sources) =>
        CSharpCompilation.Create("Declarations",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: i == 0 ? FilePath : $"Declarations{i}.cs")),
            Net100.References.All.Add(MetadataReference.CreateFromFile(typeof(Network).Assembly.Location)),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver Driver() =>
        CSharpGeneratorDriver.Create([new NetworkGenerator().AsSourceGenerator()], parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    public sealed record Run(GeneratorDriverRunResult Result, Compilation Output, ImmutableArray<Diagnostic> CompilerDiagnostics)
    {
        /// <summary>The generator's errors and warnings; its suggestions (Info, such as SN0034) are in <see cref="Suggestions"/>.</summary>
        public ImmutableArray<Diagnostic> GeneratorDiagnostics => Result.Diagnostics.Where(d => d.Severity > DiagnosticSeverity.Info).ToImmutableArray();

        public ImmutableArray<Diagnostic> Suggestions => Result.Diagnostics.Where(d => d.Severity <= DiagnosticSeverity.Info).ToImmutableArray();

        public ImmutableArray<Diagnostic> Errors => Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray();

        public GeneratedSourceResult[] Sources => Result.Results.Single().GeneratedSources.ToArray();
    }

    public static Run Generate(params string[] sources)
    {
        CSharpCompilation compilation = Compilation(sources);
        GeneratorDriver driver = Driver().RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> diagnostics);
        GeneratorDriverRunResult result = driver.GetRunResult();
        Exception? exception = result.Results.Single().Exception;
        if (exception is not null) throw new InvalidOperationException("The generator threw.", exception);
        return new Run(result, output, diagnostics);
    }

    /// <summary>Compiles the generator's output to an in-memory assembly; throws with the compiler's errors if it does not compile.</summary>
    public static byte[] Emit(Compilation output)
    {
        using var stream = new MemoryStream();
        var emit = output.Emit(stream);
        if (!emit.Success)
        {
            throw new InvalidOperationException("The generated code does not compile:\n" +
                string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        }
        return stream.ToArray();
    }

    /// <summary>Source with one span marked as ⟦...⟧: the text without the marks, and the marked span.</summary>
    public static (string Source, TextSpan Span) Marked(string marked)
    {
        int start = marked.IndexOf('⟦'), end = marked.IndexOf('⟧');
        if (start < 0 || end < start) throw new ArgumentException("No ⟦marked⟧ span.", nameof(marked));
        string source = marked.Remove(end, 1).Remove(start, 1);
        return (source, TextSpan.FromBounds(start, end - 1));
    }
}
