using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace StaticNet.Tests.Generator;

/// <summary>
/// Legal but unusual declarations (names with quotes, backslashes and code in them, keyword identifiers, names that
/// differ only in case): the generated code compiles, runs and keeps every name exactly as written.
/// </summary>
public class HostileDeclarationTests
{
    private static Assembly CompileAndLoad(string source)
    {
        GeneratorHarness.Run run = GeneratorHarness.Generate(source);
        Assert.Empty(run.GeneratorDiagnostics);
        return new AssemblyLoadContext("hostile", isCollectible: true).LoadFromStream(new MemoryStream(GeneratorHarness.Emit(run.Output)));
    }

    [Fact]
    public void Layer_names_with_quotes_backslashes_line_breaks_and_code_round_trip_unchanged()
    {
        string[] names =
        [
            "a\"b", "a\\b", "x\", null); Boom(); AddLayer(\"y", "line\nbreak */ Boom(); //", "tab\tand\u2028separator", "\\u0041", "é",
        ];
        string layers = string.Concat(names.Select(n => $"[Linear(3, Name = {SymbolDisplay.FormatLiteral(n, quote: true)})] "));
        Assembly assembly = CompileAndLoad(
            "using StaticNet;\nnamespace Hostile;\n" +
            $"[Network(3)] {layers}public partial class Net {{ private static void Boom() => throw new System.InvalidOperationException(\"injected code ran\"); }}");

        var net = (Network)Activator.CreateInstance(assembly.GetType("Hostile.Net")!, 2, 1UL)!;
        string[] expected = names.SelectMany(n => new[] { n + ".weight", n + ".bias" }).ToArray();
        Assert.Equal(expected, net.StateDict().Select(e => e.Name).ToArray());

        string path = Path.Combine(Path.GetTempPath(), $"hostile-names-{Guid.NewGuid():N}.safetensors");
        try
        {
            Safetensors.Save(net, path);
            using (SafetensorsFile file = SafetensorsFile.Open(path))
            {
                Assert.Equal(expected.OrderBy(n => n, StringComparer.Ordinal), file.Tensors.Select(t => t.Name).OrderBy(n => n, StringComparer.Ordinal));
            }
            var copy = (Network)Activator.CreateInstance(assembly.GetType("Hostile.Net")!, 2, 2UL)!;
            Safetensors.Load(copy, path);
            Assert.Equal(net.Parameters().SelectMany(p => p.Data.ToArray()), copy.Parameters().SelectMany(p => p.Data.ToArray()));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Networks_whose_names_differ_only_in_case_and_keyword_names_all_generate()
    {
        Assembly assembly = CompileAndLoad("""
            using StaticNet;
            namespace My.@class
            {
                [Network(4)] [Linear(2)] public partial class Net;
                [Network(4)] [Linear(3)] public partial class NET;
                [Network(4)] [Linear(5)] public partial class @event;
                public partial class @struct { [Network(4)] [Linear(6)] public partial class @record; }
                [Module] public partial class @params { public @event @in = new(1); public NET Upper = new(1); }
            }
            """);
        int Outputs(string type) => ((Network)Activator.CreateInstance(assembly.GetType(type)!, 1, 0UL)!).SampleOutputSize;
        Assert.Equal(2, Outputs("My.class.Net"));
        Assert.Equal(3, Outputs("My.class.NET"));
        Assert.Equal(5, Outputs("My.class.event"));
        Assert.Equal(6, Outputs("My.class.struct+record"));
        var module = (Module)Activator.CreateInstance(assembly.GetType("My.class.params")!)!;
        Assert.Equal(["in.0.weight", "in.0.bias", "upper.0.weight", "upper.0.bias"], module.StateDict().Select(e => e.Name).ToArray());
    }

    [Fact]
    public void Generated_file_names_are_unique_without_regard_to_case_and_stable()
    {
        GeneratorHarness.Run run = GeneratorHarness.Generate("""
            using StaticNet;
            namespace Models;
            [Network(4)] [Linear(2)] public partial class Net;
            [Network(4)] [Linear(3)] public partial class NET;
            [Network(4)] [Linear(3)] public partial class Other;
            """);
        string[] hints = run.Sources.Select(s => s.HintName).ToArray();
        Assert.Equal(3, hints.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Contains("Models.Other.g.cs", hints); // names that collide with nothing stay plain
        Assert.Contains(hints, h => h.StartsWith("Models.Net.", StringComparison.Ordinal) && h != "Models.Net.g.cs");
        Assert.Equal(hints, GeneratorHarness.Generate(run.Output.SyntaxTrees.First().ToString()).Sources.Select(s => s.HintName).ToArray());
    }
}
