using System;
using System.Linq;
using System.Text;
using CsCheck;
using Microsoft.CodeAnalysis;
using Xunit;

namespace StaticNet.Tests.Generator;

/// <summary>
/// Random and garbled declarations, as while someone types: random attribute lists, arguments of the wrong type or out
/// of range, missing pieces, unbalanced syntax. The generator must never throw, and every source it emits (it emits one
/// only for a declaration it found no error in) must compile.
/// </summary>
public class GeneratorFuzzTests
{
    private static readonly Gen<string> Argument = Gen.OneOf(
        Gen.Int[-3, 40].Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.OneOf<string>("\"x\"", "0.5", "1.0", "-0.1", "1e9", "int.MaxValue", "100000", "double.NaN", "null", "", "(", "Name = \"a\"", "Name = \"\"",
            "Name = \"a.b\"", "Name = \"0\"", "typeof(Net0)", "typeof(Net3)", "typeof(Net9)", "typeof(string)", "Bias = false", "Bias = 3", "Approximate = \"tanh\"", "Approximate = \"x\"", "new[] { 2, 3 }", "dim: 1"));

    private static readonly Gen<string> Attribute =
        from name in Gen.OneOf<string>("Network", "Network", "Flatten", "Linear", "Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "Softmax",
            "Dropout", "Identity", "Bogus", "Network(", "Module", "Block", "Residual")
        from args in Argument.Array[0, 3]
        from form in Gen.Int[0, 3]
        select form switch
        {
            0 => $"[{name}]",
            1 => $"[{name}({string.Join(", ", args)}",
            _ => $"[{name}({string.Join(", ", args)})]",
        };

    private static readonly Gen<string> Declaration =
        from attributes in Attribute.Array[0, 7]
        from modifiers in Gen.OneOf<string>("public partial", "partial", "public", "internal partial", "public static partial", "public sealed partial")
        from shape in Gen.OneOf<string>("class NAME;", "class NAME { }", "class NAME { public ModuleList<Network> Heads = new(); private Linear? _head; }", "class NAME<T>;", "class NAME : System.Object;", "record NAME;", "class NAME", "class NAME {")
        select string.Concat(attributes) + " " + modifiers + " " + shape;

    [Fact]
    public void Garbled_declarations_never_crash_the_generator_and_its_output_always_compiles()
    {
        Declaration.Array[10].Sample(declarations =>
        {
            var source = new StringBuilder("using StaticNet;\nnamespace Fuzz;\n");
            for (int i = 0; i < declarations.Length; i++)
            {
                source.AppendLine(declarations[i].Replace("NAME", "Net" + i, StringComparison.Ordinal));
            }
            GeneratorHarness.Run run = GeneratorHarness.Generate(source.ToString()); // throws if the generator threw
            var generatedTrees = run.Sources.Select(s => s.SyntaxTree).ToHashSet();
            Diagnostic[] errorsInGenerated = run.Output.GetDiagnostics()
                .Where(d => d.Severity == DiagnosticSeverity.Error && d.Location.SourceTree is { } tree && generatedTrees.Contains(tree))
                .ToArray();
            Assert.True(errorsInGenerated.Length == 0,
                $"Generated code does not compile:\n{string.Join("\n", errorsInGenerated.Select(d => d.ToString()))}\nfor:\n{source}");
        }, iter: 300);
    }
}
