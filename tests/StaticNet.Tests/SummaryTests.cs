using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using StaticNet.Tests.Generator;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

/// <summary>net.Summary() (torchinfo's summary) and the same table as the generated class's doc comment.</summary>
public class SummaryTests
{
    [Fact]
    public void Summary_lists_layers_totals_and_arena_memory()
    {
        // FashionMlp: Flatten, Linear(784 -> 256), ReLU, Dropout(0.2), Linear(256 -> 10) named head; batch 32.
        var net = new FashionMlp(32);
        ModelSummary summary = net.Summary();
        Assert.Equal(["0", "1", "2", "3", "head"], summary.Layers.Select(l => l.Name));
        Assert.Equal(["Flatten(start_dim=1, end_dim=-1)", "Linear(784 -> 256)", "ReLU", "Dropout(p=0.2)", "Linear(256 -> 10)"], summary.Layers.Select(l => l.Type));
        Assert.Equal([256], summary.Layers[1].OutputShape);
        Assert.Equal(784 * 256 + 256, summary.Layers[1].Parameters);
        Assert.Equal(784 * 256, summary.Layers[1].MultiplyAdds);
        Assert.Equal(203_530, summary.TotalParameters);
        Assert.Equal(203_530, summary.TrainableParameters);
        Assert.Equal(784 * 256 + 256 * 10, summary.MultiplyAdds);
        Assert.Equal(4L * 203_530, summary.ParameterBytes);
        // Activations per sample: the input (784) and the outputs that are not views: 256, 256, 256, 10.
        Assert.Equal(4L * 32 * (784 + 256 + 256 + 256 + 10), summary.ActivationBytes);
        Assert.Equal(4L * 32 * 256, summary.SavedBytes); // the dropout mask

        net.Children().First(m => m is Linear).RequiresGrad(false);
        Assert.Equal(2_570, net.Summary().TrainableParameters);
        string text = net.Summary().ToString();
        Assert.Contains("FashionMlp: input [1, 28, 28] per sample, batches of up to 32", text);
        Assert.Contains("Non-trainable params: 200,960", text);
        Assert.Contains("Mult-adds: 203,264 per sample, 6,504,448 per batch of 32", text);
        string headRow = text.Split('\n').Single(l => l.StartsWith("head", StringComparison.Ordinal));
        Assert.Matches(@"^head\s+Linear\(256 -> 10\)\s+\[10\]\s+2,570\s+2,560$", headRow.TrimEnd());
    }

    [Fact]
    public void Nested_blocks_and_convolutions_are_summed_and_indented()
    {
        var summary = new ConvResidualNet(2).Summary();
        LayerSummary conv = summary.Layers.First(l => l.Type.StartsWith("Conv2d", StringComparison.Ordinal));
        // Conv2d(3 -> 4, 3 x 3, padding 1) on 6 x 6: 6 * 6 * 4 outputs, each 3 * 3 * 3 multiply-adds.
        Assert.Equal(6 * 6 * 4 * 27, conv.MultiplyAdds);
        LayerSummary residual = summary.Layers.Single(l => l.Type.StartsWith("Residual", StringComparison.Ordinal));
        Assert.Equal(0, residual.Depth);
        Assert.DoesNotContain("global::", residual.Type);
        long inner = summary.Layers.Where(l => l.Depth == 1 && l.Name.StartsWith(residual.Name + ".", StringComparison.Ordinal)).Sum(l => l.MultiplyAdds);
        Assert.Equal(inner, residual.MultiplyAdds);
        Assert.Equal(summary.Layers.Where(l => l.Depth == 0).Sum(l => l.Parameters), summary.TotalParameters);
    }

    [Fact]
    public void The_doc_comment_table_is_well_formed_xml_even_with_odd_names()
    {
        const string source = """
            using StaticNet;
            /// <summary>A network.</summary>
            [Network(4)] [Linear(3, Name = "a<b&c")] [ReLU] [Linear(2)]
            public partial class Net;
            """;
        CSharpCompilation compilation = GeneratorHarness.Compilation(source).WithOptions(
            GeneratorHarness.Compilation(source).Options.WithSpecificDiagnosticOptions([]));
        var parse = GeneratorHarness.ParseOptions.WithDocumentationMode(DocumentationMode.Diagnose);
        compilation = compilation.RemoveAllSyntaxTrees().AddSyntaxTrees(CSharpSyntaxTree.ParseText(source, parse, path: GeneratorHarness.FilePath));
        var driver = CSharpGeneratorDriver.Create([new StaticNet.Generator.NetworkGenerator().AsSourceGenerator()], parseOptions: parse);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out _);
        Diagnostic[] xml = output.GetDiagnostics().Where(d => d.Id is "CS1570" or "CS1571" or "CS1572" or "CS1573" or "CS1574" or "CS1584" or "CS1658").ToArray();
        Assert.Empty(xml);
        string generated = output.SyntaxTrees.Last().ToString();
        Assert.Contains("/// a&lt;b&amp;c  Linear(4 -&gt; 3)", generated);
        INamedTypeSymbol net = output.GetTypeByMetadataName("Net")!;
        string doc = net.GetDocumentationCommentXml()!;
        Assert.Contains("<summary>A network.</summary>", doc);
        Assert.Contains("Total: 23 parameters, 18 multiply-adds per sample", doc);
    }
}
