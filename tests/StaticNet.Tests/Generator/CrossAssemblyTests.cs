using System;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace StaticNet.Tests.Generator;

/// <summary>A [Block] whose network comes from another assembly: read from metadata, checked and inlined the same way.</summary>
public class CrossAssemblyTests
{
    [Fact]
    public void A_network_from_a_referenced_library_can_be_a_block()
    {
        GeneratorHarness.Run library = GeneratorHarness.Generate("using StaticNet; namespace Lib; [Network(3)] [Linear(4)] [Tanh] public partial class Encoder;");
        byte[] libraryImage = GeneratorHarness.Emit(library.Output);

        var consumer = CSharpCompilation.Create("Consumer",
            [CSharpSyntaxTree.ParseText("using StaticNet; namespace App; [Network(3)] [Block(typeof(Lib.Encoder))] [Linear(4, 2)] public partial class Outer; " +
                                        "[Network(5)] [Block(typeof(Lib.Encoder))] public partial class Wrong;", GeneratorHarness.ParseOptions)],
            GeneratorHarness.Compilation().References.Append(MetadataReference.CreateFromImage(libraryImage)),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver driver = GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(consumer, out Compilation output, out ImmutableArray<Diagnostic> _);
        Diagnostic wrong = Assert.Single(driver.GetRunResult().Diagnostics);
        Assert.Equal("The layer 0 (Block) uses 'Encoder', which takes input of shape [B, 3], but the shape that arrives is [B, 5]", wrong.GetMessage());

        var context = new AssemblyLoadContext("cross-assembly", isCollectible: true);
        context.LoadFromStream(new MemoryStream(libraryImage));
        Assembly app = context.LoadFromStream(new MemoryStream(GeneratorHarness.Emit(output)));
        var net = (Network)Activator.CreateInstance(app.GetType("App.Outer")!, 2, 1UL)!;
        Assert.Equal(["0.0.weight", "0.0.bias", "1.weight", "1.bias"], net.NamedParameters().Select(p => p.Name));
        Assert.Equal("Encoder", net.Children().First().GetType().Name);
        var result = new float[4];
        net.Forward([0.1f, 0.2f, 0.3f, -1f, 0f, 1f], result);
        Assert.All(result, v => Assert.True(float.IsFinite(v)));
    }
}
