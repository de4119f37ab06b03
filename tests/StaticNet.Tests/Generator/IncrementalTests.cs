using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using StaticNet.Generator;
using Xunit;

namespace StaticNet.Tests.Generator;

/// <summary>The pipeline caches: unchanged input is Cached, an edit that does not change the network leaves the model alone, a layer change Modifies it.</summary>
public class IncrementalTests
{
    private const string Source = """
        using StaticNet;

        [Network(4)]
        [Linear(8)]
        [ReLU]
        [Linear(2)]
        public partial class Net;
        """;

    [Fact]
    public void Rerun_on_the_same_compilation_is_cached()
    {
        CSharpCompilation compilation = GeneratorHarness.Compilation(Source);
        GeneratorDriver driver = GeneratorHarness.Driver().RunGenerators(compilation);
        driver = driver.RunGenerators(compilation);
        Assert.All(ModelReasons(driver), r => Assert.Equal(IncrementalStepRunReason.Cached, r));
    }

    [Fact]
    public void Unrelated_file_leaves_the_model_cached()
    {
        CSharpCompilation compilation = GeneratorHarness.Compilation(Source);
        GeneratorDriver driver = GeneratorHarness.Driver().RunGenerators(compilation);
        driver = driver.RunGenerators(compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("class Other { }", GeneratorHarness.ParseOptions)));
        Assert.All(ModelReasons(driver), r => Assert.Equal(IncrementalStepRunReason.Cached, r));
    }

    [Fact]
    public void Whitespace_edit_leaves_the_model_unchanged()
    {
        CSharpCompilation compilation = GeneratorHarness.Compilation(Source);
        GeneratorDriver driver = GeneratorHarness.Driver().RunGenerators(compilation);
        driver = driver.RunGenerators(Replace(compilation, Source.Replace("[ReLU]", "\n\n   [ReLU]   ")));
        // The class was parsed again, found equal, so nothing downstream ran.
        Assert.Equal([IncrementalStepRunReason.Unchanged], Reasons(driver, NetworkGenerator.Steps.Parse));
        Assert.Equal([IncrementalStepRunReason.Cached], ModelReasons(driver));
    }

    [Fact]
    public void Layer_change_modifies_the_model()
    {
        CSharpCompilation compilation = GeneratorHarness.Compilation(Source);
        GeneratorDriver driver = GeneratorHarness.Driver().RunGenerators(compilation);
        driver = driver.RunGenerators(Replace(compilation, Source.Replace("[Linear(8)]", "[Linear(16)]")));
        Assert.Equal([IncrementalStepRunReason.Modified], ModelReasons(driver));
    }

    private static CSharpCompilation Replace(CSharpCompilation compilation, string source) =>
        compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.First(),
            CSharpSyntaxTree.ParseText(source, GeneratorHarness.ParseOptions, path: GeneratorHarness.FilePath));

    private static IncrementalStepRunReason[] ModelReasons(GeneratorDriver driver) => Reasons(driver, NetworkGenerator.Steps.Model);

    private static IncrementalStepRunReason[] Reasons(GeneratorDriver driver, string step) =>
        driver.GetRunResult().Results.Single().TrackedSteps[step]
            .SelectMany(step => step.Outputs)
            .Select(output => output.Reason)
            .ToArray();
}
