using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Basic.Reference.Assemblies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;
using StaticNet.CodeFixes;
using StaticNet.Generator;
using Xunit;

namespace StaticNet.Tests.Generator;

/// <summary>The IDE's code fixes, applied by Roslyn's code-fix test harness to the generator's own diagnostics.</summary>
public class CodeFixTests
{
    private sealed class Test : CSharpCodeFixTest<EmptyDiagnosticAnalyzer, StaticNetCodeFixProvider, DefaultVerifier>
    {
        public Test(string source, string fixedSource, int actionIndex = 0)
        {
            // The .NET 10 reference assemblies from Basic.Reference.Assemblies and the runtime, so nothing is downloaded.
            ReferenceAssemblies = new ReferenceAssemblies("net10.0");
            TestState.AdditionalReferences.AddRange(Net100.References.All);
            TestState.AdditionalReferences.Add(MetadataReference.CreateFromFile(typeof(Network).Assembly.Location));
            TestCode = source;
            FixedCode = fixedSource;
            CodeActionIndex = actionIndex;
            // The generated sources are the snapshot tests' business.
            TestBehaviors = TestBehaviors.SkipGeneratedSourcesCheck;
            CodeFixTestBehaviors = CodeFixTestBehaviors.SkipFixAllCheck;
            CompilerDiagnostics = CompilerDiagnostics.Suggestions; // SN0034 is a suggestion
            DisabledDiagnostics.Add("CS1591"); // the test sources have no doc comments
        }

        protected override IEnumerable<Type> GetSourceGenerators() => [typeof(NetworkGenerator)];

        /// <summary>
        /// The generator reports at file locations (a path and a span: it keeps no syntax trees, to stay incremental);
        /// the IDE maps them to their document by path, and so does this, so that the harness finds the document to fix.
        /// </summary>
        protected override ImmutableArray<(Project project, Diagnostic diagnostic)> FilterDiagnostics(ImmutableArray<(Project project, Diagnostic diagnostic)> diagnostics) =>
            base.FilterDiagnostics(diagnostics).Select(pair =>
            {
                Diagnostic d = pair.diagnostic;
                if (d.Location.Kind != LocationKind.ExternalFile) return pair;
                SyntaxTree? tree = pair.project.GetCompilationAsync().Result!.SyntaxTrees.FirstOrDefault(t => t.FilePath == d.Location.GetLineSpan().Path);
                if (tree is null) return pair;
                var descriptor = new DiagnosticDescriptor(d.Id, d.Descriptor.Title, "{0}", d.Descriptor.Category, d.Severity, isEnabledByDefault: true);
                return (pair.project, Diagnostic.Create(descriptor, Location.Create(tree, d.Location.SourceSpan), d.Properties, d.GetMessage(CultureInfo.InvariantCulture)));
            }).ToImmutableArray();
    }

    [Fact]
    public async Task SN0006_sets_in_features_to_the_size_that_arrives()
    {
        await new Test(
            "using StaticNet;\n[Network(1, 28, 28)] [Flatten] [Linear({|SN0006:100|}, 10)] public partial class Net;",
            "using StaticNet;\n[Network(1, 28, 28)] [Flatten] [Linear(784, 10)] public partial class Net;").RunAsync();
    }

    [Fact]
    public async Task SN0006_can_drop_in_features_for_the_out_only_form()
    {
        await new Test(
            "using StaticNet;\n[Network(1, 28, 28)] [Flatten] [Linear({|SN0006:100|}, 10, Name = \"head\")] public partial class Net;",
            "using StaticNet;\n[Network(1, 28, 28)] [Flatten] [Linear(10, Name = \"head\")] public partial class Net;", actionIndex: 1).RunAsync();
    }

    [Fact]
    public async Task SN0001_makes_the_class_and_its_containing_types_partial()
    {
        await new Test(
            "using StaticNet;\npublic static class {|SN0001:Outer|}\n{\n    [Network(4)] [Linear(2)]\n    public class {|SN0001:Net|};\n}",
            "using StaticNet;\npublic static partial class Outer\n{\n    [Network(4)] [Linear(2)]\n    public partial class Net;\n}").RunAsync();
        await new Test(
            "using StaticNet;\n/// <summary>x</summary>\n[Network(4)] [Linear(2)]\nclass {|SN0001:Net|};",
            "using StaticNet;\n/// <summary>x</summary>\n[Network(4)] [Linear(2)]\npartial class Net;").RunAsync();
    }

    [Fact]
    public async Task SN0007_uses_the_nearest_valid_dimension()
    {
        await new Test(
            "using StaticNet;\n[Network(2, 3)] [Softmax({|SN0007:3|})] public partial class Net;",
            "using StaticNet;\n[Network(2, 3)] [Softmax(2)] public partial class Net;").RunAsync();
        await new Test(
            "using StaticNet;\n[Network(2, 3)] [Flatten({|SN0007:-5|})] public partial class Net;",
            "using StaticNet;\n[Network(2, 3)] [Flatten(-2)] public partial class Net;").RunAsync();
    }

    [Fact]
    public async Task SN0034_inserts_flatten_before_a_linear_on_an_image()
    {
        await new Test(
            // Both Linears act on rows of 4 at first; once [Flatten] is in, the second sees [B, 8] and the suggestion goes.
            "using StaticNet;\n[Network(1, 4, 4)] [{|SN0034:Linear(8)|}] [ReLU] [{|SN0034:Linear(2)|}] public partial class Net;",
            "using StaticNet;\n[Network(1, 4, 4)] [Flatten] [Linear(8)] [ReLU] [Linear(2)] public partial class Net;").RunAsync();
        await new Test(
            "using StaticNet;\n[Network(1, 4, 4), {|SN0034:Linear(8)|}] public partial class Net;",
            "using StaticNet;\n[Network(1, 4, 4), Flatten, Linear(8)] public partial class Net;").RunAsync();
    }

    [Fact]
    public void The_fix_provider_knows_the_generator_s_ids()
    {
        Assert.Equal(DiagnosticDescriptors.NotPartialId, StaticNetCodeFixProvider.NotPartialId);
        Assert.Equal(DiagnosticDescriptors.LinearInFeaturesId, StaticNetCodeFixProvider.LinearInFeaturesId);
        Assert.Equal(DiagnosticDescriptors.DimOutOfRangeId, StaticNetCodeFixProvider.DimOutOfRangeId);
        Assert.Equal(DiagnosticDescriptors.LinearOnManyDimensionsId, StaticNetCodeFixProvider.LinearOnManyDimensionsId);
        Assert.Equal(DiagnosticDescriptors.FixProperty, StaticNetCodeFixProvider.FixProperty);
        foreach (DiagnosticDescriptor descriptor in DiagnosticDescriptors.Descriptors)
        {
            Assert.Equal(DiagnosticDescriptors.HelpBase + descriptor.Id.ToLowerInvariant(), descriptor.HelpLinkUri);
        }
    }
}
